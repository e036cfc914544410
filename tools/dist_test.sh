#!/usr/bin/env bash
# Multi-process testing: one process per GPU (or per CPU worker with CPU-only
# torch: gloo, see ctkd_det/utils/dist.py), started by torchrun; each process
# evaluates its share of the test set and the metric gathers the results.
#
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [tools/test.py args...]
#
# Environment: NNODES (1), NODE_RANK (0), PORT (29500), MASTER_ADDR (127.0.0.1),
# PYTHON (python: the interpreter to run torchrun with).
set -e

CONFIG=$1
CHECKPOINT=$2
GPUS=$3
if [ -z "$CONFIG" ] || [ -z "$CHECKPOINT" ] || [ -z "$GPUS" ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS [tools/test.py args...]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/_torchrun.sh" "$GPUS" test.py "$CONFIG" \
    "$CHECKPOINT" --launcher pytorch "${@:4}"
