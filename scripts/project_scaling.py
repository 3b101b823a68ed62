#!/usr/bin/python3
"""PROJECTED epoch time of distributed TopKGAT training at P ranks, from measured per-rank
compute (tkg-project) and an alpha-beta model of every collective of the step.

Usage:
  /usr/bin/python3 scripts/project_scaling.py --probe PROBE.csv [--probe MORE.csv] --machine cpu|h100
      [--kind strong|weak] [--calibration COMM.csv] [--ranks-per-node N] [--alpha-intra S]
      [--beta-intra B/s] [--alpha-inter S] [--beta-inter B/s] [--title T] --out DIR

PROBE.csv: rows of `tkg-project --partition PDIR ...` (one per rank of each partition): each
shard's step run for real, one shard after another (compute by phase, measured), and the volumes
its collectives move (from the shard: halo rows, distinct remote negatives).

The step's collectives (src/train/trainer.cpp, full batch), each an all-to-all-v unless noted:
  forward   L layer halo exchanges of d+1 floats per row (rows and beta), the final halo exchange
            (d floats), the negative fetch: directory lookup (8-byte ids out, 4-byte owners back),
            requests to the owners (16 bytes per distinct remote negative), the rows back (4d);
            two all-reduces (line count, loss)
  backward  the fetched rows' gradients back to their owners (4d), the final and the L layer
            halo gradients (reverse exchanges)
One all-to-all-v on rank r costs alpha * peers_r + bytes_r / beta, bytes_r = max(sent, received);
when P exceeds the ranks per node, the share (P - N) / (P - 1) of a rank's bytes crosses nodes
(peers uniform) at the inter-node bandwidth. A collective ends when its slowest rank is done, so
  T(P) = max_r compute_r + sum over collectives of max_r t_r + all-reduces (alpha * log2 P each).
With overlap (model.overlap, src/model/overlapped_layer.cpp), each layer's exchange (forward
and backward) runs while the edges among owned nodes are computed: it saves
min(h * t_exchange, compute of those edges) per exchange, where h is the share of the exchange
that can proceed without the rank's own core: h = (1 - f) * h_intra + f * h_inter, f the
inter-node share of its bytes. Measured on this machine (bench/overlap.sh, docs/scaling.md):
shared-memory MPI moves the rows with the ranks' own cores (the copy happens inside the
MPI_Test calls made between blocks of interior edges), so nothing is hidden: h_intra = 0 for
CPU ranks. Between nodes an RDMA NIC moves the bytes (h_inter = 1, an assumption, not measured).
On GPUs NCCL's kernels run beside the interior edges' kernels (h = 1, an assumption); note that
the engine does not overlap over NCCL yet (its exchange is blocking), so the H100 "with overlap"
columns are a design's projection, not the shipped code's.

Machines (defaults; every value is an option):
  cpu   ranks of this machine's cores, each running with the probe's threads; intra-node
        alpha/beta from --calibration (tkg-project --calibrate under mpirun -np 2, this machine's
        shared-memory MPI); inter-node InfiniBand NDR 400 Gb/s = 50 GB/s per node shared by its
        ranks, alpha 2 us (typical MPI latency over InfiniBand); 16 ranks per node.
  h100  8 GPUs per node over NVLink 4 (450 GB/s per GPU and direction, NVIDIA's H100 SXM figure;
        alpha 10 us per NCCL exchange, an assumption), InfiniBand NDR 400 Gb/s per GPU between
        nodes (50 GB/s, alpha 20 us). A GPU rank's compute is MODELLED from docs/gpu.md: the
        measured H100 gowalla epoch (58.5 ms at P = 1) split into host-side work proportional
        to the rank's train lines (48.5 ms for gowalla's 810,128 lines) and kernel time
        proportional to its edges (10 ms for 1,620,256 edges; the bytes they move need a few
        ms at the GPU's bandwidth); the split itself is an assumption, not a measurement.

Writes DIR/projection.csv (one row per P), DIR/projection-ranks.csv (per rank), and the plots of
scripts/collect_scaling.py (titled PROJECTION), with and without overlap.
"""
import argparse
import csv
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collect_scaling  # noqa: E402  (plots)

GOWALLA_LINES, GOWALLA_EDGES = 810128, 1620256
H100_HOST_S, H100_KERNEL_S = 0.0485, 0.010


def fit_calibration(path):
    """alpha (s), beta (bytes/s) from tkg-project --calibrate rows (least squares on t = a + b/beta)."""
    rows = [r for r in csv.DictReader(open(path))]
    xs = [float(r["bytes_per_peer"]) * (int(r["ranks"]) - 1) for r in rows]
    ts = [float(r["seconds"]) for r in rows]
    small = [t for x, t in zip(xs, ts) if x <= 4096]
    alpha = min(small) if small else min(ts)
    big = [(x, t) for x, t in zip(xs, ts) if x >= (1 << 20)]
    beta = sum(x for x, _ in big) / max(1e-12, sum(t - alpha for _, t in big))
    return alpha, beta


def load_probe(paths):
    by_p = {}
    for p in paths:
        for r in csv.DictReader(open(p)):
            by_p.setdefault(int(r["parts"]), []).append({k: float(v) for k, v in r.items()})
    return by_p


def rank_compute(r, machine, scale=1.0):
    if machine == "h100":
        return r["lines"] / GOWALLA_LINES * H100_HOST_S + r["nnz"] / GOWALLA_EDGES * H100_KERNEL_S
    return r["total_s"] * scale


def project(ranks, P, a, overlap, rpn=None, oversubscribe=1.0):
    d, L = int(ranks[0]["dim"]), int(ranks[0]["layers"])
    rpn = rpn or a.ranks_per_node
    f_inter = max(0, P - rpn) / (P - 1) if P > 1 else 0.0

    def t_a2a(bytes_r, peers_r):
        if P == 1:
            return 0.0
        alpha = a.alpha_inter if f_inter > 0 else a.alpha_intra
        beta_inter = a.beta_inter / (rpn if a.machine == "cpu" else 1)  # CPU: a node's NIC is shared
        return alpha * peers_r + bytes_r * ((1 - f_inter) / a.beta_intra + f_inter / beta_inter)

    comp = [rank_compute(r, a.machine, a.compute_scale) * oversubscribe for r in ranks]
    cmax = max(comp)
    # Per collective: each rank's time; the collective takes the slowest.
    halo_l = [t_a2a(4 * (d + 1) * max(r["send_rows"], r["recv_rows"]), max(r["send_peers"], r["recv_peers"])) for r in ranks]
    halo_f = [t_a2a(4 * d * max(r["send_rows"], r["recv_rows"]), max(r["send_peers"], r["recv_peers"])) for r in ranks]
    peers_all = P - 1
    neg_ids = [t_a2a(8 * r["fetched"], peers_all) + t_a2a(4 * r["fetched"], peers_all) for r in ranks]
    neg_req = [t_a2a(16 * r["fetched"], peers_all) for r in ranks]
    neg_rows = [t_a2a(4 * d * r["fetched"], peers_all) for r in ranks]
    layer_x = max(halo_l)
    colls = 2 * L * layer_x + 2 * max(halo_f) + max(neg_ids) + max(neg_req) + 2 * max(neg_rows)
    allred = 2 * (a.alpha_inter if f_inter > 0 else a.alpha_intra) * math.ceil(math.log2(P)) if P > 1 else 0.0
    saved = 0.0
    if overlap and P > 1:
        # Interior edges of the slowest rank's layers, forward and backward, overlap the share h
        # of the exchange that does not need the rank's core.
        h = (1 - f_inter) * a.overlap_hides_intra + f_inter * a.overlap_hides_inter
        r = ranks[comp.index(cmax)]
        f_int = 1 - r["nnz_halo"] / max(1.0, r["nnz"])
        scale = comp[comp.index(cmax)] / max(1e-12, r["total_s"])
        fwd_int = f_int * r["forward_s"] / max(1, L) * scale
        bwd_int = f_int * r["backward_s"] * 0.8 / max(1, L) * scale  # ~80 % of the backward is the layers
        saved = L * (min(h * layer_x, fwd_int) + min(h * layer_x, bwd_int))
    T = cmax + colls + allred - saved
    per_rank = []
    for c in comp:
        per_rank.append((c, colls + allred - saved, cmax - c))
    return T, cmax, sum(comp) / len(comp), colls + allred - saved, per_rank


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--probe", action="append", required=True)
    ap.add_argument("--machine", choices=["cpu", "h100"], default="cpu")
    ap.add_argument("--kind", choices=["strong", "weak"], default="strong")
    ap.add_argument("--calibration")
    ap.add_argument("--ranks-per-node", type=int)
    ap.add_argument("--alpha-intra", type=float)
    ap.add_argument("--beta-intra", type=float)
    ap.add_argument("--alpha-inter", type=float)
    ap.add_argument("--beta-inter", type=float)
    ap.add_argument("--title", default="")
    ap.add_argument("--measured", default="", help='measured s/epoch on this machine, "1=0.61 2=0.36 4=0.45": '
                    "P = 1 calibrates the CPU compute (measured / probe), the others validate (one node)")
    ap.add_argument("--overlap-hides-intra", type=float, help="share of an intra-node exchange overlap can hide "
                    "(default: cpu 0, measured; h100 1, assumed)")
    ap.add_argument("--overlap-hides-inter", type=float, help="share of an inter-node exchange overlap can hide (default 1, assumed)")
    ap.add_argument("--measured-overlap", default="", help='measured s/epoch with model.overlap = true, "2=0.35": '
                    "validates the projection with overlap (one node)")
    ap.add_argument("--cores", type=int, default=2, help="cores of the machine the measured runs used (P above it oversubscribes)")
    ap.add_argument("--compute-scale", type=float, help="factor on the probe's compute (default: from --measured P = 1, else 1)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.machine == "h100":
        d = dict(ranks_per_node=8, alpha_intra=10e-6, beta_intra=450e9, alpha_inter=20e-6, beta_inter=50e9,
                 overlap_hides_intra=1.0, overlap_hides_inter=1.0)
    else:
        d = dict(ranks_per_node=16, alpha_intra=5e-6, beta_intra=10e9, alpha_inter=2e-6, beta_inter=50e9,
                 overlap_hides_intra=0.0, overlap_hides_inter=1.0)
        if a.calibration:
            d["alpha_intra"], d["beta_intra"] = fit_calibration(a.calibration)
    for k, v in d.items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    os.makedirs(a.out, exist_ok=True)
    by_p = load_probe(a.probe)
    measured = {int(k): float(v) for k, v in (x.split("=") for x in a.measured.split())}
    if a.compute_scale is None:
        a.compute_scale = measured[1] / max(r["total_s"] for r in by_p[1]) if 1 in measured and 1 in by_p else 1.0
    ps = sorted(by_p)
    res = {}
    for overlap in (False, True):
        res[overlap] = {p: project(by_p[p], p, a, overlap) for p in ps}
    p0 = ps[0]
    rows = []
    for p in ps:
        T, cmax, cmean, comm, _ = res[False][p]
        To = res[True][p][0]
        T0, T0o = res[False][p0][0], res[True][p0][0]
        if a.kind == "strong":
            eff, effo = T0 * p0 / (T * p), T0o * p0 / (To * p)
        else:
            eff, effo = T0 / T, T0o / To
        rows.append({"ranks": p, "projected_seconds_per_epoch": T, "projected_seconds_per_epoch_overlap": To,
                     "speedup": T0 / T, "efficiency": eff, "speedup_overlap": T0o / To, "efficiency_overlap": effo,
                     "compute_max_s": cmax, "compute_mean_s": cmean, "communication_s": comm,
                     "communication_s_overlap": res[True][p][3],
                     "halo_rows_per_exchange": sum(r["send_rows"] for r in by_p[p]),
                     "fetched_per_step": sum(r["fetched"] for r in by_p[p]),
                     "edges_per_rank_max": max(r["nnz"] for r in by_p[p]) / 2,
                     "machine": a.machine, "alpha_intra": a.alpha_intra, "beta_intra": a.beta_intra,
                     "alpha_inter": a.alpha_inter, "beta_inter": a.beta_inter, "ranks_per_node": a.ranks_per_node})
    with open(os.path.join(a.out, "projection.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(a.out, "projection-ranks.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ranks", "rank", "compute_s", "communication_s", "wait_s", "measured_cpu_compute_s"])
        for p in ps:
            for k, (c, m, wt) in enumerate(res[False][p][4]):
                w.writerow([p, k, c, m, wt, by_p[p][k]["total_s"]])
    print(f"# PROJECTION ({a.machine}, {a.kind} scaling; compute x {a.compute_scale:.3f}): alpha/beta intra {a.alpha_intra * 1e6:.1f} us / "
          f"{a.beta_intra / 1e9:.1f} GB/s, inter {a.alpha_inter * 1e6:.1f} us / {a.beta_inter / 1e9:.1f} GB/s, "
          f"{a.ranks_per_node} ranks per node; overlap hides {a.overlap_hides_intra:g} of an intra-node and "
          f"{a.overlap_hides_inter:g} of an inter-node exchange")
    print("| P | projected s/epoch | efficiency | with overlap | efficiency | compute max | compute mean | communication |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['ranks']} | {r['projected_seconds_per_epoch']:.4f} | {r['efficiency']:.0%} | "
              f"{r['projected_seconds_per_epoch_overlap']:.4f} | {r['efficiency_overlap']:.0%} | {r['compute_max_s']:.4f} | "
              f"{r['compute_mean_s']:.4f} | {r['communication_s']:.4f} |")
    if a.machine == "cpu" and measured:
        print(f"# validation on this machine (one node, {a.cores} cores; compute x {a.compute_scale:.3f} from the measured P = 1"
              f"{'' if 1 in measured else ' (none given)'}; P above {a.cores} oversubscribed: compute x P/{a.cores})")
        print("| P | measured s/epoch | projected | error |")
        print("|---|---|---|---|")
        val = []
        measured_ov = {int(k): float(v) for k, v in (x.split("=") for x in a.measured_overlap.split())}
        runs = [(p, m, False) for p, m in sorted(measured.items())] + [(p, m, True) for p, m in sorted(measured_ov.items())]
        for p, m, ov in runs:
            if p not in by_p:
                continue
            T = project(by_p[p], p, a, ov, rpn=max(p, 1), oversubscribe=max(1.0, p / a.cores))[0]
            # Intra-node only: the calibration's alpha/beta.
            note = " (calibration point)" if p == 1 and not ov else (" (with overlap)" if ov else "")
            print(f"| {p} | {m:.4f} | {T:.4f} | {100 * (T / m - 1):+.1f} %{note} |")
            val.append({"ranks": p, "overlap": int(ov), "measured": m, "projected": T, "error": T / m - 1})
        with open(os.path.join(a.out, "validation.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["ranks", "overlap", "measured", "projected", "error"])
            w.writeheader()
            w.writerows(val)
    # The plots of a measured study, from the projected numbers (without and with overlap).
    for overlap, sub in ((False, "no-overlap"), (True, "overlap")):
        prow = []
        for p in ps:
            T, cmax, cmean, comm, _ = res[overlap][p]
            T0 = res[overlap][p0][0]
            prow.append({"ranks": p, "seconds_per_epoch": T, "seconds_per_epoch_min": T, "seconds_per_epoch_max": T,
                         "speedup": T0 / T, "efficiency": (T0 * p0 / (T * p)) if a.kind == "strong" else T0 / T,
                         "compute_s": cmean, "transfer_s": comm, "wait_s": cmax - cmean,
                         "bytes_sent_per_epoch": 0.0, "halo_bytes_per_epoch": 0.0, "negative_bytes_per_epoch": 0.0,
                         "test_projection": 0.0})
            # Bytes per epoch (all ranks): halo forward + backward, negatives.
            d, L = int(by_p[p][0]["dim"]), int(by_p[p][0]["layers"])
            halo = sum(r["send_rows"] for r in by_p[p]) * 4 * (2 * L * (d + 1) + 2 * d)
            neg = sum(r["fetched"] for r in by_p[p]) * (12 + 16 + 2 * 4 * d)
            prow[-1].update(bytes_sent_per_epoch=halo + neg, halo_bytes_per_epoch=halo, negative_bytes_per_epoch=neg)
        od = os.path.join(a.out, sub)
        os.makedirs(od, exist_ok=True)
        label = f"{a.kind} scaling, {a.machine}, {'with' if overlap else 'without'} overlap"
        collect_scaling.plot(prow, a.kind, "projection", od, label, a.title, projected=True)
        os.remove(os.path.join(od, "metric.png")) if os.path.exists(os.path.join(od, "metric.png")) else None


if __name__ == "__main__":
    main()
