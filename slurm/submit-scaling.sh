#!/bin/bash
# Kept for old command lines: submits a study with slurm/scaling-study.sh into
# studies/<kind>-<dataset>/ (see that script for the options, plots and outputs).
#   slurm/submit-scaling.sh strong|weak DATASET_DIR CONFIG "1 2 4 8" [tkg-train options...]
set -euo pipefail
kind=${1:?strong|weak}; data=${2:?dataset dir}; config=${3:?config}; ranks=${4:?rank list}
shift 4
exec "$(dirname "$0")/scaling-study.sh" "$kind" "$data" "$config" "$ranks" "studies/$kind-$(basename "$data")" -- "$@"
