#!/usr/bin/env bash
# planwatch set-up and entry points for a fresh Debian machine (run as root, or with sudo available).
#   ./dev.sh dashboard   install what is needed, then start the dashboard on the bundled sample warehouse
#   ./dev.sh test        install what is needed, then run the whole test suite
#   ./dev.sh bench ...   install what is needed, then run the national-scale benchmark (docs/benchmarks.md)
#   ./dev.sh lock        (maintainers) re-resolve requirements/constraints.txt from pyproject.toml with uv
#
# Every install goes through requirements/constraints.txt: the versions the tests ran with are the versions
# installed. `.` (the dashboard's runtime) and `.[test]` use the same constraints; only what they need is installed.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES="chromium fonts-noto-cjk poppler-utils"
APT_TEST_PACKAGES="default-jre-headless"  # Spark's JVM: the Spark equality test only (tests/test_spark.py)

install_system() {  # $1: extra Debian packages
  local missing=""
  for pkg in $APT_PACKAGES ${1:-}; do
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

CONSTRAINTS=requirements/constraints.txt

# install_python runtime|test: the package (editable) with its runtime dependencies, or with the test and spark
# extras too (pyspark + sqlglot: the Spark equality test; the dashboard never installs them)
install_python() {
  local target="${1:-test}" spec="."
  [ "$target" = "test" ] && spec=".[test,spark]"
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  local marker=".venv/.installed-$target"
  if ! .venv/bin/python -c "import warehouse, streamlit" >/dev/null 2>&1 \
     || [ ! -f "$marker" ] || [ pyproject.toml -nt "$marker" ] || [ "$CONSTRAINTS" -nt "$marker" ]; then
    .venv/bin/pip install -q --upgrade pip >/dev/null
    .venv/bin/pip install -q -c "$CONSTRAINTS" -e "$spec"
    touch "$marker"
  fi
}

# lock: resolve pyproject.toml (all extras) + requirements/planned.in into requirements/constraints.txt
lock() {
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m uv --version >/dev/null 2>&1 || .venv/bin/pip install -q uv
  .venv/bin/python -m uv pip compile pyproject.toml --all-extras requirements/planned.in \
    --python-version 3.11 --upgrade --no-header -o "$CONSTRAINTS"
  echo "Wrote $CONSTRAINTS; run ./dev.sh test, then commit it."
}

ensure_sample() {
  if [ -f sample_data/warehouse/manifest.json ] && [ ! -d sample_data/warehouse/table ]; then
    .venv/bin/planwatch warehouse migrate --warehouse sample_data/warehouse  # the layout before the Delta table
  fi
  if [ ! -d sample_data/warehouse/table/_delta_log ]; then
    echo "Generating the synthetic sample warehouse in sample_data/warehouse ..."
    .venv/bin/planwatch sample --out sample_data/warehouse
  fi
}

case "${1:-}" in
  dashboard)
    install_system
    install_python runtime
    ensure_sample
    shift
    exec .venv/bin/planwatch dashboard "$@"
    ;;
  test)
    install_system "$APT_TEST_PACKAGES"
    install_python test
    shift
    exec .venv/bin/python -m pytest -q --durations=25 "$@"  # the slowest tests are listed: CI must stay under 20 min
    ;;
  bench)
    install_system
    install_python test
    shift
    exec .venv/bin/python -m bench.run "$@"
    ;;
  lock)
    lock
    ;;
  *)
    echo "usage: ./dev.sh dashboard | test | bench [bench.run options] | lock" >&2
    exit 2
    ;;
esac
