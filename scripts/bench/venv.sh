# Sourced by scripts/bench/dqn and scripts/bench/sb3-posthoc: the venv `bench` of scripts/lib/venv.sh
# (Stable-Baselines3 2.9.2, gymnasium 1.4.0), whose torch is the libtorch install of
# scripts/setup-libtorch (so Python and sparq run the same torch 2.11.0).
#
#   repo=... prog=...                 # the repo root; the caller's name, for messages
#   source "$repo/scripts/bench/venv.sh"
#   bench_libtorch                    # installs libtorch if missing; sets torch_site
#   bench_venv [NAME]                 # needs torch_site; sets venv (the venv, default `bench`) and py_ld
#                                     # (prepend to LD_LIBRARY_PATH for the venv's python)
#
#   SPARQ_CACHE        cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/sparq)
#   SPARQ_PYTHON       python used to create the venv (default python3; needs 3.11+)

source "$repo/scripts/lib/venv.sh"
TORCH_VERSION=2.11.0

bench_libtorch() {
  [[ -e $repo/.libtorch/lib/libtorch_cpu.so ]] || "$repo/scripts/setup-libtorch"
  torch_site=$(cd "$(readlink -f "$repo/.libtorch")/.." && pwd)
}

bench_venv() {
  # SB3 without its torch dependency (the 4.6 GB CUDA build): scripts/requirements/bench*.txt;
  # torch comes from torch_site. `bench_venv NAME` uses requirements/NAME.txt instead (e.g.
  # policy-bench: onnxruntime next to torch).
  sparq_venv "${1:-bench}" || exit 1
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
