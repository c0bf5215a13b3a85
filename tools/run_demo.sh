#!/usr/bin/env bash
# Set up .venv/ (tools/setup_env.sh) and run the main job: build SE-ResNet-50
# from its config and print its complexity beside the paper's tables.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup_env.sh
exec .venv/bin/python tools/analysis/complexity.py \
  configs/imagenet/seresnet50_8xb32_in1k.py "$@"
