#!/usr/bin/env bash
# PROJECTED weak scaling: the base graph tiled P times (tkg-gen --kind tile --copies P --cross 0.01),
# so each rank's share stays one copy; METIS partitions, tkg-project on each, and
# scripts/project_scaling.py --kind weak for CPU and H100 nodes (compute calibrated by the
# strong study's P = 1 factor, COMPUTE_SCALE, default 1.13 as measured on gowalla and the 1M graph).
# Usage: bash bench/projection_weak.sh BASE_DATASET WORKDIR [PLIST]
#   BASE_DATASET "pl64" generates a 1/64 slice of the 20M-edge graph (15,625 + 15,625 users/items,
#   312,500 edges): at P = 64 the tiled graph has 20M edges.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:?base dataset}; W=${2:?workdir}; PLIST=${3:-"1 2 4 8 16 32 64"}
mkdir -p "$W"
PY=/usr/bin/python3
if [[ $B == pl64 ]]; then
  BASE=$W/pl64
  [[ -f $BASE/train.txt ]] || ./build/tkg-gen --kind powerlaw --users 15625 --items 15625 --edges 312500 --seed 1 --out "$BASE" --force >/dev/null
else
  BASE=$B
fi
NAME=$(basename "$BASE")
echo "# bench/projection_weak.sh $B $(date -u +%F' '%H:%M) UTC, commit $(git rev-parse --short HEAD)"
args=()
for P in $PLIST; do
  [[ -f $W/$NAME-x$P/train.txt ]] || ./build/tkg-gen --kind tile --data "$BASE" --copies "$P" --cross 0.01 --seed 1 --out "$W/$NAME-x$P" --force >/dev/null
  [[ -f $W/$NAME-x$P-P$P/meta.json ]] || ./build/tkg-partition --data "$W/$NAME-x$P" --parts "$P" --out "$W/$NAME-x$P-P$P" --force --quiet >/dev/null
  args+=(--partition "$W/$NAME-x$P-P$P")
done
[[ -f $W/$NAME-weak-probe.csv ]] || ./build/tkg-project "${args[@]}" --layers 3 --dim 64 --reg 0 --threads 1 --reps 1 \
  --out "$W/$NAME-weak-probe.csv" 2>/dev/null
for machine in cpu h100; do
  cal=(); [[ -f $W/comm.csv ]] && cal=(--calibration "$W/comm.csv")
  $PY scripts/project_scaling.py --kind weak --probe "$W/$NAME-weak-probe.csv" --machine "$machine" "${cal[@]}" \
    --compute-scale "${COMPUTE_SCALE:-1.13}" --title "$NAME tiled P times, weak scaling" --out "$W/projection-weak-$NAME-$machine"
done
