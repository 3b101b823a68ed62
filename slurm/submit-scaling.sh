#!/bin/bash
# Strong and weak scaling studies: partitions the inputs, submits one job per rank count, and
# tells how to collect the results (scripts/collect_scaling.py).
#   slurm/submit-scaling.sh strong DATASET_DIR CONFIG "1 2 4 8" [tkg-train options...]
#     same graph, P ranks each: time per epoch should fall as 1/P.
#   slurm/submit-scaling.sh weak DATASET_DIR CONFIG "1 2 4 8" [tkg-train options...]
#     graph tiled P times (tkg-gen --kind tile --copies P), so work per rank stays constant.
set -euo pipefail
kind=${1:?strong|weak}; data=${2:?dataset dir}; config=${3:?config}; ranks=${4:?rank list}
shift 4
name=$(basename "$data")
mkdir -p parts data runs
for P in $ranks; do
  input=$data
  if [[ $kind == weak ]]; then
    input=data/$name-x$P
    [[ -d $input ]] || ./build/tkg-gen --kind tile --data "$data" --copies "$P" --cross 0.01 --seed 1 --out "$input"
  fi
  part=parts/$kind-$name-$P
  [[ -d $part ]] || ./build/tkg-partition --data "$input" --parts "$P" --out "$part" --quiet
  jid=$(sbatch --parsable --job-name="tkg-$kind-$name-P$P" --ntasks="$P" slurm/train-cpu.sbatch \
        "$config" "$part" "$@")
  echo "P=$P: job $jid -> runs/tkg-$kind-$name-P$P-$jid"
done
echo "when done: python3 scripts/collect_scaling.py runs/tkg-$kind-$name-P*"
