#!/usr/bin/env bash
# Per-rank wrapper: chooses this rank's GPU by its local rank (OMPI_COMM_WORLD_LOCAL_RANK under
# Open MPI's mpirun, MPI_LOCALRANKID under MPICH, SLURM_LOCALID under srun), unless
# CUDA_VISIBLE_DEVICES is already set; then runs the command. The launcher's own variable comes
# first: under mpirun inside an allocation every rank inherits the batch step's SLURM_LOCALID (0),
# which would put every rank of a node on GPU 0.
local_rank=${OMPI_COMM_WORLD_LOCAL_RANK:-${MPI_LOCALRANKID:-${SLURM_LOCALID:-0}}}
export TKG_LOCAL_RANK=$local_rank
if [[ -z ${CUDA_VISIBLE_DEVICES:-} ]] && command -v nvidia-smi >/dev/null 2>&1; then
  n=$(nvidia-smi -L 2>/dev/null | wc -l)
  if [[ $n -gt 0 ]]; then export CUDA_VISIBLE_DEVICES=$(( local_rank % n )); fi
fi
exec "$@"
