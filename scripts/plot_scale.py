#!/usr/bin/env python3
"""Peak memory (summed over ranks) and seconds per epoch against graph size, from a CSV of
measured runs (docs/raw/scale/sizes.csv: graph, train_lines, nodes, ranks, seconds_per_epoch,
peak_rss_mb_rank0, peak_rss_mb_rank1, source). Usage: plot_scale.py CSV OUT.png"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

rows = list(csv.DictReader(open(sys.argv[1])))
x = [int(r["train_lines"]) for r in rows]
mem = [(float(r["peak_rss_mb_rank0"]) + float(r["peak_rss_mb_rank1"])) / 1024 for r in rows]
sec = [float(r["seconds_per_epoch"]) for r in rows]
fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
a.loglog(x, mem, "o-")
b.loglog(x, sec, "s-", color="tab:orange")
for r, xi, m, s in zip(rows, x, mem, sec):
    a.annotate(r["graph"], (xi, m), textcoords="offset points", xytext=(4, -10), fontsize=8)
    b.annotate(r["graph"], (xi, s), textcoords="offset points", xytext=(4, -10), fontsize=8)
a.set(xlabel="train lines", ylabel="peak RSS, both ranks (GiB)", title="memory, P = 2 (measured)")
b.set(xlabel="train lines", ylabel="seconds per epoch", title="epoch time, P = 2, 1 thread/rank (measured)")
for ax in (a, b):
    ax.grid(True, which="both", alpha=0.3)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
for r, xi, m in zip(rows, x, mem):
    print(f"{r['graph']}: {m * 1024 ** 3 / xi:.0f} bytes per train line (both ranks), {float(r['seconds_per_epoch']) / xi * 1e6:.2f} us per line per epoch")
