#!/usr/bin/env bash
# Set up .venv/ (tools/setup_env.sh) and run the test suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# With Detectron2 (tests/test_detectron2.py fails, not skips, without it).
export SE_PLUGIN_DETECTRON2=${SE_PLUGIN_DETECTRON2:-1}
bash tools/setup_env.sh
exec .venv/bin/python -m pytest -q "$@"
