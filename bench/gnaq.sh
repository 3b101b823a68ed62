#!/usr/bin/env bash
# GNAQ on a dataset: an fp32 TopKGAT run (paper settings) that saves a checkpoint (phase 1), then
# GNAQ runs from that checkpoint (quant.warmup_epochs = 0): b = 1, 2, 4 with the base options, and
# at b = 2 one change at a time (the ablations). Prints one Markdown row per run.
# Usage: bash bench/gnaq.sh CONFIG NAME [EPOCHS] [full|bits|ablations|rau] > docs/raw/gnaq-NAME.md
#   rau: only the RAU-frequency rows (quant.rau_every)
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:?config}; NAME=${2:?name}; EPOCHS=${3:-200}; SET=${4:-full}
R=runs/gnaq-$NAME
TRAIN=${TKG_TRAIN:-./build/tkg-train}  # a copy of the binary lets you rebuild while this runs
read -r -a EXTRA <<<"${TKG_EXTRA:-}"    # options added to every run, e.g. "--data DIR --model.device cuda"
mkdir -p "$R"
row() {  # row LABEL RUNDIR
  python3 - "$1" "$2" "$R/fp32" <<'PY'
import json, sys
s = json.load(open(sys.argv[2] + "/summary.json"))
base = json.load(open(sys.argv[3] + "/summary.json"))["test"]
t = s["test"]
mb = s.get("model_bytes_per_node", s.get("model_bytes_per_node_fp32", 256))
fp = s.get("model_bytes_per_node_fp32", 256)
print(f"| {sys.argv[1]} | {t['ndcg@20']:.4f} | {t['recall_capped@20']:.4f} | {t['recall@20']:.4f} | "
      f"{100 * t['recall@20'] / base['recall@20']:.1f} % | {s['best_epoch']} | {mb:.0f} | {fp / mb:.1f}x |")
PY
}
echo "| run | test ndcg@20 | recall_capped@20 | recall@20 | recall@20 vs fp32 | best epoch | model B/node | smaller |"
echo "|---|---|---|---|---|---|---|---|"
[[ -f $R/fp32/summary.json && -d $R/fp32/checkpoints ]] || \
  "$TRAIN" --config "$CONFIG" --output.progress false --output.embeddings false --out "$R/fp32" "${EXTRA[@]}" >"$R/fp32.log" 2>&1
row "fp32 TopKGAT (phase 1)" "$R/fp32"
# Base GNAQ options (the defaults): fine-tune the levels of the phase-1 table at lr 0.01, DQS on,
# no concatenation, no RAU, no rank loss. Ablations change one of them.
BASE=(--quant.concat_levels false --quant.tanh false --quant.dqs true --quant.rau off --quant.rank_loss 0 --quant.lr 0.01)
run() {  # run LABEL DIR OPTIONS...
  local label=$1 dir=$2; shift 2
  "$TRAIN" --config "$CONFIG" --train.init_from "$R/fp32" --train.epochs "$EPOCHS" \
    --quant.warmup_epochs 0 --eval.patience 100 --output.progress false --output.embeddings false \
    --output.checkpoint false --out "$R/$dir" "${EXTRA[@]}" "${BASE[@]}" "$@" >"$R/$dir.log" 2>&1 \
    && row "$label" "$R/$dir" || echo "| $label | failed: see $R/$dir.log |"
}
BASE_BITS=("${BASE[@]}")
if [[ $SET != ablations && $SET != rau ]]; then
  run "GNAQ b=1" b1 --quant.bits 1
  run "GNAQ b=2" b2 --quant.bits 2
  run "GNAQ b=4" b4 --quant.bits 4
fi
[[ $SET == bits ]] && exit 0
ab() {  # ablation at b = 2: replaces one base option (further arguments go to the run as they are)
  local label=$1 dir=$2 key=$3 value=$4
  shift 4
  local opts=()
  for ((k = 0; k < ${#BASE_BITS[@]}; k += 2)); do
    [[ ${BASE_BITS[k]} == "$key" ]] && opts+=("$key" "$value") || opts+=("${BASE_BITS[k]}" "${BASE_BITS[k+1]}")
  done
  BASE=("${opts[@]}")
  run "$label" "$dir" --quant.bits 2 "$@"
  BASE=("${BASE_BITS[@]}")
}
if [[ $SET == rau ]]; then
  ab "b=2, RAU paper rule every 20 steps" b2-raupaper20 --quant.rau paper --quant.rau_every 20
  ab "b=2, RAU paper rule every 100 steps" b2-raupaper100 --quant.rau paper --quant.rau_every 100
  ab "b=2, RAU code rule every 20 steps" b2-raucode20 --quant.rau code --quant.rau_every 20
  exit 0
fi
ab "b=2, w/o DQS" b2-nodqs --quant.dqs false
ab "b=2, RAU paper rule every step" b2-raupaper --quant.rau paper
ab "b=2, RAU code rule every step" b2-raucode --quant.rau code
ab "b=2, concat levels (H0 = [E', S])" b2-concat --quant.concat_levels true
ab "b=2, tanh (official code)" b2-tanh --quant.tanh true
ab "b=2, rank loss 0.1" b2-rank --quant.rank_loss 0.1
ab "b=2, lr 0.1 after quantizing" b2-lr01 --quant.lr 0.1
ab "b=2, RAU paper rule every 20 steps" b2-raupaper20 --quant.rau paper --quant.rau_every 20
ab "b=2, RAU paper rule every 100 steps" b2-raupaper100 --quant.rau paper --quant.rau_every 100
ab "b=2, RAU code rule every 20 steps" b2-raucode20 --quant.rau code --quant.rau_every 20
