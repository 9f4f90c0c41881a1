#!/usr/bin/env python3
"""Learning curves from sparq run directories: a PNG with one line per run and a CSV of the points.

    scripts/dev/plot-curves RUN_DIR... --out curves.png [--csv curves.csv] [--labels A B ...] [--title T]

Each run's points are the periodic greedy evaluations of its summary.json (`evals`: env_steps,
wall_s, return_mean) followed by the final evaluation (`eval`, usually over more episodes), drawn
as a hollow marker. A run still in progress (no summary.json) is drawn from its latest checkpoint's
meta.json, which holds the evaluations up to that checkpoint, and labelled "unfinished". The CSV
has one row per point: label, run_dir, env_steps, wall_s (empty for the final point), return_mean,
final (0/1), sparsity (the run's final global sparsity; empty for unfinished runs).
"""
import argparse
import csv
import json
import sys
from pathlib import Path


def die(msg):
    print(f"plot-curves: {msg}", file=sys.stderr)
    sys.exit(1)


def read_evals(points):
    return [(int(p["env_steps"]), float(p["wall_s"]), float(p["return_mean"])) for p in points]


def load_run(run_dir):
    """(evals, final) of one run: evals as (env_steps, wall_s, return_mean), final as
    (env_steps, return_mean, sparsity), or None for a run still in progress."""
    path = Path(run_dir) / "summary.json"
    if not path.is_file():
        return load_unfinished(run_dir), None
    try:
        s = json.loads(path.read_text())
        evals = read_evals(s.get("evals", []))
        final = (int(s["env_steps"]), float(s["eval"]["return_mean"]), float(s["sparsity"]["global"]))
    except (OSError, ValueError, KeyError, TypeError) as e:
        die(f"{path}: not a sparq summary ({type(e).__name__}: {e})")
    return evals, final


def load_unfinished(run_dir):
    """The evaluations recorded in the latest checkpoint of a run without summary.json."""
    latest = Path(run_dir) / "checkpoints" / "latest"
    try:
        meta = Path(run_dir) / "checkpoints" / latest.read_text().strip() / "meta.json"
        return read_evals(json.loads(meta.read_text()).get("evals", []))
    except OSError:
        die(f"{run_dir}: neither summary.json nor a checkpoint (checkpoints/latest) to read evaluations from")
    except (ValueError, KeyError, TypeError) as e:
        die(f"{meta}: not a sparq checkpoint meta ({type(e).__name__}: {e})")


def label_of(run_dir):
    """The run's env id and pruning schedule from its resolved config.toml, else the directory name."""
    name = Path(run_dir).resolve().name
    try:
        import tomllib

        cfg = tomllib.loads((Path(run_dir) / "config.toml").read_text())
        schedule = cfg.get("prune", {}).get("schedule", "none")
        kind = "dense" if schedule == "none" else f"{schedule} {cfg['prune'].get('target_sparsity', 0):.0%}"
        return f"{name} ({kind})"
    except (OSError, ValueError, KeyError, ImportError):
        return name


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", metavar="RUN_DIR")
    ap.add_argument("--out", required=True, help="PNG to write")
    ap.add_argument("--csv", help="CSV to write (default: the PNG's path with .csv)")
    ap.add_argument("--labels", nargs="+", help="one legend label per run (default: directory name and schedule)")
    ap.add_argument("--title", default=None)
    args = ap.parse_args()
    if args.labels and len(args.labels) != len(args.runs):
        die(f"--labels: {len(args.labels)} labels for {len(args.runs)} runs; give one per run")
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        die(f"--out {out}: must end in .png")
    csv_path = Path(args.csv) if args.csv else out.with_suffix(".csv")
    labels = args.labels or [label_of(r) for r in args.runs]
    runs = []
    for label, run in zip(labels, args.runs):
        evals, final = load_run(run)
        if final is None:
            if not evals:
                die(f"{run}: unfinished, and its latest checkpoint holds no evaluation yet")
            label += f" (unfinished, to step {evals[-1][0]})"
        runs.append((label, run, evals, final))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=120)
    for label, _, evals, final in runs:
        xs, ys = [e[0] for e in evals], [e[2] for e in evals]
        if final:
            xs.append(final[0])
            ys.append(final[1])
        (line,) = ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.5, label=label)
        if final:
            ax.plot([final[0]], [final[1]], marker="o", markersize=7, markerfacecolor="none", color=line.get_color())
    ax.set_xlabel("env steps")
    ax.set_ylabel("greedy evaluation return (mean)")
    ax.set_title(args.title or "greedy evaluation return; hollow marker: final evaluation")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out)
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        with open(csv_path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["label", "run_dir", "env_steps", "wall_s", "return_mean", "final", "sparsity"])
            for label, run, evals, final in runs:
                sparsity = f"{final[2]:.4f}" if final else ""
                for s, wall, r in evals:
                    w.writerow([label, run, s, f"{wall:.1f}", f"{r:.4f}", 0, sparsity])
                if final:
                    w.writerow([label, run, final[0], "", f"{final[1]:.4f}", 1, sparsity])
    except OSError as e:
        die(f"cannot write {e.filename}: {e.strerror}")
    print(f"plot-curves: wrote {out} and {csv_path} ({len(runs)} runs)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
