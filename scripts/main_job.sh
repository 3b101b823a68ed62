#!/usr/bin/env bash
# The README's main job: partition a shipped dataset with METIS and print the statistics.
# Usage: bash scripts/main_job.sh [DATASET_DIR] [PARTS]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/Ali-Display}
PARTS=${2:-4}
NAME=$(basename "$DATA")
mkdir -p parts
./build/tkg-partition --data "$DATA" --parts "$PARTS" --out "parts/$NAME-$PARTS" --force
