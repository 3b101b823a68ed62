#!/usr/bin/env bash
# Rank 0's share of the run's I/O phases at P = 2 (docs/distributed.md "Rank 0's work"): the
# resumable checkpoint's write, its verification on resume, and the top-K export, timed the same
# way for any build (rank 0's mkdir/rename/openat calls under strace --seccomp-bpf, which stops only
# on those, so builds without the summary's own
# timings can be measured too), plus the evaluation's bytes with each ring.
#
# Usage: bash bench/rank0_work.sh PARTITION_DIR WORKDIR [BINARY...]
#   PARTITION_DIR: a P = 2 partition (e.g. the 1M + 1M / 20M graph of bench/scale.sh)
#   BINARY: tkg-train builds to compare (default ./build/tkg-train)
# Env: EVAL_USERS (10000), CONFIG (configs/gowalla.ini)
set -euo pipefail
cd "$(dirname "$0")/.."
PART=${1:?partition dir}; W=${2:?work dir}; shift 2
BINS=("$@"); [[ ${#BINS[@]} -gt 0 ]] || BINS=(./build/tkg-train)
EVAL_USERS=${EVAL_USERS:-10000}; CONFIG=${CONFIG:-configs/gowalla.ini}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 OMP_NUM_THREADS=1
mkdir -p "$W"
COMMON=(--config "$CONFIG" --partition "$PART" --eval.every 1 --eval.users "$EVAL_USERS" --output.embeddings false
        --output.checkpoint_interval 0 --train.threads 1)

# run NAME BIN ARGS...: 2 ranks, each under strace (file system calls with microsecond times).
run() {
  local name=$1 bin=$2; shift 2
  rm -rf "$W/$name"
  mpirun -np 2 --bind-to none bash -c 'exec strace -f --seccomp-bpf -ttt -e trace=mkdir,rename,openat -o "$0.strace.$OMPI_COMM_WORLD_RANK" "$@"' \
    "$W/$name" "$bin" "${COMMON[@]}" "$@" --out "$W/$name" > "$W/$name.log" 2>&1 || { echo "run $name failed"; tail "$W/$name.log"; exit 1; }
}

# Intervals on rank 0's trace (seconds): checkpoint write, resume verification, top-K export.
phases() {
  python3 - "$1" "$2" <<'PY'
import re, sys
def events(path):
    out = []
    for line in open(path):
        m = re.match(r"\d+\s+(\d+\.\d+) (\w+)\((.*)", line)
        if m: out.append((float(m.group(1)), m.group(2), m.group(3)))
    return out
train, resume = events(sys.argv[1]), events(sys.argv[2])
def first(ev, call, pat, after=0.0):
    for t, c, a in ev:
        if c == call and t >= after and re.search(pat, a): return t
    raise SystemExit(f"no {call} matching {pat}")
c0 = first(train, "mkdir", r"checkpoints/epoch-000001\.tmp")
c1 = first(train, "rename", r"epoch-000001\.tmp\", \"[^\"]*epoch-000001\"")
# The top-K export starts when the parameter checkpoint of builds before 2026-12-03 ends; later
# builds write none (the model is in the resumable checkpoint): their own timing is in the summary.
try:
    k0 = first(train, "rename", r"checkpoint/manifest\.json")
    k1 = first(train, "rename", r'topk\.tsv"\)')
    topk = f"{k1 - k0:.3f}"
except SystemExit:
    topk = "nan"
r0 = first(resume, "openat", r"epoch-000001/manifest\.json")  # rank 0 starts checking the checkpoint
r1 = first(resume, "openat", r"metrics\.csv", r0)
print(f"{c1 - c0:.3f} {r1 - r0:.3f} {topk}")
PY
}

echo "| build | checkpoint write s (rank 0 trace) | resume verify + load s | top-K export s | summary: checkpoint / resume / top-K s | eval bytes (all ranks, 2 evaluations) | test ndcg@20 |"
echo "|---|---|---|---|---|---|---|"
for bin in "${BINS[@]}"; do
  tag=$(basename "$(dirname "$(readlink -f "$bin")")")
  run "train-$tag" "$bin" --train.epochs 1
  cp -r "$W/train-$tag/checkpoints" "$W/ckpt-$tag"
  mkdir -p "$W/resume-$tag" && rm -rf "$W/resume-$tag/checkpoints"
  run "resume-$tag" "$bin" --train.epochs 1 --train.resume "$W/ckpt-$tag/epoch-000001"
  read -r cw rv tk < <(phases "$W/train-$tag.strace.0" "$W/resume-$tag.strace.0")
  python3 - "$W/train-$tag" "$W/resume-$tag" "$tag" "$cw" "$rv" "$tk" <<'PY'
import json, sys
a, b = (json.load(open(d + "/summary.json")) for d in sys.argv[1:3])
own = " / ".join(f"{x[k]:.3f}" if k in x else "-" for x, k in ((a, "checkpoint_seconds"), (b, "resume_seconds"), (a, "topk_export_seconds")))
eb = f"{a['eval_bytes'] / 2**20:.1f} MiB" if "eval_bytes" in a else "-"
tk = "-" if sys.argv[6] == "nan" else f"{float(sys.argv[6]):.3f}"
print(f"| {sys.argv[3]} | {float(sys.argv[4]):.3f} | {float(sys.argv[5]):.3f} | {tk} | {own} | {eb} | {a['test']['ndcg@20']:.4f} |")
PY
done

# Evaluation bytes with each ring (the last build given): items travel vs users travel.
bin=${BINS[-1]}
for ring in items users; do
  rm -rf "$W/ring-$ring"
  mpirun -np 2 --bind-to none "$bin" "${COMMON[@]}" --train.epochs 1 --output.checkpoint false --eval.ring $ring \
    --out "$W/ring-$ring" > "$W/ring-$ring.log" 2>&1 || { echo "ring $ring failed"; tail "$W/ring-$ring.log"; exit 1; }
done
python3 - "$W/ring-items" "$W/ring-users" <<'PY'
import json, sys
a, b = (json.load(open(d + "/summary.json")) for d in sys.argv[1:])
print()
print("| eval.ring | bytes sent by all ranks in 2 evaluations | final test eval s | test ndcg@20 | test recall@20 |")
print("|---|---|---|---|---|")
for name, s in (("items", a), ("users", b)):
    print(f"| {name} | {s['eval_bytes'] / 2**20:.1f} MiB | {s['final_eval_seconds']:.2f} | {s['test']['ndcg@20']:.6f} | {s['test']['recall@20']:.6f} |")
assert a["test"] == b["test"], "the rings' metrics differ"
PY
