#!/usr/bin/env bash
# Quality cost of the memory options that change results (docs/memory.md): test NDCG@20 and
# Recall@20 with and without each option, same seed, on Ali-Display (to early stop) and gowalla
# (200 epochs), one process. Exact options (model.recompute) are checked bit for bit instead.
# Usage: bench/memory_quality.sh BUILD_DIR WORK_DIR [THREADS]
set -euo pipefail
B=${1:?build dir}; W=${2:?work dir}; T=${3:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$W"
run() {  # name config extra...
  local name=$1 cfg=$2; shift 2
  "$B/tkg-train" --config "$ROOT/configs/$cfg" --out "$W/$name" --train.threads "$T" --output.progress false "$@" > "$W/$name.log" 2>&1
  python3 - "$W/$name/summary.json" "$name" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
t = s["test"]
print(f"| {sys.argv[2]} | {s['epochs_run']} | {s['best_epoch']} | {t['ndcg@20']:.4f} | {t['recall@20']:.4f} | {s['peak_rss_mb']:.0f} |")
PY
}
echo "| run | epochs | best epoch | test NDCG@20 | test Recall@20 | peak RSS MiB |"
echo "|---|---|---|---|---|---|"
for opt in base bf16; do
  extra=(); [[ $opt == bf16 ]] && extra=(--model.saved_bf16 true)
  run "ali-$opt" ali-display.ini --data "$ROOT/../shared/data/Ali-Display" "${extra[@]}"
  run "gowalla-$opt" gowalla.ini --data "$ROOT/../shared/data/gowalla" --train.epochs 200 "${extra[@]}"
done
