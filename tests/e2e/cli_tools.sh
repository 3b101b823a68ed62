#!/usr/bin/env bash
# End-to-end checks of tkg-gen and tkg-partition: outputs, meta.json contract, bad input exits.
# Usage: cli_tools.sh BUILD_DIR SHARED_DATA_DIR
set -u
BUILD=$1
DATA=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect_exit CODE PATTERN CMD... : CMD exits with CODE and its stderr matches PATTERN.
expect_exit() {
  local code=$1 pattern=$2
  shift 2
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
  if [[ $got -ne $code ]]; then fail "$* exited $got, expected $code: $(cat "$T/err")"; return; fi
  if ! grep -q -- "$pattern" "$T/err"; then fail "$*: stderr lacks '$pattern': $(cat "$T/err")"; return; fi
  pass "$* -> $code ($pattern)"
}

# Generator + partition of its output.
"$BUILD/tkg-gen" --kind powerlaw --users 300 --items 200 --edges 3000 --communities 4 --seed 5 --out "$T/pl" >/dev/null \
  && [[ -s $T/pl/train.txt && -s $T/pl/valid.txt && -s $T/pl/test.txt ]] && pass "tkg-gen powerlaw" || fail "tkg-gen powerlaw"
"$BUILD/tkg-gen" --kind tile --data "$T/pl" --copies 3 --cross 0.05 --seed 5 --out "$T/tile" >/dev/null \
  && [[ $(wc -l <"$T/tile/train.txt") -eq $((3 * $(wc -l <"$T/pl/train.txt"))) ]] && pass "tkg-gen tile" || fail "tkg-gen tile"
"$BUILD/tkg-partition" --data "$T/pl" --parts 3 --out "$T/p3" >/dev/null && pass "partition synthetic" || fail "partition synthetic"
for f in n_users n_items n_edges parts method seed edge_cut edge_cut_pct halo_total halo_max node_imbalance \
         edge_imbalance seconds peak_rss_mb partition_id inputs; do
  grep -q "\"$f\":" "$T/p3/meta.json" || fail "meta.json lacks $f"
done
[[ -f $T/p3/shard-00000.bin && -f $T/p3/shard-00002.bin && ! -e $T/p3/shard-00003.bin ]] && pass "3 shard files" || fail "shard files"
python3 -c "import json,sys; m=json.load(open('$T/p3/meta.json')); assert m['parts']==3 and m['method']=='metis'" \
  && pass "meta.json parses as JSON" || fail "meta.json is not valid JSON"

# Shipped data, each method.
for m in metis random hash; do
  "$BUILD/tkg-partition" --data "$DATA/Ali-Display" --parts 2 --method $m --quiet --out "$T/ali-$m" >/dev/null \
    && pass "Ali-Display $m" || fail "Ali-Display $m"
done
# Deterministic for a fixed seed.
"$BUILD/tkg-partition" --data "$DATA/Ali-Display" --parts 2 --quiet --out "$T/ali-metis2" >/dev/null
cmp -s "$T/ali-metis/shard-00001.bin" "$T/ali-metis2/shard-00001.bin" && pass "deterministic shards" || fail "shards differ between runs"

# Single file split 7:1:2.
"$BUILD/tkg-partition" --file "$DATA/Epinions/train.txt" --split-seed 3 --parts 2 --quiet --out "$T/ep" >/dev/null \
  && pass "--file split" || fail "--file split"

# Bad input: clear message, exit 2, nothing written.
printf '0 1\n2 abc\n' >"$T/bad.txt"; mkdir -p "$T/badds"; cp "$T/bad.txt" "$T/badds/train.txt"; printf '0 1\n' >"$T/badds/test.txt"
expect_exit 2 "badds/train.txt:2: expected a non-negative integer item id, got 'abc'" \
  "$BUILD/tkg-partition" --data "$T/badds" --parts 2 --out "$T/never"
[[ ! -e $T/never ]] && pass "nothing written on bad input" || fail "output written despite bad input"
ls "$T" | grep -q tmp && fail "temp directory left behind" || pass "no temp directory left"
expect_exit 2 "dataset directory does not exist" "$BUILD/tkg-partition" --data "$T/nope" --parts 2 --out "$T/never"
expect_exit 2 "output directory exists" "$BUILD/tkg-partition" --data "$T/pl" --parts 2 --out "$T/p3"
[[ -f $T/p3/shard-00002.bin ]] && pass "existing output untouched" || fail "existing output damaged"
expect_exit 2 "unknown partition method" "$BUILD/tkg-partition" --data "$T/pl" --parts 2 --method spectral --out "$T/never"
expect_exit 2 "more parts" "$BUILD/tkg-partition" --data "$T/pl" --parts 100000 --out "$T/never"
expect_exit 2 "parts" "$BUILD/tkg-partition" --data "$T/pl" --out "$T/never"
expect_exit 2 "unknown kind" "$BUILD/tkg-gen" --kind lattice --out "$T/never"
"$BUILD/tkg-partition" --data "$T/pl" --parts 2 --out "$T/p3" --force >/dev/null && [[ ! -e $T/p3/shard-00002.bin ]] \
  && pass "--force replaces" || fail "--force"

# A stray huge id (2^31) is refused with its file and line, fast and without the memory it would
# size tables to (here under a 1 GiB address-space limit), by tkg-partition and tkg-train alike.
mkdir -p "$T/huge"
printf '0 1\n1 2\n2147483648 0\n' >"$T/huge/train.txt"
printf '0 2\n' >"$T/huge/test.txt"
expect_exit 2 "huge/train.txt:3: user id 2147483648 is far beyond" bash -c "ulimit -v 1048576; exec $BUILD/tkg-partition --data $T/huge --parts 2 --out $T/hp"
expect_exit 2 "huge/train.txt:3: user id 2147483648 is far beyond" bash -c "ulimit -v 8388608; exec $BUILD/tkg-train --data $T/huge --out $T/ht --train.epochs 1"

echo "cli_tools: $fails failure(s)"
[[ $fails -eq 0 ]]
