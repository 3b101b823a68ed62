#!/usr/bin/env bash
# A whole strong or weak scaling study as Slurm jobs, end to end to the plots: one command on the
# local cluster (launch/local-slurm.sh) and on a real one.
#
#   slurm/scaling-study.sh [options] strong|weak DATASET_DIR CONFIG "P_LIST" STUDY_DIR [-- tkg-train options]
#
#   strong: the same graph at every P.  weak: the graph tiled P times (tkg-gen --kind tile
#   --copies P), so the edges per rank stay fixed (each copy is one rank's share).
#
# Jobs: per P a partition job (tkg-gen for weak, then tkg-partition; skipped when its cache entry
# exists), per P and repeat a training job that starts after its partition job (afterok), and a
# collect job after all of them (afterany) that writes STUDY_DIR/scaling.csv, the plots
# (speedup, efficiency, time split, bytes, test metric) and STUDY_DIR/scaling.md
# (scripts/collect_scaling.py). Nothing heavy runs on the login node.
#
# Options:
#   --repeats R          training runs per P (their spread is reported), default 1
#   --ranks-per-node N   tasks per node, so placement does not change with P (default: all of a
#                        study's ranks on one node when they fit: N = max P)
#   --cpus-per-task C    threads per rank (default 1; passed to tkg-train through OMP_NUM_THREADS)
#   --exclusive          whole nodes for every training job (no neighbours skew the timings)
#   --gpu                one rank per GPU (slurm/train.sbatch, the CUDA build); default CPU ranks
#   --sbatch "ARGS"      more sbatch arguments for every job (partition, account, time limit, ...)
#   --partition-ranks R  the partition jobs run the distributed partition (tkg-partition --method
#                        ptscotch under srun with R tasks; no process holds the whole graph);
#                        default: one process, METIS
#   --cache DIR          partition/tile cache (default STUDY_DIR/cache); entries are keyed by what
#                        they were built from (input files' size and mtime, P, copies, seed, binary)
#   --wait               wait for the collect job, then print the table (what the tests use)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
repeats=1 per_node="" cpus=1 exclusive="" gpu="" extra="" cache="" wait="" part_ranks=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --repeats) repeats=$2; shift 2 ;;
    --ranks-per-node) per_node=$2; shift 2 ;;
    --cpus-per-task) cpus=$2; shift 2 ;;
    --exclusive) exclusive=--exclusive; shift ;;
    --gpu) gpu=1; shift ;;
    --sbatch) extra=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    --partition-ranks) part_ranks=$2; shift 2 ;;
    --wait) wait=1; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    -*) echo "scaling-study: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
[[ $# -ge 5 ]] || { sed -n '2,8p' "$0" >&2; exit 2; }
kind=$1 data=$2 config=$3 ranks=$4 study=$5
shift 5
[[ ${1:-} == -- ]] && shift
[[ $kind == strong || $kind == weak ]] || { echo "scaling-study: kind must be strong or weak, got '$kind'" >&2; exit 2; }
[[ -f $data/train.txt ]] || { echo "scaling-study: $data/train.txt not found" >&2; exit 2; }
[[ -f $config ]] || { echo "scaling-study: config $config not found" >&2; exit 2; }
for P in $ranks; do [[ $P =~ ^[1-9][0-9]*$ ]] || { echo "scaling-study: bad rank count '$P'" >&2; exit 2; }; done
[[ $repeats =~ ^[1-9][0-9]*$ ]] || { echo "scaling-study: --repeats expects a positive integer" >&2; exit 2; }
[[ $part_ranks =~ ^[0-9]+$ ]] || { echo "scaling-study: --partition-ranks expects a number of processes" >&2; exit 2; }
# The partition job's command: one process (METIS), or R processes under srun (PT-Scotch).
if (( part_ranks > 0 )); then
  part_method="ptscotch-R$part_ranks" part_tasks=$part_ranks
  part_cmd() { echo "srun --mpi=pmix --kill-on-bad-exit=1 $part_bin --method ptscotch $*"; }
else
  part_method=metis part_tasks=1
  part_cmd() { echo "$part_bin $*"; }
fi
command -v sbatch >/dev/null || { echo "scaling-study: sbatch not found (start launch/local-slurm.sh or run on a cluster)" >&2; exit 2; }
mkdir -p "$study/runs" "$study/logs"
study=$(cd "$study" && pwd) data=$(cd "$data" && pwd) config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
cache=${cache:-$study/cache}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
max_p=0; for P in $ranks; do (( P > max_p )) && max_p=$P; done
per_node=${per_node:-$max_p}
# Binaries: TKG_BUILD_DIR (default build/); the training binary TKG_BIN (default its tkg-train,
# or build-gpu/tkg-train with --gpu), passed to the jobs.
build=${TKG_BUILD_DIR:-$ROOT/build}
gen=$build/tkg-gen part_bin=$build/tkg-partition
[[ -x $gen && -x $part_bin ]] || { echo "scaling-study: build first (bash scripts/setup.sh): $part_bin missing" >&2; exit 2; }
if [[ -n $gpu ]]; then export TKG_BIN=${TKG_BIN:-$ROOT/build-gpu/tkg-train}; else export TKG_BIN=${TKG_BIN:-$build/tkg-train}; fi
[[ -x $TKG_BIN ]] || { echo "scaling-study: training binary $TKG_BIN missing (set TKG_BIN)" >&2; exit 2; }
if [[ -n $gpu ]]; then sbatch_script=$ROOT/slurm/train.sbatch; else sbatch_script=$ROOT/slurm/train-cpu.sbatch; fi

# What an input was built from: files' size + mtime, options, and the binary.
key_of() { { for f in "$data"/train.txt "$data"/valid.txt "$data"/test.txt; do
               [[ -f $f ]] && stat -c '%n %s %Y' "$f"; done
             echo "$*"; stat -c '%s %Y' "$part_bin" "$gen"; } | sha256sum | cut -c1-12; }

# Debian's python3 has python3-matplotlib (scripts/setup.sh); a python3 earlier on PATH may not.
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
name=$(basename "$data")
jobs=() train_jobs=()
declare -A edges
printf '{"kind": "%s", "dataset": "%s", "config": "%s", "ranks": [%s], "repeats": %d, "cpus_per_task": %d, "ranks_per_node": %d, "gpu": %s,\n' \
  "$kind" "$data" "$config" "$(echo $ranks | sed 's/ /, /g')" "$repeats" "$cpus" "$per_node" "${gpu:+true}${gpu:-false}" > "$study/study.json.tmp"
for P in $ranks; do
  if [[ $kind == weak ]]; then
    input=$cache/$name-x$P-$(key_of tile "$P" 0.01 1)
    part=$cache/$name-x$P-P$P-$(key_of tile "$P" 0.01 1 part "$P" $part_method)
    make_input="[[ -f $input/train.txt ]] || $gen --kind tile --data $data --copies $P --cross 0.01 --seed 1 --out $input --force"
  else
    input=$data
    part=$cache/$name-P$P-$(key_of part "$P" $part_method)
    make_input=true
  fi
  dep=""
  if [[ ! -f $part/meta.json ]]; then
    pj=$(sbatch --parsable --job-name="tkg-part-$name-P$P" --ntasks=$part_tasks --cpus-per-task=1 $extra \
           --output="$study/logs/part-P$P-%j.out" \
           --wrap="set -e; $make_input; $(part_cmd --data "$input" --parts "$P" --out "$part" --force --quiet)")
    dep="--dependency=afterok:$pj"
    jobs+=("$pj")
    echo "P=$P: partition job $pj -> $part"
  else
    echo "P=$P: partition cached in $part"
  fi
  nodes=$(( (P + per_node - 1) / per_node ))
  tpn=$(( P < per_node ? P : per_node ))
  gpu_args=()
  [[ -n $gpu ]] && gpu_args=(--gpus-per-node="$tpn")
  for r in $(seq 1 "$repeats"); do
    out=$study/runs/P$P-r$r
    jid=$(sbatch --parsable $dep --kill-on-invalid-dep=yes --job-name="tkg-$kind-$name-P$P-r$r" --nodes="$nodes" --ntasks="$P" \
            --ntasks-per-node="$tpn" --cpus-per-task="$cpus" "${gpu_args[@]}" $exclusive $extra \
            --output="$study/logs/train-P$P-r$r-%j.out" \
            --export=ALL,TKG_HOME="$ROOT",TKG_OUT="$out",OMP_NUM_THREADS="$cpus" \
            "$sbatch_script" "$config" "$part" --output.embeddings false "$@")
    jobs+=("$jid"); train_jobs+=("$jid")
    echo "P=$P repeat $r: training job $jid -> $out"
  done
  edges[$P]=$part
done
# Edges per rank, read from the partitions by the collect job (they exist by then).
{ echo -n '"partitions": {'; sep=""; for P in $ranks; do echo -n "$sep\"$P\": \"${edges[$P]}\""; sep=", "; done; echo "},"
  if [[ $kind == weak ]]; then echo '"weak_note": "edges per rank fixed: the graph tiled P times (tkg-gen --kind tile --copies P --cross 0.01)",'; fi
  echo "\"title\": \"$kind scaling, $name, $(basename "$config")\"}"; } >> "$study/study.json.tmp"
mv "$study/study.json.tmp" "$study/study.json"
dep=$(IFS=:; echo "${train_jobs[*]}")
cj=$(sbatch --parsable --job-name="tkg-collect-$name" --ntasks=1 --cpus-per-task=1 $extra --dependency=afterany:"$dep" \
       --output="$study/logs/collect-%j.out" \
       --wrap="$PY $ROOT/scripts/collect_scaling.py --study $study > $study/scaling.md")
echo "collect job $cj -> $study/scaling.md, scaling.csv, *.png"
[[ -z $wait ]] && { echo "(jobs: ${jobs[*]} $cj)"; exit 0; }
# Wait for the collect job (polling: sbatch --wait backs off badly on the local cluster).
while :; do
  line=$(scontrol show job -o "$cj" 2>/dev/null || true)
  state=$(grep -o 'JobState=[A-Z_]*' <<<"$line" | cut -d= -f2)
  case $state in
    PENDING|RUNNING|CONFIGURING|COMPLETING|"") sleep 1 ;;
    *) break ;;
  esac
  # The collect job can never start if a dependency failed in a way Slurm will not resolve.
  grep -q "Reason=DependencyNeverSatisfied" <<<"$line" && { echo "scaling-study: collect job $cj cannot start (a job failed)" >&2; exit 1; }
done
cat "$study/scaling.md"
[[ $state == COMPLETED ]] || { echo "scaling-study: collect job ended $state (logs in $study/logs)" >&2; exit 1; }
