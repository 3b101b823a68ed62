#!/usr/bin/env bash
# Two builds side by side on Ali-Display (configs/ali-display.ini): the same outputs (metrics.csv
# loss and metric columns, test metrics to the old summary's 10 digits, topk.tsv byte for byte)
# at P = 1 and P = 2 over 20 epochs, then seconds per epoch in alternated pairs (40 epochs, no
# evaluation) with their ratios. A refactor that changes results fails here.
# Usage: bash bench/compare_builds.sh OLD_TKG_TRAIN NEW_TKG_TRAIN WORKDIR [PAIRS]
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$1; NEW=$2; W=$3; PAIRS=${4:-5}
DATA=${TKG_DATA:-../shared/data}/Ali-Display
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p "$W"
./build/tkg-partition --data "$DATA" --parts 2 --out "$W/p2" --force --quiet >/dev/null
C=(--config configs/ali-display.ini)
for tag in old new; do
  bin=$OLD; [[ $tag == new ]] && bin=$NEW
  "$bin" "${C[@]}" --data "$DATA" --train.epochs 20 --eval.every 5 --out "$W/$tag-p1" >"$W/$tag-p1.log" 2>&1
  OMP_NUM_THREADS=1 mpirun -np 2 "$bin" "${C[@]}" --partition "$W/p2" --train.epochs 20 --eval.every 5 --out "$W/$tag-p2" >"$W/$tag-p2.log" 2>&1
done
python3 - "$W" <<'PY'
import csv, json, sys
W = sys.argv[1]
r10 = lambda t: {k: float("%.10g" % v) for k, v in t.items()}
for p in ("p1", "p2"):
    a, b = f"{W}/old-{p}", f"{W}/new-{p}"
    ra, rb = (list(csv.DictReader(open(d + "/metrics.csv"))) for d in (a, b))
    assert len(ra) == len(rb), (p, len(ra), len(rb))
    for x, y in zip(ra, rb):
        for k in x:
            if k in ("epoch", "split", "loss", "final", "eval_users") or "@" in k:
                assert x[k] == y[k], (p, k, x[k], y[k])
    sa, sb = (json.load(open(d + "/summary.json")) for d in (a, b))
    assert r10(sa["test"]) == r10(sb["test"]) and sa["best_epoch"] == sb["best_epoch"], p
    assert open(a + "/topk.tsv").read() == open(b + "/topk.tsv").read(), p
    print(f"{p}: identical ({len(ra)} metric rows, topk.tsv, test ndcg@20 {sb['test']['ndcg@20']:.10g})")
PY
echo "| pair | P | old s/epoch | new s/epoch | new / old |"
echo "|---|---|---|---|---|"
S=(--train.epochs 40 --eval.every 40 --eval.users 100 --output.embeddings false --output.checkpoint false)
for i in $(seq 1 "$PAIRS"); do
  for tag in old new; do
    bin=$OLD; [[ $tag == new ]] && bin=$NEW
    "$bin" "${C[@]}" --data "$DATA" "${S[@]}" --out "$W/s-$tag-p1-$i" >/dev/null 2>&1
    OMP_NUM_THREADS=1 mpirun -np 2 "$bin" "${C[@]}" --partition "$W/p2" "${S[@]}" --out "$W/s-$tag-p2-$i" >/dev/null 2>&1
  done
  for p in p1 p2; do
    python3 - "$W/s-old-$p-$i" "$W/s-new-$p-$i" "$i" "${p#p}" <<'PY'
import json, sys
a, b = (json.load(open(d + "/summary.json"))["seconds_per_epoch"] for d in sys.argv[1:3])
print(f"| {sys.argv[3]} | {sys.argv[4]} | {a:.4f} | {b:.4f} | {b / a:.3f} |")
PY
  done
done
