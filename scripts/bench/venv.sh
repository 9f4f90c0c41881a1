# Sourced by scripts/bench-dqn and scripts/sb3-posthoc: the Python venv with Stable-Baselines3
# 2.9.2 and gymnasium 1.4.0, built outside the repo on first use, whose torch is the libtorch install
# of scripts/setup-libtorch (so Python and sparq run the same torch 2.11.0).
#
#   repo=... prog=...                 # the repo root; the caller's name, for messages
#   source "$repo/scripts/bench/venv.sh"
#   bench_libtorch                    # installs libtorch if missing; sets torch_site
#   bench_venv                        # needs torch_site; sets venv (the venv) and py_ld
#                                     # (prepend to LD_LIBRARY_PATH for the venv's python)
#
#   SPARQ_CACHE        cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/sparq)
#   SPARQ_PYTHON       python used to create the venv (default python3; needs 3.11+)

cache=${SPARQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sparq}
python=${SPARQ_PYTHON:-python3}
venv=$cache/venv-bench

# Pinned so that re-runs compare like with like; torch comes from the libtorch install.
pins=(gymnasium==1.4.0 numpy==2.4.6 cloudpickle==3.1.2 farama-notifications==0.0.6
  filelock typing-extensions sympy networkx jinja2 fsspec "setuptools<82")
SB3_VERSION=2.9.2
TORCH_VERSION=2.11.0

bench_libtorch() {
  [[ -e $repo/.libtorch/lib/libtorch_cpu.so ]] || "$repo/scripts/setup-libtorch"
  torch_site=$(cd "$(readlink -f "$repo/.libtorch")/.." && pwd)
}

bench_venv() {
  # SB3 without its torch dependency (the 4.6 GB CUDA build), torch from torch_site.
  if [[ ! -f $venv/.complete ]]; then
    command -v "$python" >/dev/null 2>&1 || { echo "$prog: needs Python 3.11+ ('$python' not found; set SPARQ_PYTHON)" >&2; exit 1; }
    mkdir -p "$cache"
    exec 9>"$cache/.bench-venv.lock"
    flock 9
    if [[ ! -f $venv/.complete ]]; then
      echo "$prog: installing stable-baselines3==$SB3_VERSION into $venv" >&2
      rm -rf "$venv"
      "$python" -m venv "$venv"
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}"
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "stable-baselines3==$SB3_VERSION"
      touch "$venv/.complete"
    fi
    exec 9>&-
  fi
  local site got stubs
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  # Rewritten every run: .libtorch may have been re-linked (e.g. the full CUDA flavour).
  echo "$torch_site" > "$site/sparq-libtorch.pth"
  # PyPI's torch links cuDNN, cuBLAS, NCCL, ... which the `cpu` flavour of setup-libtorch leaves
  # out; on that flavour the Python runs get never-called stand-ins for them (cuda_stubs.py).
  py_ld=
  if ! got=$(_bench_torch_version); then
    stubs=$venv/cuda-stubs
    if [[ "$(cat "$stubs/.for" 2>/dev/null)" != "$torch_site" ]]; then
      rm -rf "$stubs"
      "$venv/bin/python" "$repo/scripts/bench/cuda_stubs.py" "$torch_site/torch" "$stubs"
      echo "$torch_site" > "$stubs/.for"
    fi
    py_ld=$stubs
    got=$(_bench_torch_version) || { echo "$prog: 'import torch' fails in $venv even with the CUDA stand-ins of $stubs" >&2; exit 1; }
  fi
  if [[ $got != "$TORCH_VERSION" ]]; then
    echo "$prog: the venv's torch is $got, expected $TORCH_VERSION (from $torch_site)" >&2
    exit 1
  fi
}

_bench_torch_version() {
  LD_LIBRARY_PATH=$py_ld${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} OMP_NUM_THREADS=1 \
    "$venv/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null
}
