#!/usr/bin/env bash
# Builds the fuzz targets of tests/fuzz (libFuzzer + AddressSanitizer + UBSan, clang from Debian)
# and runs each for SECONDS (default 20) on a seed corpus made from the shipped data and from
# files the tools write. A crash, a sanitizer report, an exception other than InputError or an
# allocation over 2 GiB fails the run (exit code non-zero); the reproducer lands in OUT_DIR.
# Usage: bash scripts/fuzz.sh [SECONDS] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-20}; OUT=${2:-build-fuzz}
DATA=${TKG_SHARED_DATA:-../shared/data}
CXX=${FUZZ_CXX:-clang++}
command -v "$CXX" >/dev/null || { echo "fuzz: $CXX not found (apt-get install clang)"; exit 1; }
mkdir -p "$OUT"
# The targets' scratch files live in a directory of this run, removed when it ends.
SCRATCH=$(mktemp -d)
export TMPDIR=$SCRATCH
trap 'rm -rf "$SCRATCH"' EXIT
LIBSRC=(src/common/checksum.cpp src/common/fs.cpp src/common/phase_progress.cpp src/graph/dataset.cpp src/shard/shard.cpp
        src/format/interactions_text.cpp src/format/shard_file.cpp src/format/gnaq_file.cpp src/format/npy_file.cpp
        src/quant/bitpack.cpp src/quant/fp8.cpp)
FLAGS=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc)
# Seed corpora: real inputs of each kind (the fuzzer mutates from there).
mkdir -p "$OUT/corpus-text" "$OUT/corpus-shard" "$OUT/corpus-model"
head -c 4000 "$DATA/Ali-Display/train.txt" | sed '1s/^/\x00/' >"$OUT/corpus-text/edges"
head -c 4000 "$DATA/gowalla/train.txt" | sed '1s/^/\x01/' >"$OUT/corpus-text/adj"
printf '\x08user,item\nalice,pear\nbob,9000000000\n' >"$OUT/corpus-text/remap"
B=${TKG_BUILD_DIR:-build}  # the tools that make a seed shard (skipped when not built)
if [[ -x $B/tkg-partition && -x $B/tkg-gen ]]; then
  W=$(mktemp -d)
  "$B/tkg-gen" --kind powerlaw --users 30 --items 20 --edges 150 --seed 3 --out "$W/d" >/dev/null
  "$B/tkg-partition" --data "$W/d" --parts 2 --quiet --out "$W/p" >/dev/null
  cp "$W/p/shard-00000.bin" "$OUT/corpus-shard/s0"
  rm -rf "$W"
fi
rc=0
for t in text_reader shard_loader model_loader; do
  echo "== fuzz_$t: build"
  "$CXX" "${FLAGS[@]}" "tests/fuzz/fuzz_$t.cpp" "${LIBSRC[@]}" -o "$OUT/fuzz_$t"
  corpus=$OUT/corpus-${t%%_*}
  [[ $t == shard_loader ]] && corpus=$OUT/corpus-shard
  [[ $t == model_loader ]] && corpus=$OUT/corpus-model
  # Inputs that once failed (tests/fuzz/regressions/<target>/) run first, every time.
  reg=tests/fuzz/regressions/$t
  if compgen -G "$reg/*" >/dev/null; then
    "$OUT/fuzz_$t" "$reg"/* >"$OUT/fuzz_$t.regressions.log" 2>&1 \
      && echo "== fuzz_$t: regression inputs pass" || { rc=1; echo "fuzz_$t regression FAILED:"; tail -20 "$OUT/fuzz_$t.regressions.log"; }
  fi
  echo "== fuzz_$t: ${SECS} s"
  (cd "$OUT" && ./fuzz_$t -max_total_time="$SECS" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
     "$(basename "$corpus")" >"fuzz_$t.log" 2>&1) || { rc=1; echo "fuzz_$t FAILED:"; tail -40 "$OUT/fuzz_$t.log"; }
  grep -E "^stat::number_of_executed_units|^Done" "$OUT/fuzz_$t.log" | head -2
done
exit $rc
