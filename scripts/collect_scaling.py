#!/usr/bin/env python3
"""Tabulates scaling runs: one row per run directory (summary.json + metrics.csv).

Usage: python3 scripts/collect_scaling.py RUNDIR...   (prints a Markdown table)
Speedup and efficiency are relative to the run with the fewest ranks.
"""
import csv
import json
import sys


def load(d):
    s = json.load(open(f"{d}/summary.json"))
    rows = list(csv.DictReader(open(f"{d}/metrics.csv")))[:-1]  # the last row is the final test evaluation
    comm = sum(float(r["comm_s"]) for r in rows)
    train = sum(float(r["train_s"]) for r in rows)
    mb = sum(float(r["bytes_sent"]) for r in rows) / max(1, s["epochs_run"]) / 2**20
    return s, comm / max(train, 1e-9), mb


runs = sorted((load(d) + (d,) for d in sys.argv[1:]), key=lambda r: r[0]["ranks"])
if not runs:
    sys.exit("no run directories given")
base = runs[0][0]
print("| ranks | s/epoch | speedup | efficiency | comm share | MiB sent/epoch | test ndcg@20 | peak RSS MiB | run |")
print("|---|---|---|---|---|---|---|---|---|")
for s, comm_share, mb, d in runs:
    sp = base["seconds_per_epoch"] / s["seconds_per_epoch"]
    eff = sp / (s["ranks"] / base["ranks"])
    print(f"| {s['ranks']} | {s['seconds_per_epoch']:.3f} | {sp:.2f} | {eff:.2f} | {comm_share:.0%} | {mb:.1f} | "
          f"{s['test']['ndcg@20']:.4f} | {s['peak_rss_mb']:.0f} | {d} |")
