#!/usr/bin/env bash
# The million-node benchmark (docs/scale.md): generate, partition, train a few epochs with a
# sampled evaluation, on this machine; wall time and peak RSS of every stage (per rank for
# training), bytes sent per epoch split into halo exchanges and negative fetches.
#
# Usage: bash bench/scale.sh WORKDIR [GRAPHS] [RANKS]
#   GRAPHS: "pl tile" (default): pl = 1M users + 1M items, 20M edges, 64 planted communities;
#           tile = gowalla tiled x16 (1.13M nodes, 1 % cross-copy lines)
#   RANKS:  training rank counts, default "2 4" (partitions are made for 2, 4 and 8)
# Env: EPOCHS (5), EVAL_USERS (10000), MB_BATCH (lines per mini-batch step for the mini-batch
#      run at P = 2; 0 skips it; default 2000000), CONFIG (configs/gowalla.ini: L = 3, d = 64).
# Prints Markdown tables; keeps logs and summaries under WORKDIR (datasets: ~1 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:?work dir}; GRAPHS=${2:-"pl tile"}; RANKS=${3:-"2 4"}
EPOCHS=${EPOCHS:-5}; EVAL_USERS=${EVAL_USERS:-10000}; MB_BATCH=${MB_BATCH:-2000000}; CONFIG=${CONFIG:-configs/gowalla.ini}
DATA=${TKG_DATA:-../shared/data}
mkdir -p "$W"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

# stage NAME CMD...: runs CMD, records "wall_s peak_rss_mib" of the process in $W/NAME.time.
stage() {
  local name=$1; shift
  /usr/bin/time -o "$W/$name.time" -f "%e %M" "$@" > "$W/$name.log" 2>&1 || { echo "stage $name failed:"; tail -20 "$W/$name.log"; exit 1; }
  awk '{printf "%.1f %.0f\n", $1, $2 / 1024}' "$W/$name.time" > "$W/$name.stat"
}

echo "| stage | wall s | peak RSS MiB |"
echo "|---|---|---|"
for g in $GRAPHS; do
  case $g in
    pl) stage gen-pl ./build/tkg-gen --kind powerlaw --users 1000000 --items 1000000 --edges 20000000 --communities 64 \
          --seed 1 --out "$W/pl" --force ;;
    tile) stage gen-tile ./build/tkg-gen --kind tile --data "$DATA/gowalla" --copies 16 --cross 0.01 --seed 1 \
          --out "$W/tile" --force ;;
    *) echo "unknown graph $g"; exit 2 ;;
  esac
  read -r s m < "$W/gen-$g.stat"; echo "| generate $g | $s | $m |"
  for P in 2 4 8; do
    stage "part-$g-$P" ./build/tkg-partition --data "$W/$g" --parts $P --out "$W/$g-p$P" --force
    read -r s m < "$W/part-$g-$P.stat"; echo "| partition $g P=$P (METIS) | $s | $m |"
  done
  for P in $RANKS; do
    stage "train-$g-$P" launch/tkg-run -n $P --launcher mpirun --threads 1 -- ./build/tkg-train --config "$CONFIG" \
      --partition "$W/$g-p$P" --train.epochs "$EPOCHS" --eval.every "$EPOCHS" --eval.users "$EVAL_USERS" \
      --output.embeddings false --output.checkpoint false --out "$W/run-$g-$P"
    read -r s m < "$W/train-$g-$P.stat"
    python3 - "$W/run-$g-$P" "$g" "$P" "$s" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
ranks = " / ".join(f"{v:.0f}" for v in s["peak_rss_mb_per_rank"])
print(f"| train {sys.argv[2]} P={sys.argv[3]}, {s['epochs_run']} epochs + sampled eval (total) | {sys.argv[4]} | "
      f"{ranks} per rank (sum {sum(s['peak_rss_mb_per_rank']):.0f}) |")
PY
  done
  if [[ $MB_BATCH -gt 0 ]]; then
    stage "train-$g-2-mb" launch/tkg-run -n 2 --launcher mpirun --threads 1 -- ./build/tkg-train --config "$CONFIG" \
      --partition "$W/$g-p2" --train.epochs 1 --eval.every 1 --eval.users 1000 --train.batch_size "$MB_BATCH" \
      --output.embeddings false --output.checkpoint false --out "$W/run-$g-2-mb"
  fi
done
echo
echo "| run | setup s | s/epoch | final eval s (users) | MiB sent/epoch: halo | negatives | total | negatives fetched/epoch | test ndcg@20 ± 95 % CI | recall@20 |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for r in "$W"/run-*; do
  python3 - "$r" <<'PY'
import csv, json, os, sys
d = sys.argv[1]
s = json.load(open(d + "/summary.json"))
rows = list(csv.DictReader(open(d + "/metrics.csv")))[:-1]  # the last row is the final test evaluation
E = s["epochs_run"]
fetched = sum(float(r["negatives_fetched"]) for r in rows) / E
t, ci = s["test"], s.get("test_ci95", {})
MiB = 2 ** 20
print(f"| {os.path.basename(d)} | {s['setup_seconds']:.1f} | {s['seconds_per_epoch']:.1f} | {s['final_eval_seconds']:.1f} ({t['users']}) | "
      f"{s['halo_bytes_per_epoch'] / MiB:.0f} | {s['negative_bytes_per_epoch'] / MiB:.0f} | {s['bytes_sent_per_epoch'] / MiB:.0f} | "
      f"{fetched:.0f} | {t['ndcg@20']:.4f} ± {ci.get('ndcg@20', 0):.4f} | {t['recall@20']:.4f} |")
PY
done
