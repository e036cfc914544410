#!/usr/bin/env bash
# Testing on a Slurm cluster: srun starts one task per GPU; tools/test.py
# (--launcher slurm) takes rank, world size and master address from Slurm's
# variables (mmengine's init_dist; with CPU-only torch ctkd_det's gloo init).
#
#   tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [tools/test.py args...]
#
# Environment: GPUS (8: tasks in total), GPUS_PER_NODE (8: tasks per node),
# CPUS_PER_TASK (5), GRES (gpu:$GPUS_PER_NODE; set it empty, GRES=, on a CPU-only
# partition), SRUN_ARGS (extra srun arguments), PYTHON (python), PORT
# (MASTER_PORT, 29500 by default).
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
if [ -z "$PARTITION" ] || [ -z "$JOB_NAME" ] || [ -z "$CONFIG" ] || [ -z "$CHECKPOINT" ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [tools/test.py args...]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/_srun.sh" "$PARTITION" "$JOB_NAME" test.py \
    "$CONFIG" "$CHECKPOINT" --launcher="slurm" "${@:5}"
