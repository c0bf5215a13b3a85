#!/usr/bin/env bash
# Set up .venv/ (tools/setup_env.sh), lint se_plugin/, tools/ and tests/
# (flake8, isort; setup.cfg configures both), then run the test suite.
# Arguments go to pytest:
#   bash tools/run_tests.sh                 # lint and every test (CI)
#   bash tools/run_tests.sh -m "not slow"   # lint and the fast tier
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# With Detectron2 (tests/test_detectron2.py fails, not skips, without it).
export SE_PLUGIN_DETECTRON2=${SE_PLUGIN_DETECTRON2:-1}
bash tools/setup_env.sh
PY=.venv/bin/python
LINTED=(se_plugin tools tests)
echo "[run_tests] flake8 and isort on ${LINTED[*]}"
"$PY" -m flake8 "${LINTED[@]}"
"$PY" -m isort --check-only --diff -q "${LINTED[@]}"
status=0
"$PY" -m pytest -q "$@" || status=$?
# pytest's 5 is "no tests collected": a selection (-m, -k, a path) that
# matches nothing fails, and says so.
if [ "$status" = 5 ]; then
  echo "[run_tests] no test matches the selection: $*" >&2
fi
exit "$status"
