#!/usr/bin/python3
"""Scaling study results: a CSV, PNG plots and a Markdown table from run directories.

(Debian's python3, which has python3-matplotlib from scripts/setup.sh.)
Usage:
  /usr/bin/python3 scripts/collect_scaling.py --study STUDY_DIR          (a study of slurm/scaling-study.sh)
  python3 scripts/collect_scaling.py [--kind strong|weak] [--metric NAME] [--out DIR] RUNDIR...

Each run directory holds summary.json and metrics.csv (tkg-train). Runs with the same number of
ranks are repeats: their spread (min..max) is reported and drawn as error bars.

Strong scaling (same graph at every P): speedup S(P) = T(P0) / T(P) and parallel efficiency
E(P) = S(P) · P0 / P. Weak scaling (work per rank fixed, e.g. the graph tiled P times):
efficiency E(P) = T(P0) / T(P). T is the mean time per epoch over repeats; P0 the smallest P.

Time split per rank (per epoch): compute (forward, backward, optimizer) and time inside
collectives, which is split into waiting for the slowest rank (its compute minus this rank's)
and transfer (the rest). The test metric is the model-selection metric of the runs (summary.json
`best_<metric>`), unless --metric names another; it must not change with P.

A finished run has summary.json (written atomically at its end); a run directory without one is
skipped with a note.

Writes OUT/scaling.csv (one row per P), OUT/scaling-runs.csv (one row per run and rank), and
OUT/speedup.png, efficiency.png, time_split.png, bytes.png, metric.png (matplotlib), and prints
the table. OUT defaults to the study directory (or the current directory).
"""
import argparse
import csv
import json
import os
import statistics
import sys


def load_run(d):
    """The run's numbers, or (None, reason)."""
    sp = os.path.join(d, "summary.json")
    if not os.path.isfile(sp):
        return None, "no summary.json (still running, failed or cancelled)"
    try:
        s = json.load(open(sp))
    except (OSError, ValueError) as e:
        return None, f"unreadable summary.json ({e})"
    if s.get("epochs_run", 0) <= 0 or s.get("seconds_per_epoch", 0) <= 0:
        return None, "no training epochs"
    return s, None


def select_metric(s, name):
    if name:
        return name
    for k in s:
        if k.startswith("best_") and k != "best_epoch":
            return k[len("best_"):]
    return "ndcg@20"


def part_edges(study, p):
    """(mean, max) local edges per rank of the study's partition for P = p, or ('', '')."""
    d = study.get("partitions", {}).get(str(p))
    try:
        e = json.load(open(os.path.join(d, "meta.json")))["local_edges_per_rank"]
        return sum(e) / len(e), max(e)
    except (TypeError, OSError, ValueError, KeyError, ZeroDivisionError):
        return "", ""


def per_rank_split(s):
    """[(compute, transfer, wait)] per rank, seconds per epoch."""
    pr = s.get("per_rank", {})
    comp = pr.get("compute_seconds_per_epoch") or [s["seconds_per_epoch"] - s.get("comm_seconds_per_epoch", 0.0)]
    comm = pr.get("comm_seconds_per_epoch") or [s.get("comm_seconds_per_epoch", 0.0)] * len(comp)
    top = max(comp)
    out = []
    for c, m in zip(comp, comm):
        wait = min(m, top - c)
        out.append((c, m - wait, wait))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--study", help="study directory (study.json, runs/)")
    ap.add_argument("--kind", choices=["strong", "weak"], help="default: the study's, else strong")
    ap.add_argument("--metric", help="test metric to report (default: the runs' model-selection metric)")
    ap.add_argument("--out", help="where the CSV and plots go")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("runs", nargs="*")
    a = ap.parse_args()

    study = {}
    dirs = list(a.runs)
    if a.study:
        sj = os.path.join(a.study, "study.json")
        if os.path.isfile(sj):
            study = json.load(open(sj))
        rd = os.path.join(a.study, "runs")
        if os.path.isdir(rd):
            dirs += sorted(os.path.join(rd, x) for x in os.listdir(rd))
    if not dirs:
        sys.exit("collect_scaling: no run directories (give RUNDIR... or --study DIR)")
    kind = a.kind or study.get("kind", "strong")
    out = a.out or a.study or "."
    os.makedirs(out, exist_ok=True)

    runs, notes = [], []
    for d in dirs:
        s, why = load_run(d)
        if s is None:
            notes.append(f"skipped {d}: {why}")
        else:
            runs.append((d, s))
    # summary.json is written (atomically) only when a run has finished; runs of different
    # lengths are still compared, with a note.
    lengths = sorted({s["epochs_run"] for _, s in runs})
    if len(lengths) > 1:
        notes.append(f"runs have different lengths ({lengths} epochs): s/epoch is compared, totals are not")
    if not runs:
        for n in notes:
            print("note:", n)
        sys.exit("collect_scaling: no complete run")
    metric = select_metric(runs[0][1], a.metric)

    by_p = {}
    for d, s in runs:
        by_p.setdefault(int(s["ranks"]), []).append((d, s))
    ps = sorted(by_p)
    p0 = ps[0]
    mean_t = {p: statistics.mean(s["seconds_per_epoch"] for _, s in by_p[p]) for p in ps}
    rows = []
    for p in ps:
        ts = [s["seconds_per_epoch"] for _, s in by_p[p]]
        t = mean_t[p]
        speedup = mean_t[p0] / t
        eff = speedup * p0 / p if kind == "strong" else mean_t[p0] / t
        splits = [per_rank_split(s) for _, s in by_p[p]]
        n_r = len(splits[0])
        comp = statistics.mean(statistics.mean(x[0] for x in sp) for sp in splits)
        tran = statistics.mean(statistics.mean(x[1] for x in sp) for sp in splits)
        wait = statistics.mean(statistics.mean(x[2] for x in sp) for sp in splits)
        rows.append({
            "ranks": p, "repeats": len(ts), "seconds_per_epoch": t, "seconds_per_epoch_min": min(ts),
            "seconds_per_epoch_max": max(ts), "speedup": speedup, "efficiency": eff,
            "compute_s": comp, "transfer_s": tran, "wait_s": wait,
            "bytes_sent_per_epoch": statistics.mean(s.get("bytes_sent_per_epoch", 0.0) for _, s in by_p[p]),
            "halo_bytes_per_epoch": statistics.mean(s.get("halo_bytes_per_epoch", 0.0) for _, s in by_p[p]),
            "negative_bytes_per_epoch": statistics.mean(s.get("negative_bytes_per_epoch", 0.0) for _, s in by_p[p]),
            "test_" + metric: statistics.mean(s["test"].get(metric, float("nan")) for _, s in by_p[p]),
            "peak_rss_mb": max(s.get("peak_rss_mb", 0.0) for _, s in by_p[p]),
            "threads_per_rank": by_p[p][0][1].get("threads_per_rank", 0),
            "edges_per_rank_mean": part_edges(study, p)[0],
            "edges_per_rank_max": part_edges(study, p)[1],
        })
        assert n_r >= 1
    with open(os.path.join(out, "scaling.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(out, "scaling-runs.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["run", "ranks", "rank", "seconds_per_epoch", "compute_s", "transfer_s", "wait_s", "peak_rss_mb",
                    "test_" + metric])
        for d, s in runs:
            rss = s.get("peak_rss_mb_per_rank", [])
            for r, (c, t, wt) in enumerate(per_rank_split(s)):
                w.writerow([d, s["ranks"], r, s["seconds_per_epoch"], c, t, wt, rss[r] if r < len(rss) else "",
                            s["test"].get(metric, "")])

    label = "strong scaling (same graph at every P)" if kind == "strong" else \
        "weak scaling (" + study.get("weak_note", "work per rank fixed") + ")"
    print(f"# {label}; test metric: {metric}; P0 = {p0}" + (f"; {study['dataset']}" if study.get("dataset") else ""))
    if rows[0]["edges_per_rank_mean"] != "":
        print("# local edges per rank (mean / max): " + ", ".join(
            f"P={r['ranks']}: {r['edges_per_rank_mean']:.0f} / {r['edges_per_rank_max']:.0f}" for r in rows))
    print(f"| ranks | runs | s/epoch (min..max) | speedup | efficiency | compute | transfer | wait | MiB sent/epoch | test {metric} | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['ranks']} | {r['repeats']} | {r['seconds_per_epoch']:.3f} ({r['seconds_per_epoch_min']:.3f}..{r['seconds_per_epoch_max']:.3f}) "
              f"| {r['speedup']:.2f} | {r['efficiency']:.0%} | {r['compute_s']:.3f} | {r['transfer_s']:.3f} | {r['wait_s']:.3f} "
              f"| {r['bytes_sent_per_epoch'] / 2**20:.1f} | {r['test_' + metric]:.4f} | {r['peak_rss_mb']:.0f} |")
    for n in notes:
        print("note:", n)
    if not a.no_plots:
        plot(rows, kind, metric, out, label, study.get("title", ""))


def plot(rows, kind, metric, out, label, title, projected=False):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib missing (apt-get install python3-matplotlib): no plots")
        return
    tag = " — PROJECTION" if projected else ""
    ps = [r["ranks"] for r in rows]
    p0 = ps[0]

    def fig(name, ylabel, draw):
        f, ax = plt.subplots(figsize=(5.5, 3.8))
        draw(ax)
        ax.set_xlabel("ranks P")
        ax.set_ylabel(ylabel)
        ax.set_xscale("log", base=2)
        ax.set_xticks(ps)
        ax.set_xticklabels([str(p) for p in ps])
        ax.set_title((title + "\n" if title else "") + label + tag, fontsize=9)
        ax.grid(True, alpha=0.3)
        f.tight_layout()
        f.savefig(os.path.join(out, name), dpi=120)
        plt.close(f)

    t = [r["seconds_per_epoch"] for r in rows]
    lo = [r["seconds_per_epoch"] - r["seconds_per_epoch_min"] for r in rows]
    hi = [r["seconds_per_epoch_max"] - r["seconds_per_epoch"] for r in rows]

    def speed(ax):
        if kind == "strong":
            sp = [r["speedup"] for r in rows]
            err_lo = [s - t[0] / (x + h) for s, x, h in zip(sp, t, hi)]
            err_hi = [t[0] / max(1e-12, x - l) - s for s, x, l in zip(sp, t, lo)]
            ax.errorbar(ps, sp, yerr=[err_lo, err_hi], marker="o", capsize=3, label="measured" if not projected else "projected")
            ax.plot(ps, [p / p0 for p in ps], "k--", label="ideal")
            ax.set_yscale("log", base=2)
        else:
            ax.errorbar(ps, t, yerr=[lo, hi], marker="o", capsize=3, label="s/epoch")
            ax.plot(ps, [t[0]] * len(ps), "k--", label="ideal (constant)")
        ax.legend()
    fig("speedup.png", "speedup T(P0)/T(P)" if kind == "strong" else "seconds per epoch", speed)

    def eff(ax):
        e = [100 * r["efficiency"] for r in rows]
        ax.plot(ps, e, marker="o", label="efficiency")
        ax.plot(ps, [100] * len(ps), "k--", label="ideal")
        ax.set_ylim(0, max(110, 1.1 * max(e)))
        ax.legend()
    fig("efficiency.png", "parallel efficiency %", eff)

    def split(ax):
        c = [r["compute_s"] for r in rows]
        tr = [r["transfer_s"] for r in rows]
        w = [r["wait_s"] for r in rows]
        ax.bar(ps, c, width=[p * 0.5 for p in ps], label="compute")
        ax.bar(ps, tr, bottom=c, width=[p * 0.5 for p in ps], label="communication")
        ax.bar(ps, w, bottom=[a + b for a, b in zip(c, tr)], width=[p * 0.5 for p in ps], label="waiting (imbalance)")
        ax.legend()
    fig("time_split.png", "seconds per epoch (mean over ranks)", split)

    def nbytes(ax):
        ax.plot(ps, [r["bytes_sent_per_epoch"] / 2**20 for r in rows], marker="o", label="all")
        ax.plot(ps, [r["halo_bytes_per_epoch"] / 2**20 for r in rows], marker="s", label="halo")
        ax.plot(ps, [r["negative_bytes_per_epoch"] / 2**20 for r in rows], marker="^", label="negatives")
        ax.legend()
    fig("bytes.png", "MiB sent per epoch (all ranks)", nbytes)

    def met(ax):
        v = [r["test_" + metric] for r in rows]
        ax.plot(ps, v, marker="o")
        m = max(v) if v else 1
        ax.set_ylim(0, 1.2 * m if m > 0 else 1)
    fig("metric.png", f"test {metric} (must be flat)", met)


if __name__ == "__main__":
    main()
