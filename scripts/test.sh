#!/usr/bin/env bash
# Builds (incrementally) and runs the whole test suite: unit, multi-rank (mpi), slurm, e2e.
# Usage: bash scripts/test.sh [extra ctest args, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -d build ]] || bash scripts/setup.sh
cmake --build build -j "$(nproc)"
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
