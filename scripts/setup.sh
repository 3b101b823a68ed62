#!/usr/bin/env bash
# Installs every Debian package the project needs (idempotent: apt runs only if something is
# missing, 'apt-get update' once), then configures and builds into build/ with Ninja + ccache.
# Usage: bash scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config python3 python3-matplotlib
  libtorch-dev libopenblas0-pthread
  libopenmpi-dev openmpi-bin
  libmetis-dev libptscotch-dev zlib1g-dev libxxhash-dev nlohmann-json3-dev libspdlog-dev
  libboost-program-options-dev libboost-dev
  libgtest-dev libgmock-dev
  slurm-wlm munge
  clang libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all packages present"
fi

[[ ${1:-} == --no-build ]] && exit 0

# CUDA/NCCL live outside the default paths on these machines.
[[ -d /usr/local/cuda/bin ]] && export PATH="$PATH:/usr/local/cuda/bin"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
