#!/usr/bin/env bash
# Training protocols on one dataset, each run to its epoch cap with evaluation on test every N
# epochs, and the curve of each (NDCG@20 and Recall@20 per evaluation, with the wall time) in one
# table: docs/reproduction.md "Protocols on gowalla" (issue: LightGCN's numbers in our engine).
#
# usage: bench/protocols.sh OUT_DIR NAME CONFIG [tkg-train options...]   (one protocol per call)
#        bench/protocols.sh --table OUT_DIR                               (the curves of every run)
# Environment: TKG_TRAIN (default build/tkg-train).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
if [[ "${1:-}" == "--table" ]]; then
  out="$2"
  for d in "$out"/*/; do
    n="$(basename "$d")"
    [[ -f "$d/metrics.jsonl" ]] || continue
    /usr/bin/python3 - "$d" "$n" <<'PY'
import json, sys
d, name = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(d + "/metrics.jsonl") if l.strip()]
rows = [r for r in rows if r.get("split") == "test" and not r.get("final")]
wall = 0.0
pts = []
for r in rows:
    wall += r.get("train_s", 0) + r.get("eval_s", 0)
    pts.append((int(r["epoch"]), r["ndcg@20"], r["recall@20"], wall))
best = max(pts, key=lambda p: p[1]) if pts else None
s = json.load(open(d + "/summary.json")) if __import__("os").path.exists(d + "/summary.json") else {}
print(f"### {name}")
if s:
    print(f"s/epoch {s.get('seconds_per_epoch', 0):.3f}, epochs run {s.get('epochs_run')}, best epoch {s.get('best_epoch')}")
if best:
    print(f"best NDCG@20 {best[1]:.4f} / Recall@20 {best[2]:.4f} at epoch {best[0]}")
print("epoch | NDCG@20 | Recall@20 | wall s")
for p in pts:
    print(f"{p[0]} | {p[1]:.4f} | {p[2]:.4f} | {p[3]:.0f}")
PY
  done
  exit 0
fi
out="$1" name="$2" config="$3"
shift 3
bin="${TKG_TRAIN:-$here/build/tkg-train}"
mkdir -p "$out"
echo "== $name: $bin --config $config $* --out $out/$name"
"$bin" --config "$config" "$@" --out "$out/$name" > "$out/$name.log" 2>&1
tail -3 "$out/$name.log"
