#!/usr/bin/env bash
# Set up a virtualenv in .venv (once; again only when pyproject.toml changes)
# and run one of:
#   bootstrap.sh demo [QUERY]   search the bundled seeds/ (index built on first use)
#   bootstrap.sh test [ARGS]    the whole test suite (pytest ARGS; -rs lists skip reasons)
#   bootstrap.sh shell          print the line that activates the venv
set -euo pipefail
cd "$(dirname "$0")"

pick_python() {
  for py in "${PYTHON:-}" python3 python3.13 python3.12 python3.11; do
    [ -n "$py" ] || continue
    if command -v "$py" >/dev/null 2>&1 &&
       "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  echo "bootstrap.sh: needs Python >= 3.11 (set PYTHON=/path/to/python3.11)" >&2
  exit 2
}

ensure_venv() {
  local extras="$1"
  local stamp=".venv/.bisearch-installed-$extras"
  if [ ! -x .venv/bin/python ]; then
    "$(pick_python)" -m venv .venv
  fi
  # setup.py builds the optional C loops (search/_speedups.c): a change to either reinstalls too.
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ setup.py -nt "$stamp" ] || [ search/_speedups.c -nt "$stamp" ]; then
    echo "bootstrap.sh: installing bisearch[$extras] into .venv (first run takes a few minutes)" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip >&2
    .venv/bin/python -m pip install --quiet -e ".[$extras]" >&2
    touch "$stamp"
  fi
}

cmd="${1:-demo}"; shift || true
case "$cmd" in
  demo)
    ensure_venv test,web
    # The demo keeps its index inside the checkout unless told otherwise.
    export BISEARCH_INDEX="${BISEARCH_INDEX:-$PWD/.bisearch/index}"
    # A Persian word with a ZWNJ (the seeds write it glued) and an English name.
    if [ "$#" -eq 0 ]; then set -- "همکاری‌ها Isfahan"; fi
    exec .venv/bin/bisearch search --limit 5 "$@"
    ;;
  test)
    ensure_venv test,web
    exec .venv/bin/python -m pytest -rs "$@"
    ;;
  shell)
    ensure_venv test,web
    echo "source $PWD/.venv/bin/activate"
    ;;
  *)
    echo "usage: bootstrap.sh demo [QUERY] | test [PYTEST ARGS] | shell" >&2
    exit 2
    ;;
esac
