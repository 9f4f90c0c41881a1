#!/usr/bin/env python3
"""Return against sparsity for the three routes to a sparse CartPole policy, in one PNG + CSV:

  * pruned while training (GMP): sparq run directories, one point per run at its final sparsity;
  * pruned after training by sparq: `sparq prune --json` results (prune.json) of dense runs;
  * pruned after training by SB3 + torch.nn.utils.prune: the JSON of scripts/sb3-posthoc.

    scripts/dev/plot-pruning-routes --gmp RUN_DIR... --sparq-posthoc PRUNE_JSON... \
        [--sb3-posthoc SB3_JSON] --out routes.png [--csv routes.csv] [--title T]

Each route is drawn as its mean over seeds at each target sparsity (a line) with every seed as a
faint dot; the dense runs' mean is a dashed line. The CSV has one row per seed and sparsity:
route, seed_or_run, target_sparsity, sparsity, return_mean, episodes.
"""
import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path


def die(msg):
    print(f"plot-pruning-routes: {msg}", file=sys.stderr)
    sys.exit(1)


def read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        die(f"{path}: {e}")


def gmp_rows(run_dirs):
    """(run, target, sparsity, return, episodes) per GMP run, from summary.json and config.toml."""
    import tomllib
    rows = []
    for d in run_dirs:
        s = read_json(Path(d) / "summary.json")
        try:
            cfg = tomllib.loads((Path(d) / "config.toml").read_text())
            prune = cfg.get("prune", {})
            # A run's config.toml spells out every key; schedule "none" is a dense run.
            target = 0.0 if prune.get("schedule", "none") == "none" else float(prune.get("target_sparsity", 0.0))
            rows.append((str(d), target, float(s["sparsity"]["global"]), float(s["eval"]["return_mean"]),
                         int(s["eval"]["episodes"])))
        except (OSError, ValueError, KeyError, TypeError) as e:
            die(f"{d}: not a finished sparq run ({type(e).__name__}: {e})")
    return rows


def sparq_posthoc_rows(paths):
    rows = []
    for p in paths:
        j = read_json(p)
        try:
            for r in j["rows"]:
                rows.append((j["source"], float(r["target_sparsity"]), float(r["sparsity"]),
                             float(r["eval"]["return_mean"]), int(r["eval"]["episodes"])))
        except (KeyError, TypeError, ValueError) as e:
            die(f"{p}: not a sparq prune.json ({type(e).__name__}: {e})")
    return rows


def sb3_rows(path):
    j = read_json(path)
    rows = []
    try:
        for s in j["seeds"]:
            seed = f"sb3 seed {s['seed']}"
            rows.append((seed, 0.0, float(s["dense"]["achieved"]), float(s["dense"]["mean"]), int(s["dense"]["episodes"])))
            for r in s["pruned"]:
                rows.append((seed, float(r["sparsity"]), float(r["achieved"]), float(r["mean"]), int(r["episodes"])))
    except (KeyError, TypeError, ValueError) as e:
        die(f"{path}: not a scripts/bench/sb3-posthoc result ({type(e).__name__}: {e})")
    return rows


def by_target(rows):
    """Target sparsity -> (mean measured sparsity, mean return, [returns])."""
    groups = defaultdict(list)
    for _, target, sparsity, ret, _ in rows:
        groups[round(target, 4)].append((sparsity, ret))
    return {t: (sum(s for s, _ in v) / len(v), sum(r for _, r in v) / len(v), [r for _, r in v])
            for t, v in sorted(groups.items())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gmp", nargs="+", default=[], help="run dirs trained with [prune] (and dense twins)")
    ap.add_argument("--sparq-posthoc", nargs="+", default=[], help="prune.json files from sparq prune")
    ap.add_argument("--sb3-posthoc", help="JSON from scripts/bench/sb3-posthoc")
    ap.add_argument("--out", required=True)
    ap.add_argument("--csv")
    ap.add_argument("--title", default="CartPole-v1, [256, 256] DQN: pruning during vs after training")
    args = ap.parse_args()

    routes = {}
    if args.gmp:
        routes["sparq, pruned while training (GMP)"] = gmp_rows(args.gmp)
    if args.sparq_posthoc:
        routes["sparq, pruned after training (sparq prune, no fine-tuning)"] = sparq_posthoc_rows(args.sparq_posthoc)
    if args.sb3_posthoc:
        routes["SB3 2.9.2, pruned after training (torch prune, no fine-tuning)"] = sb3_rows(args.sb3_posthoc)
    if not routes:
        die("nothing to plot: give --gmp, --sparq-posthoc and/or --sb3-posthoc")

    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5))
    styles = ["o-", "s-", "^-"]
    for (name, rows), style in zip(routes.items(), styles):
        groups = by_target(rows)
        xs = [g[0] for g in groups.values()]
        ys = [g[1] for g in groups.values()]
        counts = sorted({len(g[2]) for g in groups.values()})
        seeds = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
        line, = ax.plot(xs, ys, style, label=f"{name}, mean of {seeds} seeds")
        for sparsity, _, rets in groups.values():
            ax.plot([sparsity] * len(rets), rets, "o", color=line.get_color(), alpha=0.25, markersize=4)
    ax.set_xlabel("sparsity of the Q-network's weights")
    ax.set_ylabel("greedy return (mean over 100 episodes)")
    ax.set_ylim(0, 520)
    ax.set_title(args.title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["route", "seed_or_run", "target_sparsity", "sparsity", "return_mean", "episodes"])
            for name, rows in routes.items():
                for r in rows:
                    w.writerow([name, *r])
    print(f"plot-pruning-routes: wrote {args.out}" + (f" and {args.csv}" if args.csv else ""))


if __name__ == "__main__":
    main()
