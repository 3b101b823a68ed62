#!/usr/bin/env bash
# Time to quality on Ali-Display with the paper settings (configs/ali-display.ini: L = 4, lr 0.1,
# λ 1e-4, validate every 20, stop 200 epochs after the best validation NDCG@20, test at the best
# epoch), against the paper's Table 2 (test NDCG@20 0.0689, capped Recall@20 0.1266), and
# optionally the official implementation to early stopping in the same run
# (OFFICIAL="bash /path/run.sh", a runner taking `full DATASET` and printing
# `OFFICIAL ... wall_s=... ndcg20=... recall20=... best_epoch=...`).
# Usage: [OFFICIAL=...] bash bench/time_to_quality.sh [TKG_TRAIN]     (idle machine; ~2 min, plus
# ~20 min for the official code)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-./build/tkg-train}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
echo "# bench/time_to_quality.sh $(date -u +%F' '%H:%M) UTC, commit $(git rev-parse --short HEAD)"
t0=$(date +%s.%N)
"$BIN" --config configs/ali-display.ini --output.progress false --out "$W/ours" > "$W/ours.log" 2>&1
t1=$(date +%s.%N)
python3 - "$W/ours/summary.json" "$t0" "$t1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); wall = float(sys.argv[3]) - float(sys.argv[2])
n, r = s["test"]["ndcg@20"], s["test"]["recall_capped@20"]
print(f"OURS wall_s={wall:.1f} train_s={s['train_seconds']:.1f} s_per_epoch={s['seconds_per_epoch']:.4f} "
      f"best_epoch={s['best_epoch']} epochs_run={s['epochs_run']} ndcg20={n:.4f} recall20_capped={r:.4f} "
      f"vs_paper ndcg {100 * (n / 0.0689 - 1):+.1f}% recall {100 * (r / 0.1266 - 1):+.1f}%")
PY
if [[ -n ${OFFICIAL:-} ]]; then
  $OFFICIAL full Ali-Display 2>&1 | grep '^OFFICIAL' || echo "OFFICIAL failed"
fi
