#!/usr/bin/env bash
# A strong and a weak scaling study (P = 1, 2) on a local Slurm cluster, end to end with the one
# study command (slurm/scaling-study.sh --wait): partition jobs, training jobs, the collect job;
# checks the CSV (efficiency definitions, flat test metric, per-rank split, edges per rank), the
# PNG plots, a second study reusing the partition cache, and the collect job's note for a run
# that never finished. Stops exactly the daemons it started.
# Usage: scaling_study_e2e.sh BUILD_DIR SOURCE_DIR SHARED_DATA_DIR
set -u
BUILD=$1; SRC=$2; DATA=$3
T=$(mktemp -d)
chmod 755 "$T"
cleanup() { bash "$SRC/launch/local-slurm.sh" stop "$T/cluster" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT
fails=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
eval "$(bash "$SRC/launch/local-slurm.sh" start "$T/cluster")" || { echo "FAIL: cluster did not start"; exit 1; }
export TKG_BUILD_DIR=$BUILD TKG_BIN=$BUILD/tkg-train
cd "$T"
opts=(-- --train.epochs 3 --eval.every 3 --output.progress false)

timeout 600 bash "$SRC/slurm/scaling-study.sh" --wait strong "$DATA/Ali-Display" "$SRC/configs/smoke.ini" "1 2" "$T/strong" \
  "${opts[@]}" > "$T/strong.out" 2>&1 && pass "strong study ran to the table" || { fail "strong study"; cat "$T/strong.out"; cat "$T"/strong/logs/* 2>/dev/null | tail -40; }
# The weak study's partition jobs run the distributed partition (2 tasks, PT-Scotch).
timeout 600 bash "$SRC/slurm/scaling-study.sh" --wait --partition-ranks 2 weak "$DATA/Ali-Display" "$SRC/configs/smoke.ini" "1 2" \
  "$T/weak" "${opts[@]}" > "$T/weak.out" 2>&1 && pass "weak study ran to the table" || { fail "weak study"; cat "$T/weak.out"; cat "$T"/weak/logs/part* 2>/dev/null | tail -20; }
grep -q '"processes": 2' "$T"/weak/cache/*-x2-P2-*/meta.json && grep -q '"method": "ptscotch"' "$T"/weak/cache/*-x2-P2-*/meta.json \
  && pass "weak study: partition jobs ran tkg-partition --method ptscotch with 2 tasks" || fail "weak study partition method"
# slurm/partition.sbatch: the distributed partition as one job.
jid=$(sbatch --parsable --ntasks 2 --output "$T/psb-%j.out" --export=ALL,TKG_BIN="$BUILD/tkg-partition" \
        "$SRC/slurm/partition.sbatch" "$DATA/Ali-Display" 3 "$T/psb" --quiet)
for _ in $(seq 1 240); do
  st=$(scontrol show job -o "$jid" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
  [[ -n $st && $st != PENDING && $st != RUNNING && $st != CONFIGURING && $st != COMPLETING ]] && break
  sleep 0.5
done
[[ ${st:-} == COMPLETED && -f $T/psb/shard-00002.bin ]] && grep -q '"processes": 2' "$T/psb/meta.json" \
  && pass "slurm/partition.sbatch: 3 shards from 2 tasks" || { fail "partition.sbatch: ${st:-?}"; cat "$T"/psb-*.out; }

PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
"$PY" - "$T" <<'PY' && pass "CSV: efficiencies, flat metric, time split, edges per rank; plots" || fail "CSV or plots"
import csv, json, sys, os
T = sys.argv[1]
for kind in ("strong", "weak"):
    rows = list(csv.DictReader(open(f"{T}/{kind}/scaling.csv")))
    assert [int(r["ranks"]) for r in rows] == [1, 2], rows
    t1, t2 = float(rows[0]["seconds_per_epoch"]), float(rows[1]["seconds_per_epoch"])
    eff = float(rows[1]["efficiency"])
    want = (t1 / t2) / 2 if kind == "strong" else t1 / t2
    assert abs(eff - want) < 1e-9, (kind, eff, want)
    m = [float(r["test_ndcg@20"]) for r in rows]
    if kind == "strong":
        assert abs(m[0] - m[1]) < 1e-4, m  # P ranks compute what 1 rank computes
    for r in rows:
        assert float(r["compute_s"]) > 0 and float(r["wait_s"]) >= 0 and float(r["transfer_s"]) >= 0, r
        assert float(r["edges_per_rank_mean"]) > 0, r
    if kind == "weak":  # tiled P times: edges per rank about constant
        e1, e2 = float(rows[0]["edges_per_rank_mean"]), float(rows[1]["edges_per_rank_mean"])
        assert 0.8 < e2 / e1 < 1.25, (e1, e2)
        assert "weak scaling (edges per rank fixed" in open(f"{T}/{kind}/scaling.md").read()
    assert float(rows[1]["bytes_sent_per_epoch"]) > 0 and float(rows[0]["bytes_sent_per_epoch"]) == 0
    runs = list(csv.DictReader(open(f"{T}/{kind}/scaling-runs.csv")))
    assert len(runs) == 3, runs  # P=1: one rank, P=2: two
    for png in ("speedup", "efficiency", "time_split", "bytes", "metric"):
        b = open(f"{T}/{kind}/{png}.png", "rb").read()
        assert b[:8] == b"\x89PNG\r\n\x1a\n" and len(b) > 5000, (kind, png, len(b))
PY

# A second strong study with the same inputs reuses the cached partitions (no partition job).
timeout 600 bash "$SRC/slurm/scaling-study.sh" --wait --cache "$T/strong/cache" strong "$DATA/Ali-Display" \
  "$SRC/configs/smoke.ini" "2" "$T/again" "${opts[@]}" > "$T/again.out" 2>&1 \
  && grep -q "P=2: partition cached" "$T/again.out" && ! grep -q "partition job" "$T/again.out" \
  && pass "partition cache reused" || { fail "cache"; cat "$T/again.out"; }

# A run that never finished (no summary.json) is skipped with a note, not counted.
mkdir -p "$T/strong/runs/P4-r1"
"$PY" "$SRC/scripts/collect_scaling.py" --study "$T/strong" --no-plots > "$T/recollect.out" 2>&1 \
  && grep -q "skipped .*P4-r1: no summary.json" "$T/recollect.out" && pass "incomplete run skipped with a note" \
  || { fail "incomplete run"; cat "$T/recollect.out"; }

[[ $fails -eq 0 ]] && echo "scaling_study_e2e: all ok" || { echo "scaling_study_e2e: $fails failure(s)"; exit 1; }
