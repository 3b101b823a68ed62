#!/usr/bin/env bash
# The README's main job on shipped data: METIS-partition Ali-Display into 2 shards (statistics
# printed), then train TopKGAT on 2 MPI ranks for a short run and print the test metrics.
# Usage: bash scripts/main_job.sh [DATASET_DIR] [RANKS] [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/Ali-Display}
RANKS=${2:-2}
EPOCHS=${3:-100}
NAME=$(basename "$DATA")
mkdir -p parts runs
./build/tkg-partition --data "$DATA" --parts "$RANKS" --out "parts/$NAME-$RANKS" --force
launch/tkg-run -n "$RANKS" -- ./build/tkg-train --config configs/smoke.ini --partition "parts/$NAME-$RANKS" \
  --train.epochs "$EPOCHS" --out "runs/main-$NAME-$RANKS"
