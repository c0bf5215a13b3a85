#!/usr/bin/env bash
# tools/dist_train.sh CONFIG GPUS [train.py args]
# GPUS processes per node through torchrun; on a machine without GPUs they
# train on the CPU with the gloo backend. Multi-node: NNODES, NODE_RANK,
# MASTER_ADDR and PORT, the same on every node but NODE_RANK.
# ELASTIC=1: torchrun restarts the workers when one dies, up to MAX_RESTARTS
# times (default 3), and training resumes from the latest checkpoint in the
# work dir (tools/train.py reads TORCHELASTIC_RESTART_COUNT). Nodes then meet
# through torchrun's c10d rendezvous at MASTER_ADDR:PORT (RDZV_ID names the
# job, the same on every node), which assigns the node ranks.
set -euo pipefail
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
ELASTIC=${ELASTIC:-0}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-$( [ -x "$ROOT/.venv/bin/python" ] && echo "$ROOT/.venv/bin/python" || echo python)}

if [ "$ELASTIC" = 1 ]; then
    LAUNCH=(--rdzv-backend=c10d --rdzv-endpoint="$MASTER_ADDR:$PORT"
            --rdzv-id="${RDZV_ID:-se_plugin}"
            --max-restarts="${MAX_RESTARTS:-3}")
else
    LAUNCH=(--node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR"
            --master_port="$PORT")
fi

PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --nproc_per_node="$GPUS" \
    "${LAUNCH[@]}" \
    "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
