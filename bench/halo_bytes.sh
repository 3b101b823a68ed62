#!/usr/bin/env bash
# Layer-0 halo traffic per exchange (all ranks), fp32 rows vs GNAQ (packed codes + FP8 levels),
# from METIS partitions (ncon=2) at P = 2, 4, 8, d = 64; a halo row carries β (4 bytes) too.
# Usage: bash bench/halo_bytes.sh > docs/raw/halo-bytes.md
set -euo pipefail
cd "$(dirname "$0")/.."
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
echo "| dataset | P | halo rows | fp32 MiB | b=1 MiB | b=2 MiB | b=4 MiB | fp32 / b=2 |"
echo "|---|---|---|---|---|---|---|---|"
for data in Ali-Display Epinions gowalla; do
  for P in 2 4 8; do
    ./build/tkg-partition --data ../shared/data/$data --parts $P --quiet --out "$W/p" --force >/dev/null
    python3 - "$W/p" "$data" "$P" <<'PY'
import json, math, sys
m = json.load(open(sys.argv[1] + "/meta.json"))
rows, d = m["halo_total"], 64
fp32 = rows * (d + 1) * 4
q = {b: rows * (math.ceil(d * b / 8) + 2**b + 4) for b in (1, 2, 4)}
mib = lambda x: x / 2**20
print(f"| {sys.argv[2]} | {sys.argv[3]} | {rows} | {mib(fp32):.2f} | {mib(q[1]):.2f} | {mib(q[2]):.2f} | "
      f"{mib(q[4]):.2f} | {fp32 / q[2]:.1f}x |")
PY
  done
done
