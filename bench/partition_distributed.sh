#!/usr/bin/env bash
# The distributed partition (PT-Scotch, R processes) against METIS (one process) and hash:
# edge cut, halo, balance, wall time of the whole tkg-partition command (reading to meta.json)
# and the peak RSS of its largest process.
#   gowalla at P = 8; the 1M + 1M / 20M graph at P = 2, 4, 8 (R = 1, 2, 4 for PT-Scotch; R = 4 on
#   this 2-core machine is oversubscribed).
# Usage: bash bench/partition_distributed.sh PL20M_DIR [WORKDIR] > docs/raw/partition/distributed.md
#   PL20M_DIR: tkg-gen --kind powerlaw --users 1000000 --items 1000000 --edges 20000000 --communities 64 --seed 1
set -euo pipefail
cd "$(dirname "$0")/.."
PL=${1:?usage: partition_distributed.sh PL20M_DIR [WORKDIR]}
W=${2:-/tmp/tkg-partition-dist}
mkdir -p "$W"
B=$PWD/build
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 OMP_NUM_THREADS=1
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
row() {  # row GRAPH LABEL R WALL_S PDIR
  "$PY" - "$@" <<'PY'
import json, sys
g, label, R, wall, d = sys.argv[1:]
m = json.load(open(d + "/meta.json"))
peaks = m.get("peak_rss_mb_per_process") or [m["peak_rss_mb"]]
print(f"| {g} | {m['parts']} | {label} | {R} | {m['edge_cut_pct']:.2f} | {m['halo_total']} | {m['halo_max']} | "
      f"{m['node_imbalance']:.3f} | {m['edge_imbalance']:.3f} | {float(wall):.1f} | {max(peaks):.0f} | {sum(peaks):.0f} |")
PY
}
run() {  # run GRAPH DATA P LABEL R ARGS...
  local g=$1 data=$2 P=$3 label=$4 R=$5; shift 5
  local t0 t1
  t0=$(date +%s.%N)
  if [[ $R == 1 ]]; then "$B/tkg-partition" --data "$data" --parts "$P" --quiet --force --out "$W/p" "$@" >/dev/null
  else mpiexec --bind-to none -np "$R" "$B/tkg-partition" --data "$data" --parts "$P" --quiet --force --out "$W/p" "$@" >/dev/null; fi
  t1=$(date +%s.%N)
  row "$g" "$label" "$R" "$(echo "$t1 - $t0" | bc)" "$W/p"
}
echo "| graph | P | method | R | edge cut % | Σ halo | max halo | node imb. | edge imb. | wall s | peak RSS MiB (largest process) | Σ peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for cfg in "metis,ncon=1|1|--method metis --ncon 1" "metis,ncon=2|1|--method metis --ncon 2" \
           "ptscotch,ncon=1|1|--method ptscotch --ncon 1" "ptscotch,ncon=2|1|--method ptscotch --ncon 2" \
           "ptscotch,ncon=2|2|--method ptscotch --ncon 2" "ptscotch,ncon=2|4|--method ptscotch --ncon 2" \
           "hash|1|--method hash" "hash|2|--method hash"; do
  IFS='|' read -r label R args <<<"$cfg"
  run gowalla ../shared/data/gowalla 8 "$label" "$R" $args
done
for P in 2 4 8; do
  cfgs=("metis,ncon=2|1|--method metis --ncon 2" "ptscotch,ncon=2|2|--method ptscotch --ncon 2" "hash|2|--method hash")
  if [[ $P != 4 ]]; then
    cfgs+=("metis,ncon=1|1|--method metis --ncon 1" "ptscotch,ncon=2|1|--method ptscotch --ncon 2"
           "ptscotch,ncon=1|2|--method ptscotch --ncon 1" "ptscotch,ncon=2|4|--method ptscotch --ncon 2"
           "ptscotch fast,ncon=2|2|--method ptscotch --ncon 2 --scotch-strategy fast")
  fi
  for cfg in "${cfgs[@]}"; do
    IFS='|' read -r label R args <<<"$cfg"
    run "20M" "$PL" "$P" "$label" "$R" $args
  done
done
rm -rf "$W"
