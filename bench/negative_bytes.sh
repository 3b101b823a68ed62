#!/usr/bin/env bash
# Bytes sent per epoch (all ranks), split into halo exchanges and negative fetches, for the
# current build and, if OLD_BIN is set, for an older tkg-train (whose metrics have only the
# total: its negatives share = its total − the halo bytes, which the two builds send alike).
# Usage: [OLD_BIN=/path/to/old/tkg-train] bash bench/negative_bytes.sh DATASET CONFIG "2 4" [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:?dataset}; CONFIG=${2:?config}; RANKS=${3:-"2 4"}; EPOCHS=${4:-3}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
echo "### $(basename "$DATA"), $CONFIG, $EPOCHS epochs, full batch, exact sampler"
echo
echo "| P | build | MiB/epoch halo | negatives | total | negatives fetched/epoch (rows) | s/epoch | test ndcg@20 |"
echo "|---|---|---|---|---|---|---|---|"
for P in $RANKS; do
  ./build/tkg-partition --data "$DATA" --parts "$P" --quiet --out "$W/p$P" >/dev/null
  for b in new old; do
    BIN=./build/tkg-train
    if [[ $b == old ]]; then [[ -n ${OLD_BIN:-} ]] || continue; BIN=$OLD_BIN; fi
    OMP_NUM_THREADS=1 launch/tkg-run -n "$P" --launcher mpirun --threads 1 -- "$BIN" --config "$CONFIG" --partition "$W/p$P" \
      --train.epochs "$EPOCHS" --eval.every "$EPOCHS" --output.embeddings false --output.checkpoint false \
      --output.progress false --out "$W/r$P-$b" >"$W/log" 2>&1 || { cat "$W/log"; exit 1; }
  done
  python3 - "$W" "$P" "$EPOCHS" <<'PY'
import csv, json, os, sys
W, P, E = sys.argv[1], sys.argv[2], int(sys.argv[3])
MiB = 2 ** 20
def row(b):
    d = f"{W}/r{P}-{b}"
    if not os.path.exists(d):
        return None
    r = list(csv.DictReader(open(d + "/metrics.csv")))[:-1]  # the last row is the final test evaluation
    s = json.load(open(d + "/summary.json"))
    total = sum(float(x["bytes_sent"]) for x in r) / E
    halo = sum(float(x["bytes_halo"]) for x in r) / E if "bytes_halo" in r[0] else None
    neg = sum(float(x["bytes_negatives"]) for x in r) / E if "bytes_negatives" in r[0] else None
    fetched = sum(float(x["negatives_fetched"]) for x in r) / E if "negatives_fetched" in r[0] else None
    return dict(total=total, halo=halo, neg=neg, fetched=fetched, spe=s["seconds_per_epoch"], ndcg=s["test"]["ndcg@20"])
new, old = row("new"), row("old")
print(f"| {P} | this commit | {new['halo']/MiB:.1f} | {new['neg']/MiB:.1f} | {new['total']/MiB:.1f} | {new['fetched']:.0f} | {new['spe']:.3f} | {new['ndcg']:.4f} |")
if old:
    print(f"| {P} | before (OLD_BIN) | {new['halo']/MiB:.1f} | {(old['total'] - new['halo'])/MiB:.1f} | {old['total']/MiB:.1f} | all items | {old['spe']:.3f} | {old['ndcg']:.4f} |")
    print(f"| {P} | ratio | | {new['neg']/(old['total'] - new['halo']):.3f} | {new['total']/old['total']:.3f} | | | |")
PY
done
echo
