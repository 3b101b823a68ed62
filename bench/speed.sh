#!/usr/bin/env bash
# CPU speed of tkg-train (1 rank, paper settings, full batch) side by side, in one run:
#   - this machine's copy bandwidth (LibTorch copy_ of 1 GiB, 2 threads, via python3-torch);
#   - the official PyTorch implementation (optional: OFFICIAL="bash /path/run.sh", a runner taking
#     `timing DATASET EPOCHS` and printing `OFFICIAL ... s_per_epoch=... peak_rss_mb=...`; its code
#     is not part of this repository: docs/reproduction.md says how it was set up);
#   - an older tkg-train (optional: OLD_BIN=/path/to/tkg-train) as the correctness baseline: the
#     same seed must give the same metrics after EPOCHS epochs, and the top-K lists are compared;
#   - this build's tkg-train with the phase profile (TKG_PROFILE=1): where an epoch goes, and the
#     layer kernels' achieved bandwidth and FLOP rate.
# Usage: [OFFICIAL=...] [OLD_BIN=...] bash bench/speed.sh [EPOCHS] [DATASETS]   (idle machine)
#   DATASETS: "Ali-Display gowalla" (default); EPOCHS: 40 (the official runner uses 11).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-40}
DATASETS=${2:-"Ali-Display gowalla"}
BIN=${TKG_BIN:-./build/tkg-train}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
PY=/usr/bin/python3

echo "# bench/speed.sh $(date -u +%F' '%H:%M) UTC, commit $(git rev-parse --short HEAD), $(nproc) cores, EPOCHS=$EPOCHS"
"$PY" - <<'PY' || echo "copy bandwidth: python3-torch missing"
import time, torch
torch.set_num_threads(2)
a = torch.empty(1 << 28); a.fill_(1.0); b = torch.empty_like(a); b.copy_(a)
best = 1e9
for _ in range(5):
    t = time.perf_counter(); b.copy_(a); best = min(best, time.perf_counter() - t)
print(f"COPY bytes=1GiB read+write GB/s={2 * a.numel() * 4 / best / 1e9:.1f} (best of 5, 2 threads)")
PY

for ds in $DATASETS; do
  case $ds in
    Ali-Display) cfg=configs/ali-display.ini ;;
    gowalla) cfg=configs/gowalla.ini ;;
    *) echo "unknown dataset $ds" >&2; exit 2 ;;
  esac
  if [[ -n ${OFFICIAL:-} ]]; then
    oe=11; [[ $ds == gowalla ]] && oe=4
    $OFFICIAL timing "$ds" "$oe" 2>&1 | grep '^OFFICIAL' || echo "OFFICIAL dataset=$ds failed"
  fi
  run() {  # BIN NAME [env]
    local b=$1 name=$2; shift 2
    env "$@" "$b" --config "$cfg" --train.epochs "$EPOCHS" --eval.every "$EPOCHS" --output.progress false \
      --out "$W/$ds-$name" > "$W/$ds-$name.log" 2>&1
  }
  [[ -n ${OLD_BIN:-} ]] && run "$OLD_BIN" old
  run "$BIN" new TKG_PROFILE=1
  "$PY" - "$W" "$ds" "$cfg" "${OLD_BIN:+old}" <<'PY'
import csv, json, sys, os
import numpy as np
W, ds, cfg, old = sys.argv[1:5]
def rows(name):
    return list(csv.DictReader(open(f"{W}/{ds}-{name}/metrics.csv")))
def summ(name):
    return json.load(open(f"{W}/{ds}-{name}/summary.json"))
new = summ("new"); r_new = rows("new")
print(f"RUN {ds} new s_per_epoch={new['seconds_per_epoch']:.4f} valid_eval_s={float(r_new[0]['eval_s']):.3f} "
      f"final_eval_s={new['final_eval_seconds']:.3f} peak_rss_mb={new['peak_rss_mb']:.0f} threads={new['threads_per_rank']} "
      f"test_ndcg20={new['test']['ndcg@20']:.6f}")
if old:
    o = summ("old"); r_old = rows("old")
    keys = [k for k in r_new[0] if "@" in k or k == "loss"]
    same = all(a[k] == b[k] for a, b in zip(r_new, r_old) for k in keys) and len(r_new) == len(r_old)
    def lists(name):
        return [l.rstrip("\n") for l in open(f"{W}/{ds}-{name}/topk.tsv")]
    ln, lo = lists("new"), lists("old")
    diff = [k for k, (a, b) in enumerate(zip(ln, lo)) if a != b]
    # For lists that differ: the largest score gap between the items that swapped (rounding of the
    # score matrix product, not a ranking change).
    gap = 0.0
    if diff:
        U = np.load(f"{W}/{ds}-new/embeddings/users.npy"); I = np.load(f"{W}/{ds}-new/embeddings/items.npy")
        for k in diff:
            u, a = ln[k].split("\t"); _, b = lo[k].split("\t")
            a = [int(x) for x in a.split(",")]; b = [int(x) for x in b.split(",")]
            s = U[int(u)].astype(np.float64) @ I.T.astype(np.float64)
            for x, y in zip(a, b):
                if x != y: gap = max(gap, abs(s[x] - s[y]) / max(1e-30, abs(s[x])))
    print(f"RUN {ds} old s_per_epoch={o['seconds_per_epoch']:.4f} valid_eval_s={float(r_old[0]['eval_s']):.3f} "
          f"final_eval_s={o['final_eval_seconds']:.3f} peak_rss_mb={o['peak_rss_mb']:.0f}")
    print(f"CHECK {ds} metrics_identical={same} topk_lists_differing={len(diff)}/{len(ln)} max_rel_score_gap_of_swaps={gap:.1e} "
          f"epoch_speedup={o['seconds_per_epoch'] / new['seconds_per_epoch']:.2f}x "
          f"valid_eval_speedup={float(r_old[0]['eval_s']) / float(r_new[0]['eval_s']):.2f}x")
# Where an epoch goes, and the layer kernels' rates.
prof = {}
for line in open(f"{W}/{ds}-new/profile.txt").read().splitlines()[1:]:
    p = line.split(); prof[p[0]] = (float(p[1]), float(p[2]), int(p[3]))
print(f"PROFILE {ds} (s/epoch): " + " ".join(f"{k}={v[1]:.4f}" for k, v in prof.items()))
# Edges of the layer graph: distinct train pairs, both directions; L layers; d = 64.
data = [l for l in open(cfg) if l.startswith("dir")][0].split("=")[1].strip()
L = int([l for l in open(cfg) if l.startswith("layers")][0].split("=")[1])
pairs = set()
for line in open(os.path.join(data, "train.txt")):
    p = line.split()
    if len(p) >= 2 and all(x.isdigit() for x in p):
        u = int(p[0])
        for i in p[1:]: pairs.add((u, int(i)))
nnz, d = 2 * len(pairs), 64
n = max(u for u, _ in pairs) + 1 + max(i for _, i in pairs) + 1
# Bytes a layer must move if nothing were cached: per edge the neighbour's row (4d), its index,
# norm, user index (24 B) and the saved scalars (12 B); per node its own row in and out (8d).
# Forward: 1 dot + 1 axpy per edge (4d flops); backward: 1 dot + 1 axpy by rows, 1 axpbz by columns
# (10d flops), reading 2 rows per edge in the column pass.
fwd_b = nnz * (4 * d + 36) + n * 8 * d; bwd_b = nnz * (3 * 4 * d + 48) + n * 12 * d
fwd_f = nnz * 4 * d; bwd_f = nnz * 10 * d
tf = prof["layer.forward"][0] / prof["layer.forward"][2]; tb = prof["layer.backward"][0] / prof["layer.backward"][2]  # per layer call
print(f"KERNELS {ds} nnz={nnz} per layer: forward {tf * 1e3:.2f} ms {fwd_b / tf / 1e9:.1f} GB/s {fwd_f / tf / 1e9:.1f} GFLOP/s; "
      f"backward {tb * 1e3:.2f} ms {bwd_b / tb / 1e9:.1f} GB/s {bwd_f / tb / 1e9:.1f} GFLOP/s")
PY
done
