#!/usr/bin/env bash
# PROJECTED strong scaling of one graph to P = 1..64, calibrated and validated by measurement:
#   1. tkg-project --calibrate under mpirun -np 2: this machine's all-to-all-v latency/bandwidth;
#   2. METIS partitions for every P of PLIST, and tkg-project on all of them: each shard's step
#      run for real, one shard after another (1 thread per rank), with its traffic volumes;
#   3. measured runs at the P of VALIDATE (mpirun, 1 thread per rank; P > 2 oversubscribes the 2
#      cores here) and at P = 1, whose s/epoch calibrates the probe's compute (--compute-scale);
#   4. scripts/project_scaling.py for CPU nodes and for H100 nodes, each with and without overlap,
#      and the projection's error at the validated P.
# Usage: bash bench/projection.sh GRAPH WORKDIR [PLIST] [VALIDATE] [EPOCHS]
#   GRAPH: pl (1M + 1M users/items, 20M edges, 64 communities, generated into WORKDIR) or a
#   dataset directory (e.g. ../shared/data/gowalla). Outputs in WORKDIR/projection-*/.
set -euo pipefail
cd "$(dirname "$0")/.."
G=${1:?graph}; W=${2:?workdir}; PLIST=${3:-"1 2 4 8 16 32 64"}; VALIDATE=${4:-"2 4"}; EPOCHS=${5:-5}
CONFIG=configs/gowalla.ini  # L = 3, d = 64, λ = 0
mkdir -p "$W"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PY=/usr/bin/python3
if [[ $G == pl ]]; then
  DATA=$W/pl
  [[ -f $DATA/train.txt ]] || ./build/tkg-gen --kind powerlaw --users 1000000 --items 1000000 --edges 20000000 \
    --communities 64 --seed 1 --out "$DATA" --force
else
  DATA=$G
fi
NAME=$(basename "$DATA")
echo "# bench/projection.sh $G $(date -u +%F' '%H:%M) UTC, commit $(git rev-parse --short HEAD)"
[[ -f $W/comm.csv ]] || OMP_NUM_THREADS=1 mpirun --oversubscribe --bind-to none -np 2 ./build/tkg-project --calibrate --out "$W/comm.csv" >/dev/null
args=()
for P in $PLIST; do
  [[ -f $W/$NAME-P$P/meta.json ]] || ./build/tkg-partition --data "$DATA" --parts "$P" --out "$W/$NAME-P$P" --force --quiet >/dev/null
  args+=(--partition "$W/$NAME-P$P")
done
t0=$(date +%s)
[[ -f $W/$NAME-probe.csv ]] || ./build/tkg-project "${args[@]}" --layers 3 --dim 64 --reg 0 --threads 1 --reps 1 \
  --out "$W/$NAME-probe.csv"
echo "probe: $(( $(date +%s) - t0 )) s"
meas=()
for P in 1 $VALIDATE; do
  out=$W/meas-$NAME-P$P
  [[ -f $out/summary.json ]] || launch/tkg-run -n "$P" --launcher mpirun --threads 1 -- ./build/tkg-train --config "$CONFIG" \
    --partition "$W/$NAME-P$P" --train.epochs "$EPOCHS" --eval.every 100000 --eval.users 1000 --output.embeddings false \
    --output.checkpoint false --output.progress false --out "$out" > "$out.log" 2>&1
  meas+=("$P=$($PY -c "import json;print(json.load(open('$out/summary.json'))['seconds_per_epoch'])")")
done
echo "measured s/epoch: ${meas[*]}"
for machine in cpu h100; do
  $PY scripts/project_scaling.py --probe "$W/$NAME-probe.csv" --machine "$machine" --calibration "$W/comm.csv" \
    --measured "${meas[*]}" --cores 2 --title "$NAME, strong scaling" --out "$W/projection-$NAME-$machine"
done
