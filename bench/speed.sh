#!/usr/bin/env bash
# Training and evaluation speed of tkg-train (1 rank) with the paper settings, against the
# official PyTorch implementation measured on the same kind of 2-core machine (BUILD-NOTES:
# 1.14 s/epoch and 2.0 GB on Ali-Display, 33 s/epoch and 8.1 GB on gowalla).
# Usage: bash bench/speed.sh [EPOCHS] > docs/speed-raw.md     (run on an otherwise idle machine)
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-20}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
echo "| dataset | L | train lines | threads | s/epoch | eval s | peak RSS MiB | official s/epoch | speedup | official RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for spec in "ali-display Ali-Display 1.14 2048" "epinions Epinions - -" "gowalla gowalla 33 8294"; do
  set -- $spec
  ./build/tkg-train --config configs/$1.ini --train.epochs "$EPOCHS" --eval.every "$EPOCHS" \
    --output.embeddings false --output.progress false --out "$W/$1" >/dev/null
  python3 - "$W/$1" "$2" "$3" "$4" <<'PY'
import csv, json, sys
d, name, off, off_rss = sys.argv[1:]
s = json.load(open(d + "/summary.json"))
rows = list(csv.DictReader(open(d + "/metrics.csv")))
ev = float(rows[0]["eval_s"])
cfg = open(d + "/config.ini").read()
L = [l.split("=")[1].strip() for l in cfg.splitlines() if l.startswith("layers")][0]
lines = {"Ali-Display": 121178, "Epinions": 210967, "gowalla": 810128}[name]
sp = f"{float(off) / s['seconds_per_epoch']:.1f}x" if off != "-" else "-"
print(f"| {name} | {L} | {lines} | {s['threads_per_rank']} | {s['seconds_per_epoch']:.3f} | {ev:.2f} | "
      f"{s['peak_rss_mb']:.0f} | {off} | {sp} | {off_rss} |")
PY
done
