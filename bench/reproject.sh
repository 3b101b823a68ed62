#!/usr/bin/env bash
# Re-run the published projections of docs/scaling.md from their stored probes (no probe, no
# training: seconds), e.g. after a change to the model in scripts/project_scaling.py or to try
# other link parameters (extra arguments are passed to every project_scaling.py call).
# Usage: bash bench/reproject.sh [OUT_ROOT] [-- PROJECT_SCALING_ARGS...]
#   OUT_ROOT defaults to docs/raw/scaling (overwrites the published outputs and *-projection.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
R=docs/raw/scaling
OUT=${1:-$R}; shift || true
[[ ${1:-} == -- ]] && shift
PY=/usr/bin/python3
mkdir -p "$OUT"
# name | probe | calibration | projection arguments (measured s/epoch: the runs of docs/scaling.md)
run() {
  local name=$1 probe=$2 cal=$3; shift 3
  for machine in cpu h100; do
    $PY scripts/project_scaling.py --probe "$R/$probe" --machine "$machine" --calibration "$R/$cal" --cores 2 \
      "$@" "${EXTRA[@]}" --out "$OUT/$name-$machine"
  done
}
EXTRA=("$@")
{
  echo "# bench/reproject.sh $(date -u +%F' '%H:%M) UTC, commit $(git rev-parse --short HEAD)"
  run gowalla gowalla-probe.csv comm-calibration.csv --measured "1=0.615857047 2=0.3574783749 4=0.4532229839" \
    --title "gowalla, strong scaling"
} > "$OUT/gowalla-projection.txt"
{
  echo "# bench/reproject.sh $(date -u +%F' '%H:%M) UTC, commit $(git rev-parse --short HEAD)"
  run pl20m pl20m-probe.csv comm-calibration-pl-run.csv --measured "1=42.39697637 2=24.95826799 4=33.4928253" \
    --title "pl, strong scaling"
} > "$OUT/pl20m-projection.txt"
{
  echo "# bench/reproject.sh $(date -u +%F' '%H:%M) UTC, commit $(git rev-parse --short HEAD)"
  run gowalla-x16 gowalla-x16-probe.csv comm-calibration-pl-run.csv --measured "1=23.91950552 2=15.89059509" \
    --title "gowalla-x16, strong scaling"
} > "$OUT/gowalla-x16-projection.txt"
{
  echo "# bench/reproject.sh $(date -u +%F' '%H:%M) UTC, commit $(git rev-parse --short HEAD)"
  run pl64-weak pl64-weak-probe.csv comm-calibration-pl-run.csv --kind weak --compute-scale 1.13 \
    --title "pl64 tiled P times, weak scaling"
} > "$OUT/pl64-weak-projection.txt"
echo "wrote $OUT/{gowalla,pl20m,gowalla-x16,pl64-weak}-{cpu,h100}/ and *-projection.txt"
