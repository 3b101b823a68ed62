#!/usr/bin/env bash
# Mini-batch step time on one dataset, as the step ran before 2026-12-03 (no cache of freed blocks:
# train.host_cache_mb 0; full backward passes: TKG_SKIP_ZERO_ROWS=0) and as it runs now (the
# defaults), for several batch sizes, in one run; the correctness check beside the timing: both
# runs of each pair must give the same top-K lists (cmp).
# usage: bench/minibatch_step.sh [CONFIG] [BATCHES]   (defaults: configs/gowalla-lightgcn-paper.ini, 2048 16384 131072)
# Prints one table row per batch size: steps per epoch, s/step without and with the cache, ratio, peaks.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
config="${1:-$here/configs/gowalla-lightgcn-paper.ini}"
batches="${2:-2048 16384 131072}"
bin="${TKG_TRAIN:-$here/build/tkg-train}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
echo "| lines per step | steps | s/step before | s/step now | ratio | peak RSS MiB (before / now) | same top-K |"
echo "|---|---|---|---|---|---|---|"
for b in $batches; do
  TKG_SKIP_ZERO_ROWS=0 "$bin" --config "$config" --train.batch_size "$b" --train.epochs 1 --eval.every 1 \
    --train.host_cache_mb 0 --out "$out/b$b-0" > "$out/b$b-0.log" 2>&1
  "$bin" --config "$config" --train.batch_size "$b" --train.epochs 1 --eval.every 1 --out "$out/b$b--1" > "$out/b$b--1.log" 2>&1
  /usr/bin/python3 - "$out" "$b" <<'PY'
import json, math, sys, filecmp
out, b = sys.argv[1], int(sys.argv[2])
a, c = (json.load(open(f"{out}/b{b}-{h}/summary.json")) for h in ("0", "-1"))
lines = 810128
try:
    import re
    lines = int(re.search(r"(\d+) train lines", open(f"{out}/b{b}-0.log").read()).group(1))
except Exception:
    pass
steps = math.ceil(lines / b)
same = filecmp.cmp(f"{out}/b{b}-0/topk.tsv", f"{out}/b{b}--1/topk.tsv", shallow=False)
s0, s1 = a["seconds_per_epoch"] / steps, c["seconds_per_epoch"] / steps
print(f"| {b:,} | {steps} | {s0:.4f} | {s1:.4f} | {s0 / s1:.2f}x | {a['peak_rss_mb']:.0f} / {c['peak_rss_mb']:.0f} | {'yes' if same else 'NO'} |")
PY
done
