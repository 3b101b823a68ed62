#!/usr/bin/env bash
# The long measurements of docs/, one after another (one job at a time on 2 cores).
# Usage: nohup bash bench/queue.sh > runs/queue.log 2>&1 &
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p docs/raw runs
bash bench/gnaq.sh configs/ali-display.ini ali 200 > docs/raw/gnaq-ali.md
./build/tkg-train --config configs/gowalla.ini --train.epochs 400 --output.progress false --out runs/gowalla \
  > runs/gowalla.log 2>&1
./build/tkg-train --config configs/gowalla-lightgcn.ini --train.epochs 400 --output.progress false \
  --out runs/gowalla-lightgcn > runs/gowalla-lightgcn.log 2>&1
{ bash bench/distributed.sh ../shared/data/Ali-Display configs/ali-display.ini 100 50
  bash bench/distributed.sh ../shared/data/gowalla configs/gowalla.ini 10 10; } > docs/raw/distributed.md
bash bench/gnaq.sh configs/epinions.ini epinions 200 bits > docs/raw/gnaq-epinions.md
echo "queue done"
