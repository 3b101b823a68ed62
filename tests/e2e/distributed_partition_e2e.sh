#!/usr/bin/env bash
# The distributed tkg-partition (mpirun -n R; partition/distributed_job.hpp):
#  - --method hash under R = 2, 3 writes the same bytes as the one-process hash partition (shards,
#    meta.json apart from its time, memory and process fields), in both input formats, with a
#    header, a valid split and duplicate lines (kept, and dropped with --drop-duplicates);
#  - --method ptscotch is deterministic for a fixed R and seed, valid for R = 1, 2, 3 (PT-Scotch's
#    result depends on R), and its shards train with P-rank = 1-rank metrics;
#  - bad input under R = 2 gives the one-process message and exit code, and leaves nothing behind.
# Usage: distributed_partition_e2e.sh BUILD_DIR SOURCE_DIR SHARED_DATA_DIR
set -u
BUILD=$1; SRC=$2; DATA=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 OMP_NUM_THREADS=1
fails=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
MPI=(mpiexec --bind-to none)
P=$BUILD/tkg-partition

# same_partition A B: every shard byte for byte, meta.json equal apart from time/memory/processes.
same_partition() {
  local a=$1 b=$2 f
  for f in "$a"/shard-*.bin; do cmp -s "$f" "$b/$(basename "$f")" || return 1; done
  [[ $(ls "$a" | wc -l) -eq $(ls "$b" | wc -l) ]] || return 1
  "$PY" - "$a/meta.json" "$b/meta.json" <<'PY'
import json, sys
drop = {"seconds", "peak_rss_mb", "processes", "peak_rss_mb_per_process"}
a, b = ({k: v for k, v in json.load(open(p)).items() if k not in drop} for p in sys.argv[1:])
assert a == b, [k for k in a if a.get(k) != b.get(k)]
PY
}

# A small dataset in both formats: header, valid split, duplicate lines.
"$BUILD/tkg-gen" --kind powerlaw --users 400 --items 300 --edges 5000 --communities 4 --seed 3 --out "$T/g" >/dev/null
mkdir -p "$T/edges" "$T/adj"
{ echo "user item"; cat "$T/g/train.txt"; head -200 "$T/g/train.txt"; } >"$T/edges/train.txt"
cp "$T/g/valid.txt" "$T/g/test.txt" "$T/edges/"
for s in train valid test; do   # adjacency: one line per user, items in file order
  awk 'NR > 1 || $1 ~ /^[0-9]+$/ { if (!($1 in a)) o[n++] = $1; a[$1] = a[$1] " " $2 } END { for (k = 0; k < n; ++k) print o[k] a[o[k]] }' \
    "$T/edges/$s.txt" >"$T/adj/$s.txt"
done

for ds in edges adj; do
  for dd in "" --drop-duplicates; do
    "$P" --data "$T/$ds" --parts 3 --method hash $dd --quiet --out "$T/one" --force >/dev/null || fail "one-process hash $ds $dd"
    for R in 2 3; do
      "${MPI[@]}" -np $R "$P" --data "$T/$ds" --parts 3 --method hash $dd --quiet --out "$T/dist" --force >/dev/null 2>"$T/err" \
        && same_partition "$T/one" "$T/dist" && pass "hash, $ds $dd, R=$R: the one-process bytes" \
        || { fail "hash, $ds $dd, R=$R differs from one process"; cat "$T/err"; }
    done
  done
done
# More processes than parts (rank 2 writes no shard) and a one-line test file (ranks 1, 2 read
# nothing of it): every rank still makes every collective.
mkdir -p "$T/tiny"; cp "$T/g/train.txt" "$T/tiny/"; printf '0 1\n' >"$T/tiny/test.txt"
"$P" --data "$T/tiny" --parts 2 --method hash --quiet --out "$T/tiny1" >/dev/null
"${MPI[@]}" -np 3 "$P" --data "$T/tiny" --parts 2 --method hash --quiet --out "$T/tiny3" >/dev/null 2>"$T/err" \
  && same_partition "$T/tiny1" "$T/tiny3" && pass "hash, P=2 R=3 (a rank without a shard, empty slices): the one-process bytes" \
  || { fail "hash P=2 R=3"; cat "$T/err"; }
"${MPI[@]}" -np 3 "$P" --data "$T/tiny" --parts 2 --method ptscotch --quiet --out "$T/tinys" >/dev/null 2>"$T/err" \
  && [[ -f $T/tinys/shard-00001.bin && ! -e $T/tinys/shard-00002.bin ]] && pass "ptscotch, P=2 R=3" || { fail "ptscotch P=2 R=3"; cat "$T/err"; }
"$P" --data "$DATA/Ali-Display" --parts 4 --method hash --quiet --out "$T/ali1" >/dev/null
"${MPI[@]}" -np 3 "$P" --data "$DATA/Ali-Display" --parts 4 --method hash --quiet --out "$T/ali3" >/dev/null 2>&1 \
  && same_partition "$T/ali1" "$T/ali3" && pass "hash, Ali-Display P=4 R=3: the one-process bytes" || fail "hash Ali-Display"

# PT-Scotch: deterministic for fixed R, valid and trainable for each R.
"$P" --data "$DATA/Ali-Display" --parts 3 --method ptscotch --quiet --out "$T/s1" >/dev/null 2>"$T/err" \
  && pass "ptscotch with one process (no mpirun)" || { fail "ptscotch R=1"; cat "$T/err"; }
for R in 2 3; do
  "${MPI[@]}" -np $R "$P" --data "$DATA/Ali-Display" --parts 3 --method ptscotch --quiet --out "$T/s$R" >/dev/null 2>"$T/err" \
    || { fail "ptscotch R=$R"; cat "$T/err"; }
done
"${MPI[@]}" -np 2 "$P" --data "$DATA/Ali-Display" --parts 3 --method ptscotch --quiet --out "$T/s2b" >/dev/null 2>&1
same_partition "$T/s2" "$T/s2b" && pass "ptscotch R=2 twice: the same bytes" || fail "ptscotch R=2 not deterministic"
"$PY" - "$T" <<'PY' && pass "ptscotch partitions of R = 1, 2, 3: balanced, a cut near METIS's" || fail "ptscotch quality"
import json, sys
for R in (1, 2, 3):
    m = json.load(open(f"{sys.argv[1]}/s{R}/meta.json"))
    assert m["method"] == "ptscotch" and m["parts"] == 3 and sum(m["owned_per_rank"]) == m["n_users"] + m["n_items"], m
    assert m["node_imbalance"] < 1.10 and m["edge_cut_pct"] < 35, (R, m["node_imbalance"], m["edge_cut_pct"])
    assert (R == 1) == ("processes" not in m or m["processes"] == 1)
PY
TRAIN=(--config "$SRC/configs/smoke.ini" --train.epochs 3 --eval.every 3 --output.embeddings false --output.checkpoint false)
"$P" --data "$DATA/Ali-Display" --parts 1 --quiet --out "$T/p1" >/dev/null
"$BUILD/tkg-train" "${TRAIN[@]}" --partition "$T/p1" --out "$T/t1" >"$T/t1.log" 2>&1 || { fail "1-rank training"; tail "$T/t1.log"; }
"${MPI[@]}" -np 3 "$BUILD/tkg-train" "${TRAIN[@]}" --partition "$T/s3" --out "$T/t3" >"$T/t3.log" 2>&1 \
  || { fail "3-rank training on the ptscotch shards"; tail "$T/t3.log"; }
"$PY" - "$T/t1/summary.json" "$T/t3/summary.json" <<'PY' && pass "3 ranks on the R=3 ptscotch shards = 1 rank" || fail "P-rank != 1-rank"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for k, v in a["test"].items():
    assert abs(v - b["test"][k]) <= 1e-5 * max(1.0, abs(v)), (k, v, b["test"][k])
PY

# Bad input under R = 2: the one-process message, exit 2, nothing left behind.
mkdir -p "$T/bad"
awk 'BEGIN { for (k = 1; k <= 2000; ++k) print (k == 1500 ? "3 abc" : (k % 50) " " (k % 37)) }' >"$T/bad/train.txt"
printf '0 1\n' >"$T/bad/test.txt"
mkdir -p "$T/huge"; printf '0 1\n1 2\n2147483648 0\n' >"$T/huge/train.txt"; printf '0 2\n' >"$T/huge/test.txt"
# expect CODE PATTERN ARGS... : under R = 2, tkg-partition ARGS exits CODE, prints PATTERN (once), writes nothing.
expect() {
  local code=$1 pattern=$2; shift 2
  rm -rf "$T/never"*
  "${MPI[@]}" -np 2 "$P" "$@" --out "$T/never" >"$T/out" 2>"$T/err"
  local got=$? n
  n=$(grep -c -- "$pattern" "$T/err")
  if [[ $got -ne $code || $n -ne 1 ]]; then fail "R=2 $*: exit $got (want $code), '$pattern' printed $n times: $(head -5 "$T/err")"; return; fi
  if ls -d "$T/never"* >/dev/null 2>&1; then fail "R=2 $*: left $(ls -d "$T/never"*)"; return; fi
  pass "R=2 $* -> $code ($pattern), nothing written"
}
expect 2 "bad/train.txt:1500: expected a non-negative integer item id, got 'abc'" --data "$T/bad" --parts 2 --method ptscotch
"$P" --data "$T/bad" --parts 2 --out "$T/x" 2>&1 | grep -q "bad/train.txt:1500: expected a non-negative integer item id, got 'abc'" \
  && pass "the one-process message is the same" || fail "one-process message differs"
expect 2 "huge/train.txt:3: user id 2147483648 is far beyond" --data "$T/huge" --parts 2 --method ptscotch
expect 2 "dataset directory does not exist" --data "$T/nope" --parts 2 --method ptscotch
expect 2 "under mpirun use ptscotch or hash" --data "$T/edges" --parts 2 --method metis
expect 2 "remap-ids" --data "$T/edges" --parts 2 --method ptscotch --remap-ids
expect 2 "give --data DIR" --file "$T/edges/train.txt" --parts 2 --method ptscotch
expect 2 "more parts" --data "$T/edges" --parts 100000 --method hash
TKG_FAULT_INJECT=fail@shard-write:1 expect 1 "injected failure at shard-write" --data "$DATA/Ali-Display" --parts 3 --method ptscotch
mkdir -p "$T/never"; echo keep >"$T/never/x"
"${MPI[@]}" -np 2 "$P" --data "$T/edges" --parts 2 --method hash --out "$T/never" >/dev/null 2>"$T/err"
[[ $? -eq 2 && -f $T/never/x ]] && grep -q "output directory exists" "$T/err" && pass "R=2: an existing output is refused and untouched" \
  || fail "R=2 existing output"
"${MPI[@]}" -np 2 "$P" --data "$T/edges" --parts 2 --method hash --out "$T/never" --force --quiet >/dev/null 2>&1 \
  && [[ ! -e $T/never/x && -f $T/never/meta.json ]] && pass "R=2 --force replaces" || fail "R=2 --force"

echo "distributed_partition_e2e: $fails failure(s)"
[[ $fails -eq 0 ]]
