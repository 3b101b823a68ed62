#!/usr/bin/env bash
# What overlapping each layer's halo exchange with its interior edges saves (issue 10 §3), measured:
# the same P-rank training run with model.overlap = false and = true, alternated REPS times in
# one session (so both see the same machine), with the correctness check next to the timing
# (the two runs' final loss and test NDCG@20 must agree to float noise: only the order of the
# edge sums changes).
# Usage: bash bench/overlap.sh DATA WORKDIR [P] [REPS] [EPOCHS] [THREADS]
#   DATA: a dataset directory (e.g. ../shared/data/gowalla) or an existing partition directory.
# Prints one CSV row per run and a summary (median s/epoch per mode, ratio); writes
# WORKDIR/overlap.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:?data}; W=${2:?workdir}; P=${3:-2}; REPS=${4:-3}; EPOCHS=${5:-10}; THREADS=${6:-1}
CONFIG=configs/gowalla.ini  # L = 3, d = 64
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PY=/usr/bin/python3
mkdir -p "$W"
if [[ -f $DATA/meta.json ]]; then
  PART=$DATA
else
  PART=$W/$(basename "$DATA")-P$P
  [[ -f $PART/meta.json ]] || ./build/tkg-partition --data "$DATA" --parts "$P" --out "$PART" --force --quiet >/dev/null
fi
echo "# bench/overlap.sh $DATA P=$P reps=$REPS epochs=$EPOCHS threads=$THREADS $(date -u +%F' '%H:%M) UTC, commit $(git rev-parse --short HEAD)"
CSV=$W/overlap.csv
echo "overlap,rep,seconds_per_epoch,comm_s_max,compute_s_max,compute_s_min,final_loss,ndcg@20,peak_rss_mb_max" > "$CSV.tmp"
for rep in $(seq 1 "$REPS"); do
  for ov in false true; do
    out=$W/run-$ov-$rep
    launch/tkg-run -n "$P" --launcher mpirun --threads "$THREADS" -- ./build/tkg-train --config "$CONFIG" \
      --partition "$PART" --train.epochs "$EPOCHS" --eval.every "$EPOCHS" --eval.users 1000 --model.overlap "$ov" \
      --output.embeddings false --output.checkpoint false --output.progress false --out "$out" > "$out.log" 2>&1 ||
      { echo "run $out failed:"; tail -20 "$out.log"; exit 1; }
    $PY - "$out" "$ov" "$rep" >> "$CSV.tmp" <<'EOF'
import csv, json, sys
out, ov, rep = sys.argv[1:]
s = json.load(open(f"{out}/summary.json"))
pr = s["per_rank"]
rows = [r for r in csv.DictReader(open(f"{out}/metrics.csv")) if r["final"] == "1"]
print(f"{ov},{rep},{s['seconds_per_epoch']:.4f},{max(pr['comm_seconds_per_epoch']):.4f},"
      f"{max(pr['compute_seconds_per_epoch']):.4f},{min(pr['compute_seconds_per_epoch']):.4f},"
      f"{float(rows[-1]['loss']):.8f},{s['test']['ndcg@20']:.8f},{s['peak_rss_mb']:.1f}")
EOF
    tail -1 "$CSV.tmp"
  done
done
mv "$CSV.tmp" "$CSV"
$PY - "$CSV" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by = {m: [r for r in rows if r["overlap"] == m] for m in ("false", "true")}
med = {m: statistics.median(float(r["seconds_per_epoch"]) for r in by[m]) for m in by}
spread = {m: (min(float(r["seconds_per_epoch"]) for r in by[m]), max(float(r["seconds_per_epoch"]) for r in by[m])) for m in by}
comm = {m: statistics.median(float(r["comm_s_max"]) for r in by[m]) for m in by}
for m in by:
    print(f"overlap={m}: median {med[m]:.4f} s/epoch (min {spread[m][0]:.4f}, max {spread[m][1]:.4f}), "
          f"communication (slowest rank) {comm[m]:.4f} s/epoch, peak RSS "
          f"{statistics.median(float(r['peak_rss_mb_max']) for r in by[m]):.0f} MiB")
print(f"ratio overlap/no-overlap: {med['true'] / med['false']:.3f} (saves {med['false'] - med['true']:.4f} s/epoch)")
# Runs alternate, so each repeat's pair saw the same machine: the paired ratios and their spread.
pairs = sorted(float(t["seconds_per_epoch"]) / float(f["seconds_per_epoch"]) for f, t in zip(by["false"], by["true"]))
print(f"paired ratios (overlap/no-overlap, per repeat): median {statistics.median(pairs):.3f}, "
      f"min {pairs[0]:.3f}, max {pairs[-1]:.3f}, {sum(p < 1 for p in pairs)} of {len(pairs)} below 1")
lf = {float(r["final_loss"]) for r in by["false"]}; lt = {float(r["final_loss"]) for r in by["true"]}
nf = {float(r["ndcg@20"]) for r in by["false"]}; nt = {float(r["ndcg@20"]) for r in by["true"]}
dl = max(abs(a - b) / abs(a) for a in lf for b in lt); dn = max(abs(a - b) for a in nf for b in nt)
print(f"check: final loss relative difference {dl:.2e}, NDCG@20 difference {dn:.2e}")
if dl > 1e-4 or dn > 2e-3:
    sys.exit("overlapped and plain runs disagree beyond float noise")
EOF
