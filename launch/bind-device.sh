#!/usr/bin/env bash
# Per-rank wrapper: chooses this rank's GPU by its local rank (SLURM_LOCALID under srun,
# OMPI_COMM_WORLD_LOCAL_RANK under Open MPI's mpirun, MPI_LOCALRANKID under MPICH), unless
# CUDA_VISIBLE_DEVICES is already set; then runs the command.
local_rank=${SLURM_LOCALID:-${OMPI_COMM_WORLD_LOCAL_RANK:-${MPI_LOCALRANKID:-0}}}
export TKG_LOCAL_RANK=$local_rank
if [[ -z ${CUDA_VISIBLE_DEVICES:-} ]] && command -v nvidia-smi >/dev/null 2>&1; then
  n=$(nvidia-smi -L 2>/dev/null | wc -l)
  if [[ $n -gt 0 ]]; then export CUDA_VISIBLE_DEVICES=$(( local_rank % n )); fi
fi
exec "$@"
