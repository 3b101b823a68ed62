#!/usr/bin/env python3
"""Receptive field of a mini-batch step (issue: a mini-batch step that costs what the batch needs).

For batches of B train lines drawn as tkg-train draws them (a uniform sample of the lines, one
uniform negative item per line), the rows each layer must compute: layer L needs the batch's
users, positives and negatives; layer l - 1 needs those and all their neighbours. Prints, per
layer from the top, the nodes and the edges (both directions) a step restricted to its field
would touch, as counts and as shares of the whole graph. One process, the whole graph (P = 1).

usage: bench/receptive_field.py DATA_DIR [--layers 3] [--batches 2048,16384,131072] [--seed 0]
DATA_DIR holds train.txt in the adjacency format (user item item ...), as ../shared/data/gowalla.
Needs numpy and scipy (Debian: python3-numpy python3-scipy).
"""
import argparse
import os
import sys

import numpy as np
import scipy.sparse as sp


def read_adjacency(path):
    users, items = [], []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) < 2:
                continue
            u = int(p[0])
            its = [int(x) for x in p[1:]]
            users.extend([u] * len(its))
            items.extend(its)
    return np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data")
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--batches", default="2048,16384,131072")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    u, i = read_adjacency(os.path.join(a.data, "train.txt"))
    nu, ni = int(u.max()) + 1, int(i.max()) + 1
    n = nu + ni
    A = sp.coo_matrix((np.ones(len(u), dtype=np.float32), (u, i + nu)), shape=(n, n)).tocsr()
    A = (A + A.T).tocsr()
    A.data[:] = 1
    rng = np.random.default_rng(a.seed)
    print(f"{a.data}: {nu} users, {ni} items, {len(u)} train lines, {A.nnz} edges (both directions), L = {a.layers}")
    print("| lines per step | " + " | ".join(f"layer {l}: nodes, edges" for l in range(a.layers, 0, -1)) + " | layer 0 rows |")
    print("|---" * (a.layers + 2) + "|")
    for b in [int(x) for x in a.batches.split(",")]:
        pick = rng.choice(len(u), size=min(b, len(u)), replace=False)
        field = np.zeros(n, dtype=bool)
        field[u[pick]] = True
        field[i[pick] + nu] = True
        field[rng.integers(0, ni, size=len(pick)) + nu] = True
        cells = []
        for _ in range(a.layers):
            rows = A[field]
            cells.append(f"{field.sum():,} ({field.mean():.1%}), {rows.nnz:,} ({rows.nnz / A.nnz:.1%})")
            field = field | (np.asarray(rows.sum(axis=0)).ravel() > 0)
        print(f"| {b:,} | " + " | ".join(cells) + f" | {field.sum():,} ({field.mean():.1%}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
