#!/usr/bin/env bash
# Resumable checkpoints end to end (src/run/resume): a run stopped by a signal and resumed ends
# with exactly the uninterrupted run's metrics; resuming on another P continues from the same
# state; a damaged newest checkpoint falls back to the previous one; incompatible options and a
# failed write stop with a clear message and leave the previous checkpoint usable.
# Usage: resume_e2e.sh BUILD_DIR SOURCE_DIR SHARED_DATA_DIR
set -u
BUILD=$1; SRC=$2; DATA=$3
T=$(mktemp -d)
[[ -n ${TKG_KEEP_TMP:-} ]] && echo "temp: $T" || trap 'rm -rf "$T"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
fails=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
cmp_runs_test() {  # cmp_runs_test REF RUN TOL: test metrics within TOL
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
a, b = (json.load(open(d + "/summary.json"))["test"] for d in sys.argv[1:3])
for k, v in a.items():
    assert abs(b[k] - v) < float(sys.argv[3]), (k, v, b[k])
PY
}
BASE=(--config "$SRC/configs/smoke.ini" --data "$DATA/Ali-Display" --eval.every 2 --output.embeddings false --output.checkpoint_interval 0)
RUN=("${BASE[@]}" --model.dim 16 --train.epochs 8)

"$BUILD/tkg-train" "${RUN[@]}" --out "$T/a" >"$T/a.log" 2>&1 || { fail "uninterrupted run"; cat "$T/a.log"; }
# Stopped by SIGUSR1 after epoch 5 (raised on rank 0 by the test hook): checkpoint, exit 75.
TKG_SIGNAL_AT_EPOCH=5 "$BUILD/tkg-train" "${RUN[@]}" --out "$T/b" >"$T/b1.log" 2>&1
rc=$?
[[ $rc -eq 75 && -f $T/b/checkpoints/epoch-000005/manifest.json && -f $T/b/checkpoints/epoch-000004/manifest.json ]] \
  && grep -q "stop signal: checkpoint of epoch 5" "$T/b1.log" && pass "signal: checkpoint and exit 75" \
  || { fail "signal (rc $rc)"; cat "$T/b1.log"; ls -R "$T/b"; }
for d in c d; do mkdir -p "$T/$d" && cp -r "$T/b/checkpoints" "$T/$d/"; done
"$BUILD/tkg-train" "${RUN[@]}" --train.resume auto --out "$T/b" >"$T/b2.log" 2>&1 || { fail "resume"; cat "$T/b2.log"; }
grep -q "resumed from .*epoch-000005 (epoch 5" "$T/b2.log" && pass "resumed from the newest checkpoint" || fail "resume message"
python3 - "$T/a" "$T/b" <<'PY' && pass "resumed run = uninterrupted run (metrics, best epoch, every row)" || fail "resumed run differs"
import csv, json, sys
a, b = (json.load(open(d + "/summary.json")) for d in sys.argv[1:])
assert a["best_epoch"] == b["best_epoch"] and a["epochs_run"] == b["epochs_run"] == 8, (a["best_epoch"], b["best_epoch"])
assert a["test"] == b["test"], (a["test"], b["test"])
ra, rb = (list(csv.DictReader(open(d + "/metrics.csv"))) for d in sys.argv[1:])
assert len(ra) == len(rb) == 5, (len(ra), len(rb))
for x, y in zip(ra, rb):
    for k in x:
        if k in ("epoch", "split", "loss", "final") or "@" in k:
            assert x[k] == y[k], (k, x[k], y[k])
PY
# LightGCN's protocol pieces (Adam's moments, the user-uniform sampler's steps, several negatives
# per line, a warm-up): stopped and resumed, the same test metrics as uninterrupted.
L=(--train.optimizer adam --train.lr 0.01 --train.sampling users --train.negatives 2 --train.batch_size 40000 --train.lr_warmup 3)
"$BUILD/tkg-train" "${RUN[@]}" "${L[@]}" --out "$T/la" >"$T/la.log" 2>&1 || { fail "Adam / users run"; cat "$T/la.log"; }
TKG_SIGNAL_AT_EPOCH=5 "$BUILD/tkg-train" "${RUN[@]}" "${L[@]}" --out "$T/lb" >"$T/lb1.log" 2>&1
"$BUILD/tkg-train" "${RUN[@]}" "${L[@]}" --train.resume auto --out "$T/lb" >"$T/lb2.log" 2>&1 || { fail "Adam / users resume"; cat "$T/lb2.log"; }
grep -q "resumed from .*epoch-000005" "$T/lb2.log" && python3 - "$T/la" "$T/lb" <<'PY' && pass "Adam, users sampler, 2 negatives: resumed run = uninterrupted run" || fail "Adam / users resume differs"
import json, sys
a, b = (json.load(open(d + "/summary.json")) for d in sys.argv[1:])
assert a["optimizer"] == "adam" and a["negatives_per_line"] == 2, (a["optimizer"], a["negatives_per_line"])
assert a["best_epoch"] == b["best_epoch"] and a["test"] == b["test"], (a["test"], b["test"])
PY
# GNAQ: a checkpoint after quantizing holds codes, levels, their moments and the RAU cadence.
Q=(--quant.bits 2 --quant.warmup_epochs 3 --quant.rau paper --quant.rau_every 2)
"$BUILD/tkg-train" "${RUN[@]}" "${Q[@]}" --out "$T/qa" >"$T/qa.log" 2>&1 || { fail "GNAQ run"; cat "$T/qa.log"; }
TKG_SIGNAL_AT_EPOCH=5 "$BUILD/tkg-train" "${RUN[@]}" "${Q[@]}" --out "$T/qb" >"$T/qb1.log" 2>&1
mkdir -p "$T/qs" && cp -r "$T/qb/checkpoints" "$T/qs/"  # its epoch-5 checkpoint, kept for the runs on other P
"$BUILD/tkg-train" "${RUN[@]}" "${Q[@]}" --train.resume auto --out "$T/qb" >"$T/qb2.log" 2>&1 || { fail "GNAQ resume"; cat "$T/qb2.log"; }
[[ -f $T/qb/checkpoints/epoch-000008/codes.npy ]] && python3 - "$T/qa" "$T/qb" <<'PY' && pass "GNAQ resumed run = uninterrupted run" || fail "GNAQ resume differs"
import json, sys
a, b = (json.load(open(d + "/summary.json")) for d in sys.argv[1:])
assert a["best_epoch"] == b["best_epoch"] and a["test"] == b["test"], (a["test"], b["test"])
PY
# The GNAQ run's model (its last checkpoint's kept best copy: codes + levels) evaluated by a new
# run on 2 ranks with train.init_from: the run's test metrics.
OMP_NUM_THREADS=1 mpirun --oversubscribe -np 2 "$BUILD/tkg-train" "${BASE[@]}" --model.dim 16 "${Q[@]}" --train.init_from "$T/qa" --train.epochs 0 \
  --out "$T/qev" >"$T/qev.log" 2>&1 && grep -q "model loaded from .*(the kept best copy" "$T/qev.log" \
  && cmp_runs_test "$T/qa" "$T/qev" 1e-4 && pass "GNAQ model from its checkpoint (init_from, P=2)" || { fail "GNAQ init_from"; cat "$T/qev.log"; }
# The same checkpoint resumed on 2 ranks (another partition): the same state, to float tolerance.
OMP_NUM_THREADS=1 mpirun --oversubscribe -np 2 "$BUILD/tkg-train" "${RUN[@]}" --train.resume auto --out "$T/c" \
  >"$T/c.log" 2>&1 || { fail "resume on P=2"; cat "$T/c.log"; }
python3 - "$T/b" "$T/c" <<'PY' && pass "resume on P=2 = resume on P=1" || fail "resume on P=2 differs"
import csv, json, sys
b, c = (json.load(open(d + "/summary.json")) for d in sys.argv[1:])
assert c["ranks"] == 2 and b["best_epoch"] == c["best_epoch"]
for k, v in b["test"].items():
    assert abs(c["test"][k] - v) < 5e-4, (k, v, c["test"][k])
# The P=2 run directory holds only the copied checkpoints: compare the rows it wrote (epochs 6, 8, test).
rb = {(r["epoch"], r["split"], r["final"]): r for r in csv.DictReader(open(sys.argv[1] + "/metrics.csv"))}
rc = list(csv.DictReader(open(sys.argv[2] + "/metrics.csv")))
assert [r["epoch"] for r in rc] == ["6", "8", "8"], [r["epoch"] for r in rc]
for y in rc:
    x = rb[(y["epoch"], y["split"], y["final"])]
    assert abs(float(x["loss"]) - float(y["loss"])) < 1e-5 * abs(float(x["loss"])), (x["loss"], y["loss"])
    assert abs(float(x["ndcg@20"]) - float(y["ndcg@20"])) < 5e-4, (x["ndcg@20"], y["ndcg@20"])
PY
# Resume on other P (DESIGN §4: checkpoints by global id): 1 -> 3 from the P = 1 checkpoint of
# epoch 5, and 2 -> 1 from the P = 2 run's checkpoint of epoch 6; both end as the P = 1 resumed run
# (fp32); the same for GNAQ (codes, levels, their moments).
cmp_runs() {  # cmp_runs REF RUN TOL: same best epoch and test metrics within TOL
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
a, b = (json.load(open(d + "/summary.json")) for d in sys.argv[1:3])
assert a["best_epoch"] == b["best_epoch"], (a["best_epoch"], b["best_epoch"])
for k, v in a["test"].items():
    assert abs(b["test"][k] - v) < float(sys.argv[3]), (k, v, b["test"][k])
PY
}
resume_on() {  # resume_on P SRC EPOCH OUT [options]: SRC's checkpoint of EPOCH resumed on P ranks into OUT
  local P=$1 src=$2 ep=$3 out=$4 name
  shift 4
  name=epoch-$(printf %06d "$ep")
  mkdir -p "$out/checkpoints" && cp -r "$src/checkpoints/$name" "$out/checkpoints/" || return 1
  OMP_NUM_THREADS=1 mpirun --oversubscribe -np "$P" "$BUILD/tkg-train" "${RUN[@]}" "$@" --train.resume auto --out "$out" \
    >"$out.log" 2>&1 && grep -q "resumed from .*$name (epoch $ep, written by" "$out.log"
}
resume_on 3 "$T/d" 5 "$T/r13" && cmp_runs "$T/b" "$T/r13" 5e-4 && pass "fp32: P=1 checkpoint resumed on P=3" \
  || { fail "fp32 1 -> 3"; cat "$T/r13.log"; }
resume_on 1 "$T/c" 6 "$T/r21" && grep -q "written by 2 rank(s), this run has 1" "$T/r21.log" && cmp_runs "$T/b" "$T/r21" 5e-4 \
  && pass "fp32: P=2 checkpoint resumed on P=1" || { fail "fp32 2 -> 1"; cat "$T/r21.log"; }
resume_on 2 "$T/qs" 5 "$T/q12" "${Q[@]}" && cmp_runs "$T/qb" "$T/q12" 2e-3 && pass "GNAQ: P=1 checkpoint resumed on P=2" \
  || { fail "GNAQ 1 -> 2"; cat "$T/q12.log"; }
resume_on 3 "$T/qs" 5 "$T/q13" "${Q[@]}" && cmp_runs "$T/qb" "$T/q13" 2e-3 && pass "GNAQ: P=1 checkpoint resumed on P=3" \
  || { fail "GNAQ 1 -> 3"; cat "$T/q13.log"; }
resume_on 1 "$T/q12" 6 "$T/q21" "${Q[@]}" && grep -q "written by 2 rank(s), this run has 1" "$T/q21.log" \
  && cmp_runs "$T/qb" "$T/q21" 2e-3 && pass "GNAQ: P=2 checkpoint resumed on P=1" || { fail "GNAQ 2 -> 1"; cat "$T/q21.log"; }
# A damaged newest checkpoint: skipped with a warning, the previous one is used.
python3 - "$T/d/checkpoints/epoch-000005/table.npy" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x40; open(p, "wb").write(b)
PY
cp -r "$T/d/checkpoints/epoch-000005" "$T/damaged"
"$BUILD/tkg-train" "${RUN[@]}" --train.resume auto --out "$T/d" >"$T/d.log" 2>&1 || { fail "resume past damage"; cat "$T/d.log"; }
grep -q "skipping a damaged checkpoint: .*epoch-000005/table.npy: checksum mismatch" "$T/d.log" \
  && grep -q "resumed from .*epoch-000004" "$T/d.log" && pass "damaged checkpoint skipped" || { fail "damaged checkpoint"; cat "$T/d.log"; }
python3 - "$T/a" "$T/d" <<'PY' && pass "resumed from the previous checkpoint: same metrics" || fail "fallback metrics differ"
import json, sys
a, d = (json.load(open(x + "/summary.json")) for x in sys.argv[1:])
assert a["test"] == d["test"]
PY
# Naming a damaged checkpoint explicitly stops the run; so do incompatible options, and a
# manifest naming a missing file.
"$BUILD/tkg-train" "${RUN[@]}" --train.resume "$T/damaged" --out "$T/x" >"$T/e1" 2>&1
[[ $? -eq 2 ]] && grep -q "checksum mismatch" "$T/e1" && pass "named damaged checkpoint refused" || { fail "named damaged"; cat "$T/e1"; }
"$BUILD/tkg-train" "${BASE[@]}" --model.dim 8 --train.epochs 8 --train.resume auto --out "$T/d" >"$T/e2" 2>&1
[[ $? -eq 2 ]] && grep -q "checkpoint was written with model.dim = 16, this run has 8" "$T/e2" \
  && pass "incompatible options refused" || { fail "incompatible options"; cat "$T/e2"; }
cp -r "$T/b/checkpoints/epoch-000008" "$T/short" && truncate -s -100 "$T/short/table.npy"
"$BUILD/tkg-train" "${RUN[@]}" --train.resume "$T/short" --out "$T/x" >"$T/e6" 2>&1
[[ $? -eq 2 ]] && grep -q "table.npy: has .* bytes, the manifest says .* (truncated?)" "$T/e6" && pass "truncated file refused" \
  || { fail "truncated file"; cat "$T/e6"; }
cp -r "$T/b/checkpoints/epoch-000008" "$T/missing" && rm "$T/missing/beta.npy"
"$BUILD/tkg-train" "${RUN[@]}" --train.resume "$T/missing" --out "$T/x" >"$T/e5" 2>&1
[[ $? -eq 2 ]] && grep -q "beta.npy: file named in the manifest is missing" "$T/e5" && pass "missing file refused" \
  || { fail "missing file"; cat "$T/e5"; }
# A failed write (a file-size limit under the checkpoint's size; SIGXFSZ ignored, so writes fail
# with EFBIG) stops with a clear error and leaves the previous checkpoint usable.
BIG=("${BASE[@]}" --model.dim 256)
"$BUILD/tkg-train" "${BIG[@]}" --train.epochs 2 --out "$T/e" >"$T/e3a" 2>&1 || { fail "dim-256 run"; cat "$T/e3a"; }
(trap '' XFSZ; ulimit -f 20000; exec "$BUILD/tkg-train" "${BIG[@]}" --train.epochs 4 --train.resume auto --out "$T/e") >"$T/e3" 2>&1
rc=$?
[[ $rc -eq 2 ]] && grep -q "cannot write a checkpoint: .*table.npy: cannot write .npy header" "$T/e3" \
  && [[ -f $T/e/checkpoints/epoch-000002/manifest.json ]] \
  && pass "failed write: clear error, previous checkpoint intact" || { fail "failed write (rc $rc)"; cat "$T/e3"; }
"$BUILD/tkg-train" "${BIG[@]}" --train.epochs 4 --train.resume auto --out "$T/e" >"$T/e4" 2>&1 \
  && grep -q "resumed from .*epoch-000002" "$T/e4" && pass "resume after a failed write" || { fail "resume after failed write"; cat "$T/e4"; }

echo "resume_e2e: $fails failure(s)"
[[ $fails -eq 0 ]]
