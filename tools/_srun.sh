#!/usr/bin/env bash
# Shared by tools/slurm_train.sh and tools/slurm_test.sh: srun one task per GPU
# of tools/SCRIPT with the given arguments.
#
#   tools/_srun.sh PARTITION JOB_NAME SCRIPT [args...]
#
# Environment: GPUS (8: tasks in total), GPUS_PER_NODE (8: tasks per node),
# CPUS_PER_TASK (5), GRES (gpu:$GPUS_PER_NODE; set it empty, GRES=, on a CPU-only
# partition), SRUN_ARGS (extra srun arguments), PYTHON (python), PORT
# (MASTER_PORT, 29500 by default).
set -x

PARTITION=$1
JOB_NAME=$2
SCRIPT=$3
shift 3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
GRES=${GRES-"gpu:${GPUS_PER_NODE}"}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
TOOLS="$(cd "$(dirname "$0")" && pwd)"
if [ -n "$PORT" ]; then
    export MASTER_PORT=$PORT
fi

# SRUN_ARGS is split into words on purpose (several srun options)
# shellcheck disable=SC2086
PYTHONPATH="$TOOLS/..":$PYTHONPATH \
srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    ${GRES:+--gres="${GRES}"} \
    --ntasks="${GPUS}" \
    --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "$PYTHON" -u "$TOOLS/$SCRIPT" "$@"
