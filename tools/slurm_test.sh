#!/usr/bin/env bash
# tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]
# GPUS tasks over nodes of GPUS_PER_NODE, one process each; the variables
# (GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS, PORT) are mmdet's, read in
# tools/slurm_common.sh. Ranks, world size and master node come from Slurm.
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $(basename "$0") PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]" >&2
    exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/slurm_common.sh"
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
slurm_request "$PARTITION" "$JOB_NAME" "$CONFIG"

# shellcheck disable=SC2086
PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
exec srun "${SRUN_OPTS[@]}" $SRUN_ARGS \
    "$PYTHON" -u "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" \
    --launcher=slurm "${@:5}"
