# The one way sparq's scripts reach Python: pinned venvs outside the repo, built on first use.
#
#   source "$repo/scripts/lib/venv.sh"
#   sparq_venv NAME      # sets $venv to the venv of scripts/requirements/NAME.txt (built if needed)
#
# NAME.txt is installed as a pip requirements file; NAME.nodeps.txt, where present, is then
# installed with --no-deps (for packages whose declared dependencies we replace, like SB3's torch).
# The venv's directory carries a hash of both files, so changing a pin builds a new venv and
# never mixes versions. Safe against two scripts building the same venv at once (flock).
#
#   SPARQ_CACHE    cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/sparq)
#   SPARQ_PYTHON   interpreter the venvs are made from (default python3)

sparq_venv() {
  local name=$1 here req nodeps hash cache python
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  req=$here/requirements/$name.txt
  nodeps=$here/requirements/$name.nodeps.txt
  [[ -f $req ]] || { echo "sparq_venv: no requirements file $req" >&2; return 2; }
  cache=${SPARQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sparq}
  python=${SPARQ_PYTHON:-python3}
  # Same bytes as `cat req nodeps`, without a failing cat: callers run under pipefail.
  hash=$({ cat "$req"; if [[ -f $nodeps ]]; then cat "$nodeps"; fi; } | sha256sum | cut -c1-12)
  venv=$cache/venv-$name-$hash
  [[ -f $venv/.complete ]] && return 0
  if ! command -v "$python" >/dev/null 2>&1 || ! "$python" -m venv --help >/dev/null 2>&1; then
    echo "sparq: needs Python 3 with venv to install $name's packages ('$python'; set SPARQ_PYTHON)" >&2
    return 1
  fi
  mkdir -p "$cache"
  (
    flock 9
    [[ -f $venv/.complete ]] && exit 0
    echo "sparq: installing $name's Python packages into $venv (once)" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv" || exit 1
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" || exit 1
    if [[ -f $nodeps ]]; then
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$nodeps" || exit 1
    fi
    touch "$venv/.complete"
  ) 9>"$cache/.venv-$name.lock"
}
