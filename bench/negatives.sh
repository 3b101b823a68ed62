#!/usr/bin/env bash
# Quality cost of the shared negative pool (train.pool_size = Q) against the exact sampler, one
# rank (the draws do not depend on P). For each Q: test metrics at the best validation epoch.
# Usage: bash bench/negatives.sh CONFIG EPOCHS "FRACTIONS" [THREADS]  (fractions of the items, e.g. "0 0.01 0.1")
# Prints a Markdown table; raw run directories are removed.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:?config}; EPOCHS=${2:?epochs}; FRACS=${3:-"0 0.01 0.1"}; THREADS=${4:-2}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
echo "### $CONFIG, up to $EPOCHS epochs, $THREADS thread(s)"
echo
echo "| sampler | Q | best epoch | test ndcg@20 | test recall_capped@20 | test recall@20 | ndcg vs exact | s/epoch |"
echo "|---|---|---|---|---|---|---|---|"
exact=""
for f in $FRACS; do
  out="$W/q$f"
  OMP_NUM_THREADS=$THREADS ./build/tkg-train --config "$CONFIG" --train.epochs "$EPOCHS" --train.threads "$THREADS" \
    --train.pool_fraction "$f" --output.embeddings false --output.checkpoint false --output.progress false \
    --out "$out" > "$W/log$f" 2>&1 || { cat "$W/log$f"; exit 1; }
  line=$(python3 - "$out" "$f" "$exact" 2>"$W/ndcg" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
f, exact = float(sys.argv[2]), sys.argv[3]
t = s["test"]
rel = "" if not exact else f"{100 * t['ndcg@20'] / float(exact):.1f} %"
name = "exact" if f == 0 else "pool"
print(f"| {name} | {s.get('pool_size', 0)} ({100 * f:g} %) | {s['best_epoch']} | {t['ndcg@20']:.4f} | "
      f"{t['recall_capped@20']:.4f} | {t['recall@20']:.4f} | {rel or '100 %'} | {s['seconds_per_epoch']:.3f} |")
print(t["ndcg@20"], file=sys.stderr)
PY
)
  echo "$line"
  [[ -z $exact ]] && exact=$(cat "$W/ndcg")
done
echo
