#!/usr/bin/env bash
# One tkg-train job step inside an sbatch script, made for preemption and time limits:
#  - srun --kill-on-bad-exit=1: a rank that dies ends its peers at once, not after train.comm_timeout;
#  - --train.resume auto: a requeued job continues from RUNDIR/checkpoints (a first run starts fresh);
#  - exit code 75 (tkg-train wrote a checkpoint after SIGTERM/SIGUSR1, e.g. `#SBATCH --signal=USR1@120`
#    before the time limit): the job is requeued with scontrol and resumes when it runs again.
# Usage, in an sbatch script: launch/slurm-step.sh [SRUN_OPTIONS...] -- ./build/tkg-train ARGS...
# (ARGS must not contain --train.resume: this script adds it.)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
srun_opts=()
while [[ $# -gt 0 && $1 != -- ]]; do srun_opts+=("$1"); shift; done
[[ ${1:-} == -- ]] || { echo "usage: slurm-step.sh [srun options] -- tkg-train args" >&2; exit 2; }
shift
# Open MPI under Slurm: PMIx. tkg-train refuses to run if the MPI world size differs from the
# task count (a PMI mismatch starts N independent 1-rank jobs).
srun --mpi=pmix --kill-on-bad-exit=1 "${srun_opts[@]}" "$HERE/bind-device.sh" "$@" --train.resume auto
rc=$?
if [[ $rc -eq 75 && -n ${SLURM_JOB_ID:-} ]]; then
  echo "slurm-step: checkpoint written after a stop signal; requeueing job $SLURM_JOB_ID (restarts so far: ${SLURM_RESTART_COUNT:-0})"
  scontrol requeue "$SLURM_JOB_ID" && exit 0
  echo "slurm-step: scontrol requeue failed; resubmit the job to continue (it resumes from its checkpoint)" >&2
fi
exit $rc
