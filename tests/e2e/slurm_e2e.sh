#!/usr/bin/env bash
# Slurm end-to-end: a local single-node cluster (munge, slurmctld, slurmd), one 2-rank training
# job submitted with sbatch --parsable and polled with scontrol; checks the job's state, exit code
# and summary.json. Also checks that a PMI mismatch (srun --mpi=none) is refused, not run as two
# 1-rank jobs. Stops exactly the daemons it started.
# Usage: slurm_e2e.sh BUILD_DIR SOURCE_DIR SHARED_DATA_DIR
set -u
BUILD=$1; SRC=$2; DATA=$3
T=$(mktemp -d)
chmod 755 "$T"  # munged runs as the munge user
cleanup() { bash "$SRC/launch/local-slurm.sh" stop "$T/cluster" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT
fails=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

eval "$(bash "$SRC/launch/local-slurm.sh" start "$T/cluster")" || { echo "FAIL: cluster did not start"; exit 1; }
[[ -n ${SLURM_CONF:-} ]] && pass "cluster idle" || { echo "FAIL: no SLURM_CONF"; exit 1; }

"$BUILD/tkg-partition" --data "$DATA/Ali-Display" --parts 2 --quiet --out "$T/part" >/dev/null

# wait_job JID [LOG PATTERN] -> prints "STATE EXITCODE" once the job has left
# PENDING/RUNNING/REQUEUED (at most 240 s). With LOG and PATTERN, also only once LOG contains
# PATTERN: a job that requeues itself shows COMPLETED for a moment between its batch script's
# exit 0 and the requeue, so the state alone does not say that the second run has ended.
wait_job() {
  local line state
  for _ in $(seq 1 480); do
    line=$(scontrol show job -o "$1" 2>/dev/null)
    state=$(grep -o 'JobState=[A-Z_]*' <<<"$line" | cut -d= -f2)
    if [[ $# -ge 3 ]] && ! grep -q "$3" "$2" 2>/dev/null; then state=""; fi
    if [[ -n $state && $state != PENDING && $state != RUNNING && $state != CONFIGURING && $state != COMPLETING \
          && $state != REQUEUED && $state != REQUEUE_FED && $state != REQUEUE_HOLD ]]; then
      echo "$state $(grep -o 'ExitCode=[0-9:]*' <<<"$line" | cut -d= -f2)"
      return
    fi
    sleep 0.5
  done
  echo "TIMEOUT -"
}

cd "$SRC"
jid=$(sbatch --parsable --ntasks 2 --output "$T/job-%j.out" --export=ALL,TKG_BIN="$BUILD/tkg-train",TKG_OUT="$T/run" \
        slurm/train-cpu.sbatch configs/smoke.ini "$T/part" --train.epochs 4 --eval.every 2 --output.embeddings false)
read -r state code <<<"$(wait_job "$jid")"
[[ $state == COMPLETED && $code == 0:0 ]] && pass "2-rank sbatch job $jid completed" \
  || { fail "job $jid: $state $code"; cat "$T"/job-*.out; }
python3 - "$T/run/summary.json" <<'PY' && pass "summary.json from the job" || fail "summary.json"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["ranks"] == 2 and s["epochs_run"] == 4 and s["test"]["ndcg@20"] > 0, s
PY

# Preemption: the ranks of this job get the stop signal after epoch 3 (test hook); they write a
# checkpoint and exit 75, launch/slurm-step.sh requeues the job, and the requeued job resumes:
# it ends with the undisturbed job's metrics.
jid=$(sbatch --parsable --ntasks 2 --output "$T/rq-%j.out" --export=ALL,TKG_BIN="$BUILD/tkg-train",TKG_OUT="$T/rq",TKG_SIGNAL_AT_EPOCH=3 \
        slurm/train-cpu.sbatch configs/smoke.ini "$T/part" --train.epochs 4 --eval.every 2 --output.embeddings false)
# Slurm holds a requeued job back (Reason=BeginTime, about two minutes); once the node has
# finished cleaning up after the first run (idle again), let it start now.
( for _ in $(seq 1 240); do
    if scontrol show job -o "$jid" 2>/dev/null | grep -q "JobState=PENDING.*Reason=BeginTime" \
       && [[ $(sinfo -h -o %T 2>/dev/null) == idle ]]; then
      sleep 2
      scontrol update JobId="$jid" StartTime=now >/dev/null 2>&1; break
    fi
    sleep 0.5
  done ) &
# Ended means: the second run has started (its "resumed from" line) and the job has left the queue.
read -r state code <<<"$(wait_job "$jid" "$T/rq-$jid.out" "resumed from")"
restarts=$(scontrol show job -o "$jid" | grep -o 'Restarts=[0-9]*' | cut -d= -f2)
[[ $state == COMPLETED && ${restarts:-0} -ge 1 ]] && grep -q "requeueing job $jid" "$T/rq-$jid.out" \
  && grep -q "resumed from .*epoch-000003" "$T/rq-$jid.out" && pass "job requeued after the stop signal and resumed" \
  || { fail "requeue: $state $code restarts=${restarts:-?}"; cat "$T/rq-$jid.out"; }
python3 - "$T/run/summary.json" "$T/rq/summary.json" <<'PY' && pass "requeued job = undisturbed job" || fail "requeued job metrics"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["best_epoch"] == b["best_epoch"] and a["test"] == b["test"], (a["test"], b["test"])
PY

# A PMI mismatch must fail loudly: srun without PMIx starts two 1-rank processes.
cat >"$T/mismatch.sbatch" <<EOF2
#!/bin/bash
srun --mpi=none $BUILD/tkg-train --config configs/smoke.ini --partition $T/part --out $T/mm
EOF2
jid=$(sbatch --parsable --ntasks 2 --output "$T/mm-%j.out" "$T/mismatch.sbatch")
read -r state code <<<"$(wait_job "$jid")"
# Open MPI itself refuses to start without PMI under srun; tkg-train refuses a world size that
# differs from the task count (MPICH + pmix). Either way: FAILED, and no run directory.
[[ $state == FAILED && ! -e $T/mm/summary.json ]] && pass "PMI mismatch fails the job" \
  || { fail "PMI mismatch: $state $code"; cat "$T/mm-$jid.out"; }

echo "slurm_e2e: $fails failure(s)"
[[ $fails -eq 0 ]]
