#!/usr/bin/env bash
# Shared by tools/dist_train.sh and tools/dist_test.sh: torchrun NPROC copies of
# tools/SCRIPT with the given arguments.
#
#   tools/_torchrun.sh NPROC SCRIPT [args...]
#
# Environment: NNODES (1), NODE_RANK (0), PORT (29500), MASTER_ADDR (127.0.0.1),
# PYTHON (python: the interpreter to run torchrun with).
set -e

NPROC=$1
SCRIPT=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
TOOLS="$(cd "$(dirname "$0")" && pwd)"

PYTHONPATH="$TOOLS/..":$PYTHONPATH \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" \
    --master_port="$PORT" \
    "$TOOLS/$SCRIPT" "$@"
