#!/usr/bin/env bash
# Multi-process training: one process per GPU (or per CPU worker with CPU-only
# torch: gloo, see ctkd_det/utils/dist.py), started by torchrun.
#
#   tools/dist_train.sh CONFIG GPUS [tools/train.py args...]
#
# Multi-node: run it on every node with the same MASTER_ADDR/PORT, e.g. 2 nodes:
#   NNODES=2 NODE_RANK=0 PORT=29500 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CONFIG 8
#   NNODES=2 NODE_RANK=1 PORT=29500 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CONFIG 8
# Environment: NNODES (1), NODE_RANK (0), PORT (29500), MASTER_ADDR (127.0.0.1),
# PYTHON (python: the interpreter to run torchrun with).
set -e

CONFIG=$1
GPUS=$2
if [ -z "$CONFIG" ] || [ -z "$GPUS" ]; then
    echo "usage: $0 CONFIG GPUS [tools/train.py args...]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/_torchrun.sh" "$GPUS" train.py "$CONFIG" \
    --launcher pytorch "${@:3}"
