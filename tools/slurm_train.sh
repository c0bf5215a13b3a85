#!/usr/bin/env bash
# tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]
# GPUS tasks over nodes of GPUS_PER_NODE, one process each; the variables
# (GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS, PORT) are mmdet's, read in
# tools/slurm_common.sh. Ranks, world size and master node come from Slurm.
# In a batch job submitted with --requeue, a requeued job resumes from the
# latest checkpoint in WORK_DIR by itself (SLURM_RESTART_COUNT).
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $(basename "$0") PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]" >&2
    exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/slurm_common.sh"
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
slurm_request "$PARTITION" "$JOB_NAME" "$CONFIG"

# shellcheck disable=SC2086
PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
exec srun "${SRUN_OPTS[@]}" $SRUN_ARGS \
    "$PYTHON" -u "$ROOT/tools/train.py" "$CONFIG" --work-dir="$WORK_DIR" \
    --launcher=slurm "${@:5}"
