#!/usr/bin/env bash
# Multi-rank training on this machine: P = 1, 2, 4 ranks (MPI, 1 thread each) on a dataset, same
# seed and epochs; reports the epoch time split, halo and pool bytes, and the test metrics, which
# must agree across P (the equivalence the test suite checks step by step).
# Usage: bash bench/distributed.sh DATASET CONFIG EPOCHS [EVAL_EVERY] >> docs/distributed-raw.md
# With 2 cores, P = 4 oversubscribes: its times show overheads, not speedup.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:?dataset dir}; CONFIG=${2:?config}; EPOCHS=${3:?epochs}; EVERY=${4:-$EPOCHS}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
name=$(basename "$DATA")
echo "### $name, $CONFIG, $EPOCHS epochs"
echo
echo "| P | deep halos | s/epoch | compute s/epoch (max / mean over ranks) | comm+wait s/epoch (max) | MiB sent/epoch (all ranks) | halo MiB/layer (d=64 fp32) | edge cut % | test ndcg@20 | test recall_capped@20 | test recall@20 |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for spec in 1:false 2:false 4:false 2:true 4:true; do
  P=${spec%%:*}; BF=${spec##*:}
  [[ -d $W/p$P ]] || ./build/tkg-partition --data "$DATA" --parts $P --quiet --out "$W/p$P" >/dev/null
  OMP_NUM_THREADS=1 launch/tkg-run -n $P --launcher mpirun -- ./build/tkg-train --config "$CONFIG" --partition "$W/p$P" \
    --train.epochs "$EPOCHS" --eval.every "$EVERY" --train.threads 1 --output.embeddings false \
    --output.checkpoint false --output.progress false --model.bf16_halo "$BF" --out "$W/r$P-$BF" >/dev/null
  python3 - "$W/p$P" "$W/r$P-$BF" "$P" "$BF" <<'PY'
import csv, json, sys
p, r, P, bf = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
m = json.load(open(p + "/meta.json"))
s = json.load(open(r + "/summary.json"))
rows = list(csv.DictReader(open(r + "/metrics.csv")))[:-1]  # the last row is the final test evaluation
E = s["epochs_run"]
cmax = sum(float(x["compute_s_max"]) for x in rows) / E
cmean = sum(float(x["compute_s_mean"]) for x in rows) / E
comm = sum(float(x["comm_s"]) for x in rows) / E
mb = sum(float(x["bytes_sent"]) for x in rows) / E / 2**20
t = s["test"]
print(f"| {P} | {'bf16' if bf == 'true' else 'fp32'} | {s['seconds_per_epoch']:.3f} | {cmax:.3f} / {cmean:.3f} | {comm:.3f} | {mb:.2f} | "
      f"{m['halo_bytes_per_layer_d64_fp32']/2**20:.2f} | {m['edge_cut_pct']:.1f} | {t['ndcg@20']:.4f} | "
      f"{t['recall_capped@20']:.4f} | {t['recall@20']:.4f} |")
PY
done
echo
