#!/usr/bin/env bash
# planwatch set-up and entry points for a fresh Debian machine (run as root, or with sudo available).
#   ./dev.sh dashboard   install what is needed, then start the dashboard on the bundled sample warehouse
#   ./dev.sh test        install what is needed, then run the whole test suite
#   ./dev.sh bench ...   install what is needed, then run the national-scale benchmark (docs/benchmarks.md)
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES="chromium fonts-noto-cjk poppler-utils"

install_system() {
  local missing=""
  for pkg in $APT_PACKAGES; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
  done
  if [ -n "$missing" ]; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing Debian packages:$missing"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
}

install_python() {
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  if ! .venv/bin/python -c "import warehouse, streamlit, playwright" >/dev/null 2>&1 \
     || [ pyproject.toml -nt .venv/.installed ]; then
    .venv/bin/pip install -q --upgrade pip >/dev/null
    .venv/bin/pip install -q -e ".[test]"
    touch .venv/.installed
  fi
}

ensure_sample() {
  if [ ! -f sample_data/warehouse/manifest.json ]; then
    echo "Generating the synthetic sample warehouse in sample_data/warehouse ..."
    .venv/bin/planwatch sample --out sample_data/warehouse
  fi
}

case "${1:-}" in
  dashboard)
    install_system
    install_python
    ensure_sample
    shift
    exec .venv/bin/planwatch dashboard "$@"
    ;;
  test)
    install_system
    install_python
    shift
    exec .venv/bin/python -m pytest -q "$@"
    ;;
  bench)
    install_system
    install_python
    shift
    exec .venv/bin/python -m bench.run "$@"
    ;;
  *)
    echo "usage: ./dev.sh dashboard | test | bench [bench.run options]" >&2
    exit 2
    ;;
esac
