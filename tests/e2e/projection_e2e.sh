#!/usr/bin/env bash
# tkg-project and scripts/project_scaling.py on Ali-Display (P = 1, 2): the probe's rows and
# volumes agree with the partitions, the calibration runs under mpirun, the projection writes its
# CSV and plots (titled as a projection) and its validation table.
# Usage: projection_e2e.sh BUILD_DIR SOURCE_DIR SHARED_DATA_DIR
set -u
BUILD=$1; SRC=$2; DATA=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
fails=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
for P in 1 2; do "$BUILD/tkg-partition" --data "$DATA/Ali-Display" --parts $P --out "$T/p$P" --quiet >/dev/null; done
"$BUILD/tkg-project" --partition "$T/p1" --partition "$T/p2" --layers 2 --dim 32 --reps 0 --out "$T/probe.csv" 2>"$T/probe.err" \
  && pass "probe ran" || { fail "probe"; cat "$T/probe.err"; }
"$BUILD/tkg-project" --partition "$T/p1" --out "$T/x.csv" --layers -1 >/dev/null 2>&1; [[ $? -ne 0 ]] && pass "bad option refused" || fail "bad option accepted"
OMP_NUM_THREADS=1 mpiexec --bind-to none -np 2 "$BUILD/tkg-project" --calibrate --out "$T/comm.csv" >/dev/null 2>&1 \
  && [[ $(wc -l < "$T/comm.csv") -ge 8 ]] && pass "calibration" || fail "calibration"
"$PY" - "$T" <<'PY' && pass "probe rows match the partitions" || fail "probe rows"
import csv, json, sys
T = sys.argv[1]
rows = list(csv.DictReader(open(f"{T}/probe.csv")))
assert [(int(r["parts"]), int(r["rank"])) for r in rows] == [(1, 0), (2, 0), (2, 1)], rows
m1, m2 = json.load(open(f"{T}/p1/meta.json")), json.load(open(f"{T}/p2/meta.json"))
assert int(rows[0]["nnz"]) == 2 * m1["n_train_lines"] and int(rows[0]["n_halo"]) == 0 and int(rows[0]["fetched"]) == 0
assert sum(int(r["recv_rows"]) for r in rows[1:]) == m2["halo_total"]
assert sum(int(r["send_rows"]) for r in rows[1:]) == m2["halo_total"]  # every halo row is someone's send row
assert all(int(r["fetched"]) > 0 and float(r["total_s"]) > 0 for r in rows[1:])
assert sum(int(r["lines"]) for r in rows[1:]) == int(rows[0]["lines"]) == m1["n_train_lines"]
PY
# Measured epochs of the probed model (L = 2, d = 32) at P = 1 and 2 on these partitions, one
# thread per rank as the probe ran: the projection is calibrated on P = 1 and validated on P = 2.
TRAIN=(--config "$SRC/configs/ali-display.ini" --model.layers 2 --model.dim 32 --train.epochs 21 --eval.every 21
       --eval.users 50 --output.embeddings false --output.checkpoint false --train.threads 1)
OMP_NUM_THREADS=1 "$BUILD/tkg-train" "${TRAIN[@]}" --partition "$T/p1" --out "$T/m1" >"$T/m1.log" 2>&1 || { fail "P=1 run"; cat "$T/m1.log"; }
OMP_NUM_THREADS=1 mpiexec --bind-to none -np 2 "$BUILD/tkg-train" "${TRAIN[@]}" --partition "$T/p2" --out "$T/m2" >"$T/m2.log" 2>&1 \
  || { fail "P=2 run"; cat "$T/m2.log"; }
M1=$("$PY" -c "import json; print(json.load(open('$T/m1/summary.json'))['seconds_per_epoch'])")
M2=$("$PY" -c "import json; print(json.load(open('$T/m2/summary.json'))['seconds_per_epoch'])")
"$PY" "$SRC/scripts/project_scaling.py" --probe "$T/probe.csv" --machine cpu --calibration "$T/comm.csv" \
  --measured "1=$M1 2=$M2" --out "$T/proj" > "$T/proj.out" 2>&1 \
  && grep -q "PROJECTION (cpu" "$T/proj.out" \
  && [[ -s $T/proj/overlap/speedup.png && -s $T/proj/no-overlap/time_split.png ]] \
  && "$PY" - "$T" "$M1" "$M2" <<'PY' && pass "projection CSV, validation against measured runs, plots" || { fail "projection"; cat "$T/proj.out"; }
import csv, sys
T, m1, m2 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
probe = {(int(r["parts"]), int(r["rank"])): r for r in csv.DictReader(open(f"{T}/probe.csv"))}
r = list(csv.DictReader(open(f"{T}/proj/projection.csv")))
assert len(r) == 2 and abs(float(r[0]["efficiency"]) - 1) < 1e-9 and float(r[1]["communication_s"]) > 0
assert float(r[1]["projected_seconds_per_epoch_overlap"]) <= float(r[1]["projected_seconds_per_epoch"])
# Calibration: compute is scaled so that P = 1 projects to its measured epoch (no communication).
scale = m1 / float(probe[(1, 0)]["total_s"])
assert abs(float(r[0]["projected_seconds_per_epoch"]) - m1) < 1e-6 * m1, (r[0], m1)
assert abs(float(r[1]["compute_max_s"]) - scale * max(float(probe[(2, k)]["total_s"]) for k in (0, 1))) < 1e-6 * m1
v = {int(x["ranks"]): x for x in csv.DictReader(open(f"{T}/proj/validation.csv"))}
assert abs(float(v[1]["measured"]) - m1) < 1e-9 and abs(float(v[2]["measured"]) - m2) < 1e-9
for p in (1, 2):
    e = float(v[p]["projected"]) / float(v[p]["measured"]) - 1
    assert abs(float(v[p]["error"]) - e) < 1e-9, v[p]
assert abs(float(v[1]["error"])) < 1e-6, v[1]
# P = 2 validated: the projection lands within a factor 3 of the measured epoch. docs/scaling.md
# records the actual errors; on Ali-Display the two ranks share two cores' caches, which the probe
# (one shard at a time) does not see, and on a CI machine that has measured -52 %. This bounds
# gross mistakes such as a missing term or a unit (a factor of 1000), not the model's accuracy.
assert 1 / 3 < float(v[2]["projected"]) / m2 < 3.0, (v[2], m2)
PY
"$PY" "$SRC/scripts/project_scaling.py" --probe "$T/probe.csv" --machine h100 --out "$T/proj-gpu" >/dev/null 2>&1 \
  && pass "h100 projection" || fail "h100 projection"
[[ $fails -eq 0 ]] && echo "projection_e2e: all ok" || { echo "projection_e2e: $fails failure(s)"; exit 1; }
