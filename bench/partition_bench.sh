#!/usr/bin/env bash
# Partition benchmark: time, peak RSS, edge cut and balance of tkg-partition.
#   gowalla (shipped) at P = 2..64 with METIS ncon=1 / ncon=2, random and hash;
#   the 1M users + 1M items + 20M edges synthetic graph (with and without communities) at P = 8.
# Usage: bash bench/partition_bench.sh [WORKDIR] > docs/partition-bench.md   (about 10 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-/tmp/tkg-partition-bench}
mkdir -p "$W"
B=./build
row() {  # row LABEL PDIR
  python3 - "$1" "$2" <<'PY'
import json, sys
m = json.load(open(sys.argv[2] + "/meta.json"))
print(f"| {sys.argv[1]} | {m['parts']} | {m['method']} | {m['ncon'] if m['method']=='metis' else '-'} | "
      f"{m['edge_cut_pct']:.1f} | {m['halo_total']} | {m['halo_max']} | {m['node_imbalance']:.3f} | "
      f"{m['edge_imbalance']:.3f} | {m['halo_bytes_per_layer_d64_fp32']/2**20:.1f} | {m['seconds']:.2f} | {m['peak_rss_mb']:.0f} |")
PY
}
header() {
  echo "| graph | P | method | ncon | edge cut % | Σ halo | max halo | node imb. | edge imb. | halo MiB/layer | seconds | peak RSS MiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
}
echo "## gowalla (29,858 users, 40,981 items, 810,128 distinct train edges)"
echo
echo "METIS reference edge cuts (ncon=1, default options): P=2 6.0 %, P=4 11.5 %, P=8 17.6 %, P=16 39.2 %, P=32 46.7 %, P=64 54.7 %."
echo
header
for P in 2 4 8 16 32 64; do
  for cfg in "metis 1" "metis 2" "random 2" "hash 2"; do
    set -- $cfg
    $B/tkg-partition --data ../shared/data/gowalla --parts $P --method $1 --ncon $2 --quiet --force --out "$W/gw" >/dev/null
    row gowalla "$W/gw"
  done
done
echo
echo "## Synthetic 1M users + 1M items + 20M edges (train = 70 %: 14M edges), P = 8"
echo
for C in 0 64; do
  start=$(date +%s.%N)
  $B/tkg-gen --kind powerlaw --users 1000000 --items 1000000 --edges 20000000 --communities $C --seed 1 --force --out "$W/pl" >"$W/gen.log"
  end=$(date +%s.%N)
  echo "tkg-gen, communities=$C: $(python3 -c "print(f'{$end-$start:.1f}')") s wall ($(grep -o 'peak RSS [0-9.]* MiB' "$W/gen.log"))"
  echo
  header
  for cfg in "metis 2" "metis 1" "random 2"; do
    set -- $cfg
    $B/tkg-partition --data "$W/pl" --parts 8 --method $1 --ncon $2 --quiet --force --out "$W/plp" >/dev/null
    row "powerlaw C=$C" "$W/plp"
  done
  echo
done
rm -rf "$W"
