#!/usr/bin/env bash
# End-to-end tkg-train: outputs on 1 rank, the same test metrics on 2 ranks (dataset partitioned
# on the fly, and from a tkg-partition directory), clear errors for bad configs.
# Usage: train_e2e.sh BUILD_DIR SOURCE_DIR SHARED_DATA_DIR
set -u
BUILD=$(cd "$1" && pwd); SRC=$2; DATA=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
fails=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
BASE=(--config "$SRC/configs/smoke.ini" --data "$DATA/Ali-Display" --eval.every 3 --model.dim 16)
COMMON=("${BASE[@]}" --train.epochs 6)

"$BUILD/tkg-train" "${COMMON[@]}" --out "$T/p1" >"$T/p1.log" 2>&1 && pass "1-rank run" || { fail "1-rank run"; cat "$T/p1.log"; }
python3 - "$T/p1" <<'PY' && pass "1-rank outputs" || fail "1-rank outputs"
import csv, json, sys, struct
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/metrics.csv")))
need = ["epoch", "split", "loss", "train_s", "eval_s", "comm_s", "bytes_sent"]
for k in (1, 3, 5, 10, 20):
    need += [f"precision@{k}", f"recall@{k}", f"recall_capped@{k}", f"ndcg@{k}"]
assert all(c in rows[0] for c in need), rows[0].keys()
assert [r["split"] for r in rows] == ["valid", "valid", "test"], [r["split"] for r in rows]
assert len(open(d + "/metrics.jsonl").read().splitlines()) == 3
s = json.load(open(d + "/summary.json"))
for f in ["best_epoch", "epochs_run", "seconds_per_epoch", "test", "ranks", "peak_rss_mb"]:
    assert f in s, f
assert s["epochs_run"] == 6 and s["ranks"] == 1 and 0 < s["test"]["ndcg@20"] < 1
def npy_shape(p):
    b = open(p, "rb").read()
    hl = struct.unpack("<H", b[8:10])[0]
    h = b[10:10 + hl].decode()
    shape = tuple(int(x) for x in h.split("(")[1].split(")")[0].split(",") if x.strip())
    assert len(b) == 10 + hl + 4 * shape[0] * shape[1]
    return shape
assert npy_shape(d + "/embeddings/users.npy") == (17730, 16)
assert npy_shape(d + "/embeddings/items.npy") == (10036, 16)
lines = open(d + "/topk.tsv").read().splitlines()
assert len(lines) == 17730 and lines[0].startswith("0\t") and len(lines[0].split("\t")[1].split(",")) == 20
assert [int(l.split("\t")[0]) for l in lines] == list(range(17730))
PY

# The same run on a GPU gives the CPU's test metrics (CUDA builds on GPU machines); elsewhere
# model.device = cuda is refused with a clear message and a non-zero exit.
"$BUILD/tkg-train" "${COMMON[@]}" --model.device cuda --out "$T/g1" >"$T/g1.log" 2>&1
if [[ $? -eq 0 ]]; then
  python3 - "$T/p1" "$T/g1" <<'PY' && pass "GPU run: CPU test metrics" || { fail "GPU metrics differ from CPU"; cat "$T/g1.log"; }
import json, sys
ref, s = (json.load(open(d + "/summary.json")) for d in sys.argv[1:])
assert s["device"].startswith("cuda"), s["device"]
for k, v in ref["test"].items():
    assert abs(s["test"][k] - v) <= 2e-3, (k, v, s["test"][k])
PY
else
  grep -q "model.device = cuda but this LibTorch has no CUDA or no GPU is visible" "$T/g1.log" \
    && pass "model.device = cuda refused without CUDA" || { fail "model.device = cuda without CUDA"; cat "$T/g1.log"; }
fi

# Two ranks, partitioned on the fly: the same test metrics as one rank.
OMP_NUM_THREADS=1 mpirun --oversubscribe -np 2 "$BUILD/tkg-train" "${COMMON[@]}" --out "$T/p2" >"$T/p2.log" 2>&1 \
  && pass "2-rank run" || { fail "2-rank run"; cat "$T/p2.log"; }
# Two ranks from a partition directory (random partition this time).
"$BUILD/tkg-partition" --data "$DATA/Ali-Display" --parts 2 --method random --quiet --out "$T/part2" >/dev/null
OMP_NUM_THREADS=1 mpirun --oversubscribe -np 2 "$BUILD/tkg-train" "${COMMON[@]}" --partition "$T/part2" --out "$T/p2b" \
  >"$T/p2b.log" 2>&1 && pass "2-rank run from partition dir" || { fail "2-rank run from partition dir"; cat "$T/p2b.log"; }
python3 - "$T/p1" "$T/p2" "$T/p2b" <<'PY' && pass "P=2 test metrics equal P=1" || fail "P=2 metrics differ from P=1"
import json, sys
ref = json.load(open(sys.argv[1] + "/summary.json"))
for d in sys.argv[2:]:
    s = json.load(open(d + "/summary.json"))
    assert s["ranks"] == 2 and s["best_epoch"] == ref["best_epoch"], (s["ranks"], s["best_epoch"])
    for k, v in ref["test"].items():
        assert abs(s["test"][k] - v) < 5e-4, (d, k, s["test"][k], v)
    assert open(d + "/topk.tsv").read().count("\n") == 17730
PY

# The memory plan: summary.json has it beside the measured peak; --plan-memory prints it and
# writes nothing (one process for a whole partition, or the ranks of a run); a node too small
# stops the run before training, with the options that would fit; warn runs anyway.
python3 - "$T/p2b" <<'PY' && pass "memory plan beside the measured peak" || fail "memory plan in summary.json"
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
m = s["memory_plan"]
assert m["recompute"] == "weights" and len(m["predicted_peak_mb_per_rank"]) == 2, m
assert m["largest_relative_error"] < 0.25, m
PY
"$BUILD/tkg-train" "${COMMON[@]}" --partition "$T/part2" --out "$T/plan1" --plan-memory >"$T/plan1.log" 2>&1 \
  && grep -q "rank 1: .* predicted peak" "$T/plan1.log" && grep -q "all 2 ranks on one node" "$T/plan1.log" && [[ ! -e $T/plan1 ]] \
  && pass "--plan-memory for a partition in one process" || { fail "--plan-memory, one process"; cat "$T/plan1.log"; }
OMP_NUM_THREADS=1 mpirun --oversubscribe -np 2 "$BUILD/tkg-train" "${COMMON[@]}" --partition "$T/part2" --out "$T/plan2" --plan-memory \
  >"$T/plan2.log" 2>&1 && grep -q "memory plan: rank . of 2 (the largest)" "$T/plan2.log" && [[ ! -e $T/plan2 ]] \
  && pass "--plan-memory under mpirun" || { fail "--plan-memory under mpirun"; cat "$T/plan2.log"; }
OMP_NUM_THREADS=1 TKG_MEMORY_AVAILABLE_MB=20 mpirun --oversubscribe -np 2 -x TKG_MEMORY_AVAILABLE_MB "$BUILD/tkg-train" "${COMMON[@]}" \
  --partition "$T/part2" --out "$T/small" >"$T/small.log" 2>&1
rc=$?
[[ $rc -ne 0 ]] && grep -q "memory plan: the plan needs .* MiB on the fullest node" "$T/small.log" && grep -q "GNAQ (quant.bits = 2)" "$T/small.log" \
  && [[ ! -e $T/small/summary.json ]] && pass "a plan that does not fit stops the run before training (rc $rc)" \
  || { fail "plan refusal (rc $rc)"; cat "$T/small.log"; }
OMP_NUM_THREADS=1 TKG_MEMORY_AVAILABLE_MB=20 "$BUILD/tkg-train" "${BASE[@]}" --train.epochs 1 --train.memory_check warn --out "$T/warn" \
  >"$T/warn.log" 2>&1 && grep -q "warning: the plan needs" "$T/warn.log" && [[ -f $T/warn/summary.json ]] \
  && pass "train.memory_check = warn runs anyway" || { fail "memory_check warn"; cat "$T/warn.log"; }

# config.ini holds every option with its final value: rerunning with it (from another directory)
# reproduces the run; summary.json says what built and ran it.
(cd / && "$BUILD/tkg-train" --config "$T/p1/config.ini" --out "$T/p1again" >"$T/rerun.log" 2>&1) || { fail "rerun from config.ini"; cat "$T/rerun.log"; }
python3 - "$T/p1" "$T/p1again" <<'PY' && pass "config.ini round trip" || fail "config.ini round trip"
import json, sys
a, b = (json.load(open(d + "/summary.json")) for d in sys.argv[1:])
assert a["test"] == b["test"] and a["best_epoch"] == b["best_epoch"]
ca, cb = (open(d + "/config.ini").read().replace(d, "RUNDIR") for d in sys.argv[1:])
assert ca == cb, (ca, cb)
for key in ("[model]", "device = cpu", "[output]", "checkpoint_keep = 2", "comm_timeout = 600", "lr = 0.05", "seed = 7"):
    assert key in ca, key
assert "resume" not in ca
for k in ("commit", "libtorch", "mpi", "metis", "nccl"):
    assert b["build"][k], k
assert b["command_line"].endswith("--out " + sys.argv[2]) and "slurm_job_id" in b and b["mpi_thread_level"]
PY

# The on-the-fly path partitions once, on rank 0, into the run directory; ranks load shards.
[[ -f $T/p2/partition-P2/meta.json && -f $T/p2/partition-P2/shard-00001.bin ]] \
  && [[ $(grep -c "partitioned once on rank 0" "$T/p2.log") -eq 1 && $(grep -c "^dataset:" "$T/p2.log") -eq 1 ]] \
  && pass "on-the-fly partition: once, on rank 0" || { fail "on-the-fly partition"; cat "$T/p2.log"; }
# Ranks pointed at shards of different partitions (MPMD launch) stop before training.
"$BUILD/tkg-partition" --data "$DATA/Ali-Display" --parts 2 --method hash --quiet --out "$T/part2h" >/dev/null
OMP_NUM_THREADS=1 timeout 120 mpirun --oversubscribe -np 1 "$BUILD/tkg-train" "${COMMON[@]}" --partition "$T/part2" --out "$T/x" \
  : -np 1 "$BUILD/tkg-train" "${COMMON[@]}" --partition "$T/part2h" --out "$T/x" >"$T/e11" 2>&1
rc=$?
[[ $rc -ne 0 && $rc -ne 124 ]] && grep -q "loaded a shard of another partition than rank 0" "$T/e11" \
  && pass "mixed partitions refused" || { fail "mixed partitions (rc $rc)"; cat "$T/e11"; }

# Remapped ids: string users and sparse 64-bit items; P = 1 (on the fly) and P = 2 (tkg-partition
# --remap-ids) give the same metrics, and topk.tsv and the embeddings carry the original ids.
mkdir -p "$T/strids"
for f in train valid test; do
  awk '{printf "user-%s\t%.0f\n", $1, $2 * 7919 + 4000000000000}' "$DATA/Ali-Display/$f.txt" >"$T/strids/$f.txt"
done
R=(--config "$SRC/configs/smoke.ini" --data "$T/strids" --eval.every 3 --model.dim 16 --train.epochs 3 --data.remap_ids true)
"$BUILD/tkg-train" "${R[@]}" --out "$T/r1" >"$T/r1.log" 2>&1 || { fail "remapped 1-rank run"; cat "$T/r1.log"; }
"$BUILD/tkg-partition" --data "$T/strids" --parts 2 --remap-ids --quiet --out "$T/rpart" >/dev/null || fail "tkg-partition --remap-ids"
OMP_NUM_THREADS=1 mpirun --oversubscribe -np 2 "$BUILD/tkg-train" "${R[@]}" --partition "$T/rpart" --out "$T/r2" >"$T/r2.log" 2>&1 \
  || { fail "remapped 2-rank run"; cat "$T/r2.log"; }
python3 - "$T/r1" "$T/r2" <<'PY' && pass "remapped ids: same metrics at P=1,2, original ids in the outputs" || fail "remapped ids"
import json, sys
a, b = (json.load(open(d + "/summary.json")) for d in sys.argv[1:])
for k, v in a["test"].items():
    assert abs(b["test"][k] - v) < 5e-4, (k, v, b["test"][k])
for d in sys.argv[1:]:
    lines = open(d + "/topk.tsv").read().splitlines()
    u, items = lines[0].split("\t")
    assert u.startswith("user-") and all(int(i) >= 4000000000000 and (int(i) - 4000000000000) % 7919 == 0 for i in items.split(","))
    assert sorted(l.split("\t")[0] for l in lines) == sorted(set(l.split("\t")[0] for l in lines))
# Lines in the same (dense id) order at P = 1 and 2: the parts written by two ranks join in order.
ua, ub = ([l.split("\t")[0] for l in open(d + "/topk.tsv").read().splitlines()] for d in sys.argv[1:])
assert ua == ub, "user order differs between P = 1 and P = 2"
ids = open(sys.argv[1] + "/embeddings/user_ids.txt").read().splitlines()
assert len(ids) == json.load(open(sys.argv[1] + "/summary.json"))["test"]["users"] or len(ids) > 17000, len(ids)
assert all(i.startswith("user-") for i in ids)
PY
"$BUILD/tkg-train" "${R[@]:0:8}" --out "$T/x" >"$T/e12" 2>&1
[[ $? -eq 2 ]] && grep -q "train.txt:1: expected a non-negative integer user id, got 'user-" "$T/e12" \
  && pass "string ids without remapping: clear error" || { fail "string ids without remap"; cat "$T/e12"; }

# Sampled evaluation: the same users at P = 1 and 2, a 95 % CI per metric, within 3 CI of the
# full evaluation; its top-K lists are those of the sampled users.
S=(--eval.users 3000)
"$BUILD/tkg-train" "${COMMON[@]}" "${S[@]}" --out "$T/s1" >"$T/s1.log" 2>&1 || { fail "sampled 1-rank"; cat "$T/s1.log"; }
OMP_NUM_THREADS=1 mpirun --oversubscribe -np 2 "$BUILD/tkg-train" "${COMMON[@]}" "${S[@]}" --partition "$T/part2" \
  --out "$T/s2" >"$T/s2.log" 2>&1 || { fail "sampled 2-rank"; cat "$T/s2.log"; }
grep -q "evaluation: sampled, 3000 of" "$T/s1.log" && grep -q "± " "$T/s1.log" && pass "sampled evaluation announced" \
  || { fail "sampled evaluation output"; cat "$T/s1.log"; }
python3 - "$T/p1" "$T/s1" "$T/s2" <<'PY' && pass "sampled evaluation: same at P=1,2, within its CI" || fail "sampled evaluation"
import csv, json, sys
full, s1, s2 = (json.load(open(d + "/summary.json")) for d in sys.argv[1:])
assert s1["test"]["users"] == 3000 and s1["eval_sampled_users"] == 3000, s1["test"]["users"]
for k, v in s1["test"].items():
    assert abs(s2["test"][k] - v) < 5e-4, (k, v, s2["test"][k])
    if k != "users":
        assert abs(v - full["test"][k]) <= 3 * s1["test_ci95"][k] + 1e-9, (k, v, full["test"][k], s1["test_ci95"][k])
rows = list(csv.DictReader(open(sys.argv[2] + "/metrics.csv")))
assert "ndcg@20_ci95" in rows[0] and float(rows[0]["eval_users"]) == 3000
assert open(sys.argv[2] + "/topk.tsv").read().count("\n") == 3000
assert float(rows[0]["ndcg@20_ci95"]) > 0
PY
# Progress: a long epoch's steps and an ETA under mpirun (here made frequent).
OMP_NUM_THREADS=1 mpirun --oversubscribe -np 2 "$BUILD/tkg-train" "${BASE[@]}" --train.epochs 2 --train.batch_size 5000 \
  --output.progress_every 0.001 --partition "$T/part2" --out "$T/pg" >"$T/pg.log" 2>&1 || { fail "progress run"; cat "$T/pg.log"; }
grep -q "^epoch 1/2  step [0-9]*/[0-9]*.*run ETA" "$T/pg.log" && grep -q "^epoch 2/2  loss .* s/epoch  ETA" "$T/pg.log" \
  && pass "progress lines with ETA" || { fail "progress lines"; cat "$T/pg.log"; }

# One checkpoint format: the 1-rank run's last resumable checkpoint holds its model (the kept
# best copy); train.init_from with the run directory evaluates it on 2 ranks without training:
# the same test metrics. An older run's parameter checkpoint (RUNDIR/checkpoint/: x0.npy,
# beta_logits.npy) is still read: made here from the same rows.
ls "$T"/p1/checkpoints/epoch-*/best_table.npy >/dev/null 2>&1 && [[ ! -e $T/p1/checkpoint ]] && pass "the model is in the resumable checkpoint" || fail "no resumable checkpoint with the model"
OMP_NUM_THREADS=1 mpirun --oversubscribe -np 2 "$BUILD/tkg-train" "${BASE[@]}" --train.init_from "$T/p1" \
  --train.epochs 0 --out "$T/ev" >"$T/ev.log" 2>&1 && grep -q "model loaded from .*epoch-.* (the kept best copy" "$T/ev.log" \
  || { fail "evaluate checkpoint"; cat "$T/ev.log"; }
python3 - "$T/p1" "$T/legacy" <<'PY'
import glob, json, os, shutil, sys
ck = sorted(glob.glob(sys.argv[1] + "/checkpoints/epoch-*"))[-1]
os.makedirs(sys.argv[2])
def shape(p):  # (rows, cols) from a .npy header
    h = open(p, "rb").read(128).decode("latin1")
    return tuple(int(x) for x in h.split("(")[1].split(")")[0].split(","))
shutil.copy(ck + "/best_table.npy", sys.argv[2] + "/x0.npy")
shutil.copy(ck + "/best_beta.npy", sys.argv[2] + "/beta_logits.npy")
(n, d), (nu, L) = shape(ck + "/best_table.npy"), shape(ck + "/best_beta.npy")
json.dump({"format": "tkg-checkpoint", "version": 1, "epoch": 0, "n_users": nu, "n_items": n - nu, "dim": d,
           "layers": L, "beta_columns": L}, open(sys.argv[2] + "/manifest.json", "w"))
PY
"$BUILD/tkg-train" "${BASE[@]}" --train.init_from "$T/legacy" --train.epochs 0 --out "$T/evl" >"$T/evl.log" 2>&1 \
  || { fail "evaluate an older run's checkpoint"; cat "$T/evl.log"; }
python3 - "$T/p1" "$T/ev" "$T/evl" <<'PY' && pass "checkpoint loads on another P; an older parameter checkpoint too" || fail "checkpoint metrics differ"
import json, sys
a = json.load(open(sys.argv[1] + "/summary.json"))["test"]
for d in sys.argv[2:]:
    b = json.load(open(d + "/summary.json"))["test"]
    for k, v in a.items():
        assert abs(b[k] - v) < 1e-5, (d, k, b[k], v)
PY
"$BUILD/tkg-train" "${BASE[@]}" --train.init_from "$T" --train.epochs 0 --out "$T/x" >"$T/e8" 2>&1
[[ $? -eq 2 ]] && grep -q "not a checkpoint" "$T/e8" && pass "not a checkpoint" || { fail "not a checkpoint"; cat "$T/e8"; }

# GNAQ: fp32 warm-up, then b = 2 codes; the exported model evaluates to the same metrics on 2 ranks.
Q=(--quant.bits 2 --quant.warmup_epochs 3)
"$BUILD/tkg-train" "${COMMON[@]}" "${Q[@]}" --out "$T/q1" >"$T/q1.log" 2>&1 && grep -q "GNAQ from epoch 4: b=2" "$T/q1.log" \
  && pass "GNAQ run" || { fail "GNAQ run"; cat "$T/q1.log"; }
python3 - "$T/q1/model.gnaq" <<'PY' && pass "model.gnaq size" || fail "model.gnaq size"
import os, sys
n_nodes, n_users, d, L = 17730 + 10036, 17730, 16, 4
assert os.path.getsize(sys.argv[1]) == 64 + n_nodes * (d * 2 // 8 + L) + n_users * 2 * 4 + 16  # version 2 trailer
PY
OMP_NUM_THREADS=1 mpirun --oversubscribe -np 2 "$BUILD/tkg-train" "${BASE[@]}" "${Q[@]}" --train.init_from "$T/q1/model.gnaq" \
  --train.epochs 0 --out "$T/qev" >"$T/qev.log" 2>&1 || { fail "evaluate model.gnaq"; cat "$T/qev.log"; }
python3 - "$T/q1" "$T/qev" <<'PY' && pass "model.gnaq loads on another P" || fail "model.gnaq metrics differ"
import json, sys
a = json.load(open(sys.argv[1] + "/summary.json"))
b = json.load(open(sys.argv[2] + "/summary.json"))
assert a["model_bytes_per_node"] == 8 and a["model_bytes_per_node_fp32"] == 64, a
for k, v in a["test"].items():
    assert abs(b["test"][k] - v) < 1e-5, (k, b["test"][k], v)
PY
cp "$T/q1/model.gnaq" "$T/bad.gnaq"
printf '\x55' | dd of="$T/bad.gnaq" bs=1 seek=300 conv=notrunc status=none
"$BUILD/tkg-train" "${BASE[@]}" "${Q[@]}" --train.init_from "$T/bad.gnaq" --train.epochs 0 --out "$T/x" >"$T/e9" 2>&1
[[ $? -eq 2 ]] && grep -q "checksum mismatch" "$T/e9" && pass "corrupt model.gnaq" || { fail "corrupt model.gnaq"; cat "$T/e9"; }
"$BUILD/tkg-train" "${BASE[@]}" --quant.bits 4 --train.init_from "$T/q1/model.gnaq" --train.epochs 0 --out "$T/x" >"$T/e10" 2>&1
[[ $? -eq 2 ]] && grep -q "set the same options" "$T/e10" && pass "model.gnaq option mismatch" || { fail "option mismatch"; cat "$T/e10"; }

# Errors: a clear message and a non-zero exit, on every rank count.
printf '[model]\nlayerz = 3\n' >"$T/bad.ini"
"$BUILD/tkg-train" --config "$T/bad.ini" --data "$DATA/Ali-Display" --out "$T/x" >"$T/e1" 2>&1
[[ $? -eq 2 ]] && grep -q "layerz" "$T/e1" && pass "unknown config key" || { fail "unknown config key"; cat "$T/e1"; }
OMP_NUM_THREADS=1 mpirun --oversubscribe -np 3 "$BUILD/tkg-train" "${COMMON[@]}" --partition "$T/part2" --out "$T/x" >"$T/e2" 2>&1
[[ $? -ne 0 ]] && grep -q "partition has 2 parts but the job runs 3 ranks" "$T/e2" && pass "P mismatch ends all ranks" \
  || { fail "P mismatch"; cat "$T/e2"; }
"$BUILD/tkg-train" "${COMMON[@]}" --train.lr -1 --out "$T/x" >"$T/e3" 2>&1
[[ $? -eq 2 ]] && grep -q "train.lr" "$T/e3" && pass "bad lr" || { fail "bad lr"; cat "$T/e3"; }

# A failure on one rank ends every rank, naming the rank; a rank that stops answering makes its
# peers time out instead of hanging.
TKG_FAULT_INJECT=fail:1 OMP_NUM_THREADS=1 timeout 120 mpirun --oversubscribe -np 2 -x TKG_FAULT_INJECT "$BUILD/tkg-train" \
  "${COMMON[@]}" --partition "$T/part2" --out "$T/x" >"$T/e5" 2>&1
rc=$?
[[ $rc -ne 0 && $rc -ne 124 ]] && grep -q "rank 1.*injected failure" "$T/e5" && pass "failure on one rank ends the job" \
  || { fail "failure on one rank (rc $rc)"; cat "$T/e5"; }
TKG_FAULT_INJECT=stall:0 OMP_NUM_THREADS=1 timeout 120 mpirun --oversubscribe -np 2 -x TKG_FAULT_INJECT "$BUILD/tkg-train" \
  "${COMMON[@]}" --partition "$T/part2" --train.comm_timeout 3 --out "$T/x" >"$T/e6" 2>&1
rc=$?
[[ $rc -ne 0 && $rc -ne 124 ]] && grep -q "\[rank 1\] \[error\] timeout: .* did not complete within" "$T/e6" && pass "stalled peer: bounded wait" \
  || { fail "stalled peer (rc $rc)"; cat "$T/e6"; }
# A partition that separates disconnected communities (edge cut 0: no rank has a halo), trained
# in mini-batches of 4 lines (steps that give a rank no lines): P = 2 and 3 end with one rank's
# metrics to every printed digit (the run that used to die in MPI_Testall).
for P in 2 3; do
  "$BUILD/tkg-gen" --kind powerlaw --users 400 --items 400 --edges 4000 --communities $P --p-in 1.0 --seed 3 --out "$T/dis$P" >/dev/null
  "$BUILD/tkg-partition" --data "$T/dis$P" --parts $P --out "$T/dis$P-p" --quiet >/dev/null
  DIS=(--config "$SRC/configs/smoke.ini" --train.batch_size 4 --train.epochs 2 --eval.every 1 --output.embeddings false)
  "$BUILD/tkg-train" "${DIS[@]}" --data "$T/dis$P" --out "$T/dis$P-r1" >"$T/dis$P-r1.log" 2>&1
  OMP_NUM_THREADS=1 timeout 300 mpirun --oversubscribe -np $P "$BUILD/tkg-train" "${DIS[@]}" --partition "$T/dis$P-p" \
    --out "$T/dis$P-rp" >"$T/dis$P-rp.log" 2>&1
  rc=$?
  halo=$(python3 -c "import json; print(json.load(open('$T/dis$P-p/meta.json'))['halo_total'])")
  [[ $rc -eq 0 && $halo -eq 0 ]] && diff <(grep -E "@ epoch|^ +[0-9]+ " "$T/dis$P-r1.log" | sed 's/(eval [^)]*)//') \
       <(grep -E "@ epoch|^ +[0-9]+ " "$T/dis$P-rp.log" | sed 's/(eval [^)]*)//') >/dev/null \
    && pass "no halo, mini-batches of 4 lines: P=$P = P=1 to every printed digit" \
    || { fail "disconnected graph at P=$P (rc $rc, halo $halo)"; tail -5 "$T/dis$P-rp.log"; }
done

# Rank 0's on-the-fly partition waits under its own deadline, not train.comm_timeout: with a
# 2 s communication timeout the peers outwait a partition stalled for 7 s (heartbeats), rank 0
# prints progress, and the deadline ends the job with its own message.
TKG_FAULT_INJECT=stall@partition:0 OMP_NUM_THREADS=1 timeout 120 mpirun --oversubscribe -np 2 -x TKG_FAULT_INJECT "$BUILD/tkg-train" \
  "${COMMON[@]}" --data.partition_timeout 7 --train.comm_timeout 2 --out "$T/x" >"$T/e14" 2>&1
rc=$?
[[ $rc -ne 0 && $rc -ne 124 ]] && grep -q "partitioning on rank 0: [0-9]* s of an estimated" "$T/e14" \
  && grep -q "partitioning on rank 0 did not finish within data.partition_timeout" "$T/e14" && ! grep -q "timeout: .* did not complete" "$T/e14" \
  && pass "on-the-fly partition: own deadline, progress, heartbeats" || { fail "partition deadline (rc $rc)"; cat "$T/e14"; }
# A corrupt shard on one rank: a clear error naming the file, every rank ends.
cp -r "$T/part2" "$T/part2bad"
printf '\x00\x01' | dd of="$T/part2bad/shard-00001.bin" bs=1 seek=200 conv=notrunc status=none
OMP_NUM_THREADS=1 timeout 120 mpirun --oversubscribe -np 2 "$BUILD/tkg-train" "${COMMON[@]}" --partition "$T/part2bad" \
  --out "$T/x" >"$T/e7" 2>&1
rc=$?
[[ $rc -ne 0 && $rc -ne 124 ]] && grep -q "shard-00001.bin: shard checksum mismatch" "$T/e7" && pass "corrupt shard" \
  || { fail "corrupt shard (rc $rc)"; cat "$T/e7"; }

# Faults in the middle of a step: a rank killed inside the first forward or backward halo
# exchange ends the job at once (mpirun names the lost rank), well within train.comm_timeout; a
# rank that stalls there makes its peers time out, naming the rank they wait for.
for where in forward backward; do
  start=$(date +%s)
  TKG_FAULT_INJECT=die@$where:1 OMP_NUM_THREADS=1 timeout 120 mpirun --oversubscribe -np 2 -x TKG_FAULT_INJECT \
    "$BUILD/tkg-train" "${COMMON[@]}" --partition "$T/part2" --train.comm_timeout 30 --out "$T/x" >"$T/f-$where" 2>&1
  rc=$? elapsed=$(( $(date +%s) - start ))
  [[ $rc -ne 0 && $rc -ne 124 && $elapsed -lt 30 ]] && grep -q "die at $where" "$T/f-$where" \
    && grep -q "process rank 1 .*exited on signal 9" "$T/f-$where" && pass "rank killed in the $where exchange ends the job (${elapsed} s)" \
    || { fail "rank killed in the $where exchange (rc $rc, ${elapsed} s)"; cat "$T/f-$where"; }
  TKG_FAULT_INJECT=stall@$where:1 OMP_NUM_THREADS=1 timeout 120 mpirun --oversubscribe -np 2 -x TKG_FAULT_INJECT \
    "$BUILD/tkg-train" "${COMMON[@]}" --partition "$T/part2" --train.comm_timeout 3 --out "$T/x" >"$T/s-$where" 2>&1
  rc=$?
  [[ $rc -eq 4 ]] && grep -q "\[rank 0\] \[error\] timeout: .* no answer from rank 1" "$T/s-$where" \
    && pass "rank stalled in the $where exchange: peers time out naming it" || { fail "stall in $where (rc $rc)"; cat "$T/s-$where"; }
done

# Under srun with a PMI mismatch every process sees a world of 1 while Slurm says N tasks.
SLURM_STEP_NUM_TASKS=2 "$BUILD/tkg-train" "${COMMON[@]}" --out "$T/x" >"$T/e4" 2>&1
[[ $? -eq 2 ]] && grep -q "Slurm started 2 tasks but MPI sees a world of 1" "$T/e4" && pass "world size check" \
  || { fail "world size check"; cat "$T/e4"; }

echo "train_e2e: $fails failure(s)"
[[ $fails -eq 0 ]]
