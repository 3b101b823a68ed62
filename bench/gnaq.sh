#!/usr/bin/env bash
# GNAQ on a dataset: an fp32 TopKGAT run (paper settings, saves a checkpoint), then GNAQ runs that
# start from that checkpoint (quant.warmup_epochs = 0) for b = 1, 2, 4 and the ablations at b = 2.
# Prints one Markdown row per run. Usage: bash bench/gnaq.sh CONFIG NAME [EPOCHS] > docs/gnaq-raw-NAME.md
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:?config}; NAME=${2:?name}; EPOCHS=${3:-600}
R=runs/gnaq-$NAME
mkdir -p "$R"
row() {  # row LABEL RUNDIR
  python3 - "$1" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[2] + "/summary.json"))
t = s["test"]
mb = s.get("model_bytes_per_node", s.get("model_bytes_per_node_fp32", 256))
fp = s.get("model_bytes_per_node_fp32", 256)
print(f"| {sys.argv[1]} | {t['ndcg@20']:.4f} | {t['recall_capped@20']:.4f} | {t['recall@20']:.4f} | "
      f"{s['best_epoch']} | {s['epochs_run']} | {mb:.0f} | {fp / mb:.1f}x | {s['seconds_per_epoch']:.3f} |")
PY
}
echo "| run | test ndcg@20 | recall_capped@20 | recall@20 | best epoch | epochs | model B/node | smaller | s/epoch |"
echo "|---|---|---|---|---|---|---|---|---|"
[[ -f $R/fp32/checkpoint/manifest.json ]] || \
  ./build/tkg-train --config "$CONFIG" --output.progress false --out "$R/fp32" >"$R/fp32.log" 2>&1
row "fp32 TopKGAT (phase 1, checkpoint)" "$R/fp32"
run() {  # run LABEL DIR OPTIONS...
  local label=$1 dir=$2; shift 2
  ./build/tkg-train --config "$CONFIG" --train.init_from "$R/fp32/checkpoint" --train.epochs "$EPOCHS" \
    --quant.warmup_epochs 0 --output.progress false --output.embeddings false --output.checkpoint false \
    --out "$R/$dir" "$@" >"$R/$dir.log" 2>&1 && row "$label" "$R/$dir" || echo "| $label | failed: see $R/$dir.log |"
}
run "GNAQ b=1" b1 --quant.bits 1
run "GNAQ b=2" b2 --quant.bits 2
run "GNAQ b=4" b4 --quant.bits 4
run "b=2 + rank loss 0.1" b2-rank --quant.bits 2 --quant.rank_loss 0.1
run "b=2 w/o DQS" b2-nodqs --quant.bits 2 --quant.dqs false
run "b=2 w/o RAU" b2-norau --quant.bits 2 --quant.rau off
run "b=2 RAU code rule" b2-raucode --quant.bits 2 --quant.rau code
run "b=2 no concat" b2-noconcat --quant.bits 2 --quant.concat_levels false
run "b=2 tanh, no concat (official code)" b2-tanh --quant.bits 2 --quant.concat_levels false --quant.tanh true
