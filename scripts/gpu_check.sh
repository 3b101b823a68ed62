#!/usr/bin/env bash
# Build and test on a GPU machine against the LibTorch 2.x + CUDA that its PyTorch wheel carries
# (torch.utils.cmake_prefix_path) and the NCCL of that wheel, then run the whole CPU suite there
# (except Slurm), the NCCL tests and GPU equivalence cases, and training runs on the GPU against
# the CPU. docs/gpu.md records a run. Stages (TKG_GPU_STAGES, default gpu,train,cpu; also speed,
# quick, gnaq) run in this order: gpu, speed, train, quick, gnaq, cpu.
#
# Usage: bash scripts/gpu_check.sh [DEB_DIR] [OUT_DIR] [DATA_DIR]
#   DEB_DIR  Debian 12 .deb files of the C++ dependencies (Boost, METIS, Open MPI, GoogleTest), for
#            a machine that has none and cannot fetch them: unpacked under /tmp/tkg-deps, never
#            into /. Make it with `bash scripts/gpu_check.sh --download DIR` where apt works.
#   OUT_DIR  logs (default runs/gpu-check); DATA_DIR: the shipped datasets (default ../shared/data)
set -uo pipefail
cd "$(dirname "$0")/.."

DEBS=(libboost1.74-dev libboost-program-options1.74-dev libboost-program-options1.74.0 libmetis-dev libmetis5
      libgtest-dev libgmock-dev libopenmpi-dev libopenmpi3 openmpi-bin openmpi-common libhwloc15 libhwloc-plugins
      libevent-2.1-7 libevent-core-2.1-7 libevent-pthreads-2.1-7 libpmix2 libfabric1 libucx0 libibverbs1 librdmacm1
      libpsm2-2 libpsm-infinipath1 libnl-3-200 libnl-route-3-200 libmunge2 libltdl7 libxnvctrl0 libnuma1
      libpciaccess0 libgfortran5 libptscotch-dev libptscotch-7.0 libscotch-dev libscotch-7.0 zlib1g-dev)
if [[ ${1:-} == --download ]]; then
  mkdir -p "${2:?directory}" && cd "$2" && exec apt-get download "${DEBS[@]}"
fi

DEB_DIR=${1:-}; OUT=${2:-runs/gpu-check}; DATA=${3:-../shared/data}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }
: >"$OUT/summary.txt"

MPI_ARGS=()
if [[ -n $DEB_DIR ]]; then
  ROOT=/tmp/tkg-deps
  mkdir -p "$ROOT"
  for f in "$DEB_DIR"/*.deb; do dpkg -x "$f" "$ROOT"; done
  ML=$ROOT/usr/lib/x86_64-linux-gnu
  # Debian links /usr/bin/mpirun etc. through alternatives (postinst), which dpkg -x does not run.
  for t in mpirun mpiexec mpicxx mpicc; do ln -sf "$t.openmpi" "$ROOT/usr/bin/$t"; done
  export OPAL_PREFIX=$ROOT/usr PATH=$ROOT/usr/bin:$PATH
  export LD_LIBRARY_PATH=$ML:$ML/openmpi/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export OMPI_MCA_mca_base_component_path=$ML/openmpi/lib/openmpi3
  export CMAKE_PREFIX_PATH=$ROOT/usr
  MPI_ARGS=(-DMPI_CXX_COMPILER="$ROOT/usr/bin/mpicxx.openmpi" -DMPIEXEC_EXECUTABLE="$ROOT/usr/bin/mpirun.openmpi")
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

TORCH_CMAKE=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)') || { log "no PyTorch"; exit 1; }
SITE=$(python3 -c 'import torch, os; print(os.path.dirname(os.path.dirname(torch.__file__)))')
NCCL_H=$(find "$SITE/nvidia" -name nccl.h 2>/dev/null | head -1)
NCCL_SO=$(find "$SITE/nvidia" -name 'libnccl.so*' 2>/dev/null | head -1)
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "nccl", torch.cuda.nccl.version())'
  g++ --version | head -1
  cmake --version | head -1
  echo "nccl.h: $NCCL_H"; echo "libnccl: $NCCL_SO"
} 2>&1 | tee -a "$OUT/summary.txt"

export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
log "configure (LibTorch from $TORCH_CMAKE)"
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_CMAKE;${CMAKE_PREFIX_PATH:-}" \
  -DTKG_WITH_NCCL=ON -DNCCL_INCLUDE_DIR="$(dirname "$NCCL_H")" -DNCCL_LIBRARY="$NCCL_SO" \
  -DTKG_SHARED_DATA="$(cd "$DATA" && pwd)" "${MPI_ARGS[@]}" >"$OUT/configure.log" 2>&1 \
  || { log "configure FAILED"; tail -40 "$OUT/configure.log"; exit 1; }
grep -E "NCCL backend|Torch|MPI" "$OUT/configure.log" | head -8
log "build"
SECONDS=0
cmake --build build-gpu -j "$(nproc)" -- -k 0 >"$OUT/build.log" 2>&1 || { log "build FAILED"; grep -E -A5 "error" "$OUT/build.log" | head -60; exit 1; }
log "built in ${SECONDS} s"
STAGES=${TKG_GPU_STAGES:-gpu,train,cpu}
# One training run: its summary line goes to summary.txt (LAUNCH: an mpirun prefix).
train() {  # train LABEL DATASET CONFIG DEVICE EXTRA...
  local label=$1 data=$2 config=$3 device=$4; shift 4
  local dir=$OUT/../gpu-runs/$label
  # Device memory in use, sampled every 100 ms while the run lasts (the peak goes to the summary line).
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 >"$dir.gpumem" 2>/dev/null &
  local smi=$!
  timeout "${TKG_GPU_TRAIN_TIMEOUT:-900}" ${LAUNCH:-} ./build-gpu/tkg-train --config "$config" --data "$DATA/$data" \
    --model.device "$device" --output.progress false --output.embeddings false --output.checkpoint false \
    --out "$dir" "$@" >"$dir.log" 2>&1
  local r=$?
  kill $smi 2>/dev/null; wait $smi 2>/dev/null
  echo "$label: peak device memory $(sort -n "$dir.gpumem" | tail -1) MiB (nvidia-smi)" | tee -a "$OUT/summary.txt"
  cp "$dir/summary.json" "$OUT/$label.json" 2>/dev/null || cp "$dir/metrics.csv" "$OUT/$label.metrics.csv" 2>/dev/null
  python3 - "$label" "$dir/summary.json" "$r" <<'PY' | tee -a "$OUT/summary.txt"
import json, sys
label, path, r = sys.argv[1:]
try:
  s = json.load(open(path)); t = s["test"]
  print(f"{label}: rc={r} device={s.get('device')} rows={s.get('tensor_backend')} epochs={s['epochs_run']} "
        f"best={s['best_epoch']} s/epoch={s['seconds_per_epoch']:.4f} ndcg@20={t['ndcg@20']:.4f} "
        f"recall@20={t['recall@20']:.4f} recall_capped@20={t['recall_capped@20']:.4f} peak_rss_mb={s['peak_rss_mb']:.0f}")
except Exception as e:
  print(f"{label}: rc={r}, no summary ({e})")
PY
  return $r
}
mkdir -p "$OUT/../gpu-runs"
rc=0
if [[ ,$STAGES, == *,gpu,* ]]; then
  log "tests on the GPU: CUDA kernels, NCCL, and the gpu_* equivalence cases (P = 1..4 against the CPU model)"
  (cd build-gpu && GTEST_FILTER='*gpu*:NcclGpu*:*PropagateCuda*' \
    ctest -R 'test_nccl_gpu|test_equivalence|test_propagate_cuda' -V --timeout 600) \
    >"$OUT/gpu-tests.log" 2>&1 || rc=1
  grep -E "\[ +(OK|FAILED|SKIPPED) +\]|tests passed|ranks failed" "$OUT/gpu-tests.log" | sort | uniq -c | tee -a "$OUT/summary.txt"
  # Two ranks on this machine's GPU(s): rows over NCCL with a GPU per rank, else staged over MPI.
  LAUNCH="mpirun --oversubscribe -n 2" train smoke-p2-cuda Ali-Display configs/smoke.ini cuda || rc=1
  LAUNCH="" train smoke-p1-cpu Ali-Display configs/smoke.ini cpu || rc=1
fi
if [[ ,$STAGES, == *,speed,* ]]; then
  # The fused CUDA layer against the ATen composition on the same GPU (and the 20-epoch metrics).
  for fused in true false; do
    train gowalla-20ep-cuda-fused-$fused gowalla configs/gowalla.ini cuda --train.epochs 20 --eval.every 20 --model.fused $fused
    [[ -n ${TKG_GPU_QUICK:-} && $fused == false ]] || train ali-display-100ep-cuda-fused-$fused Ali-Display \
      configs/ali-display.ini cuda --train.epochs 100 --eval.every 100 --model.fused $fused
  done
fi
if [[ ,$STAGES, == *,train,* ]]; then
  train gowalla-20ep-cuda gowalla configs/gowalla.ini cuda --train.epochs 20 --eval.every 20
  train gowalla-20ep-cpu gowalla configs/gowalla.ini cpu --train.epochs 20 --eval.every 20
  train ali-display-cuda Ali-Display configs/ali-display.ini cuda
  train gowalla-cuda gowalla configs/gowalla.ini cuda
fi
if [[ ,$STAGES, == *,quick,* ]]; then
  # A short check of a commit: gowalla 20 epochs on the GPU against the CPU (same metrics), and
  # two ranks sharing the GPU with the pool sampler and a sampled evaluation.
  train gowalla-20ep-cuda gowalla configs/gowalla.ini cuda --train.epochs 20 --eval.every 20
  train gowalla-20ep-cpu gowalla configs/gowalla.ini cpu --train.epochs 20 --eval.every 20
  LAUNCH="mpirun --oversubscribe -n 2" train ali-p2-cuda-pool-sampled Ali-Display configs/ali-display.ini cuda \
    --train.epochs 100 --eval.every 50 --train.pool_fraction 0.1 --eval.users 5000 || rc=1
  LAUNCH="" train ali-p1-cpu-pool-sampled Ali-Display configs/ali-display.ini cpu \
    --train.epochs 100 --eval.every 50 --train.pool_fraction 0.1 --eval.users 5000 || rc=1
fi
if [[ ,$STAGES, == *,gnaq,* ]]; then
  # GNAQ on gowalla on the GPU: the fp32 run to convergence, then b = 1, 2, 4 (bench/gnaq.sh).
  log "GNAQ bits on gowalla (GPU)"
  TKG_TRAIN=./build-gpu/tkg-train TKG_EXTRA="--data $DATA/gowalla --model.device cuda" \
    bash bench/gnaq.sh configs/gowalla.ini gowalla-gpu 200 bits >"$OUT/gnaq-gowalla-gpu.md" 2>&1 || rc=1
  cat "$OUT/gnaq-gowalla-gpu.md" | tee -a "$OUT/summary.txt"
  for r in fp32 b1 b2 b4; do
    python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(sys.argv[2], 's/epoch', s['seconds_per_epoch'], 'epochs', s['epochs_run'], 'peak_rss_mb', s['peak_rss_mb'])" \
      runs/gnaq-gowalla-gpu/$r/summary.json $r 2>&1 | tee -a "$OUT/summary.txt"
  done
fi
if [[ ,$STAGES, == *,cpu,* ]]; then
  log "tests: everything else but Slurm, $(nproc) at a time"
  (cd build-gpu && ctest -LE "slurm|gpu" -j "$(nproc)" --timeout 600 --output-on-failure) >"$OUT/cpu-tests.log" 2>&1 || rc=1
  tail -12 "$OUT/cpu-tests.log" | tee -a "$OUT/summary.txt"
fi
log "exit $rc"
exit $rc
