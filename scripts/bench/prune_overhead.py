#!/usr/bin/env python3
"""Wall-time cost of pruning during training: a pruned config against its dense twin, run in
alternating pairs (dense, pruned, dense, pruned, ...) so both see the same machine load.

    scripts/bench/prune-overhead [--dense configs/cartpole_dqn.toml] [--pruned configs/cartpole_dqn_gmp90.toml]
                                 [--pairs 3] [--seed 1] [--no-record]

Periodic evaluations are switched off and the final one is a single episode: a pruned policy that
balances longer would otherwise be charged for its longer evaluation episodes, which is not
pruning's cost. Each run's time is the `wall_s` of its summary.json (the training loop, start to
end). Prints every pair and the median of the per-pair ratios pruned ÷ dense, and appends a row to
benchmarks/README.md (the target of issue 3 is ≤ 1.05).
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import die
from record import commit, insert_rows, machine

TARGET = 1.05
SECTION = "## prune-overhead"
MARKER = "<!-- bench-prune-overhead appends rows above this line -->"
HEADER = f"""{SECTION}: wall time of pruning during training

`scripts/bench/prune-overhead`: the pruned config and its dense twin trained in alternating pairs
on the same seed, periodic evaluations off, final evaluation 1 episode; time = summary.json's
`wall_s`. The ratio is the median over pairs of pruned ÷ dense (target ≤ {TARGET:g}).

| date (UTC) | machine | commit | dense config | pruned config | pairs | dense s (median) | pruned s (median) | pruned ÷ dense (median, min–max) | load | command |
|---|---|---|---|---|---|---|---|---|---|---|
{MARKER}
"""
SETS = ["log.eval_interval=0", "log.final_eval_episodes=1", "log.checkpoint_interval=0", "log.histogram_interval=0"]


def train(sparq, config, seed, run_dir):
    cmd = [sparq, "train", config, "--seed", str(seed), "--run-dir", str(run_dir)]
    for s in SETS:
        cmd += ["--set", s]
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        die(f"{config}: sparq train failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    return json.loads((run_dir / "summary.json").read_text())["wall_s"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", required=True)
    ap.add_argument("--sparq", required=True)
    ap.add_argument("--command", default="scripts/bench/prune-overhead")
    ap.add_argument("--dense", default="configs/cartpole_dqn.toml")
    ap.add_argument("--pruned", default="configs/cartpole_dqn_gmp90.toml")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    if args.pairs < 1:
        die("--pairs must be >= 1")
    repo = Path(args.repo)

    dense_s, pruned_s, loads = [], [], []
    with tempfile.TemporaryDirectory(prefix="sparq-prune-overhead-") as tmp:
        for i in range(args.pairs):
            loads.append(os.getloadavg()[0])
            d = train(args.sparq, args.dense, args.seed, Path(tmp) / f"dense{i}")
            p = train(args.sparq, args.pruned, args.seed, Path(tmp) / f"pruned{i}")
            dense_s.append(d)
            pruned_s.append(p)
            print(f"pair {i + 1}: dense {d:.1f} s, pruned {p:.1f} s, ratio {p / d:.3f}", flush=True)
    loads.append(os.getloadavg()[0])
    ratios = [p / d for d, p in zip(dense_s, pruned_s)]
    med = statistics.median(ratios)
    verdict = "met" if med <= TARGET else "NOT met"
    print(f"pruned ÷ dense: median {med:.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}) over {args.pairs} pair(s); "
          f"target ≤ {TARGET:g}: {verdict}")
    if not args.no_record:
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
        row = " | ".join(["", date, machine(), f"`{commit(repo)}`", f"`{args.dense}`", f"`{args.pruned}`",
                          str(args.pairs), f"{statistics.median(dense_s):.1f}", f"{statistics.median(pruned_s):.1f}",
                          f"{med:.3f} ({min(ratios):.3f}–{max(ratios):.3f})", f"{min(loads):.1f}–{max(loads):.1f}",
                          f"`{args.command}`", ""]).strip()
        insert_rows(repo / "benchmarks" / "README.md", HEADER, MARKER, [row])
        print("recorded in benchmarks/README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
