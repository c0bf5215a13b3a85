# Sourced by tools/slurm_train.sh and tools/slurm_test.sh: mmdet's
# variables, and a check, before anything is queued, that the request can
# run at all, so that a wrong partition or too many tasks is one line here
# rather than a job that waits forever.
#   GPUS           tasks (processes) in all               (default 8)
#   GPUS_PER_NODE  tasks per node                         (default min(GPUS, 8))
#   CPUS_PER_TASK  CPUs per task                          (default 5)
#   SRUN_ARGS      more srun options, e.g. "--requeue" or "--time=4:00:00"
#   PORT           the master port                        (default 29500)
# Each task is one process. On a partition whose nodes list GPUs as a
# generic resource (sinfo %G), each node asks for --gres=gpu:GPUS_PER_NODE;
# on one without, no GPUs are asked for and the processes train on the CPU
# with gloo.
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-$( [ -x "$ROOT/.venv/bin/python" ] && echo "$ROOT/.venv/bin/python" || echo python)}
export MASTER_PORT=${PORT:-29500}
SCRIPT=$(basename "$0")

die() {
    echo "$SCRIPT: $*" >&2
    exit 1
}

# slurm_request PARTITION JOB_NAME CONFIG: fills SRUN_OPTS, or dies.
slurm_request() {
    local partition=$1 job_name=$2 config=$3 partitions gres msg
    [ -f "$config" ] || die "config $config: no such file"
    command -v srun >/dev/null 2>&1 ||
        die "srun not found: Slurm's client commands are not on PATH"
    [[ $GPUS =~ ^[1-9][0-9]*$ ]] && [ -z "$GPUS_PER_NODE" ] &&
        GPUS_PER_NODE=$((GPUS < 8 ? GPUS : 8))
    for n in "$GPUS" "$GPUS_PER_NODE" "$CPUS_PER_TASK"; do
        [[ $n =~ ^[1-9][0-9]*$ ]] || die "GPUS=$GPUS GPUS_PER_NODE=$GPUS_PER_NODE CPUS_PER_TASK=$CPUS_PER_TASK: each must be a positive integer"
    done
    partitions=$(timeout 60 sinfo -a -h -o %R 2>&1) ||
        die "sinfo failed: $(echo "$partitions" | tail -n1)"
    echo "$partitions" | grep -qxF "$partition" ||
        die "partition $partition does not exist (partitions: $(echo $partitions | tr ' ' ','))"
    SRUN_OPTS=(-p "$partition" --job-name="$job_name")
    gres=$(timeout 60 sinfo -h -p "$partition" -o %G 2>&1) ||
        die "sinfo -p $partition failed: $(echo "$gres" | tail -n1)"
    if [[ $gres == *gpu* ]]; then
        SRUN_OPTS+=(--gres=gpu:"$GPUS_PER_NODE")
    fi
    SRUN_OPTS+=(--ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE"
                --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1)
    # Inside an allocation (a batch job) srun starts a step in it; outside,
    # Slurm's own check says whether such a job could ever start.
    if [ -z "${SLURM_JOB_ID:-}" ]; then
        # shellcheck disable=SC2086
        msg=$(timeout 60 srun --test-only "${SRUN_OPTS[@]}" $SRUN_ARGS true 2>&1) ||
            die "partition $partition cannot run GPUS=$GPUS tasks, GPUS_PER_NODE=$GPUS_PER_NODE per node, CPUS_PER_TASK=$CPUS_PER_TASK CPUs each: $(echo "$msg" | tail -n1)"
    fi
}
