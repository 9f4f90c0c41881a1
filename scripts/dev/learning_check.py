#!/usr/bin/env python3
"""Trains a config over several seeds and reports the final greedy returns and time to solve.

    scripts/dev/learning-check configs/cartpole_dqn.toml --seeds 1 2 3 4 5 --threshold 475 [--set k=v ...]

Prints a markdown table per seed: the final policy's return (mean ± std over the final
evaluation's episodes), the best periodic evaluation (kept as checkpoints/best), the first
periodic evaluation ≥ threshold (env step and wall time: time to solve), sparsity, steps/s.
Exits non-zero if a seed never reaches the threshold (`--require solved`, the default) or if its
final policy is below it (`--require final`). Standard library only.
"""
import argparse
import concurrent.futures as cf
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run_seed(sparq, config, seed, sets, root):
    run_dir = os.path.join(root, f"s{seed}")
    cmd = [sparq, "train", config, "--seed", str(seed), "--run-dir", run_dir]
    for s in sets:
        cmd += ["--set", s]
    t0 = time.time()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        return seed, None, proc.stderr.strip().splitlines()[-1:] or ["failed"], run_dir
    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    summary["process_wall_s"] = time.time() - t0
    return seed, summary, None, run_dir


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--sparq", default=os.environ.get("SPARQ_BIN"))
    ap.add_argument("--keep", help="keep run dirs under this directory")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--require", choices=["solved", "final"], default="solved")
    args = ap.parse_args()

    root = args.keep or tempfile.mkdtemp(prefix="sparq-learning-check-")
    os.makedirs(root, exist_ok=True)
    rows, failed = [], []
    with cf.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_seed, args.sparq, args.config, s, args.sets, root) for s in args.seeds]
        for fut in cf.as_completed(futures):
            seed, summary, err, run_dir = fut.result()
            if summary is None:
                failed.append((seed, err))
                print(f"seed {seed}: FAILED: {err[0]}", file=sys.stderr)
                continue
            rows.append((seed, summary, run_dir))
            print(f"seed {seed}: final {summary['eval']['return_mean']:.1f}", file=sys.stderr)
    rows.sort()

    print(f"config `{args.config}` {' '.join('--set ' + s for s in args.sets)}".rstrip())
    print()
    print("| seed | final return (mean ± std, episodes) | best periodic eval (step) | first eval ≥ threshold (step, wall s) | sparsity | wall s | steps/s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    results = []
    for seed, s, run_dir in rows:
        e = s["eval"]
        first = None
        if args.threshold is not None:
            first = next((p for p in s.get("evals", []) if p["return_mean"] >= args.threshold), None)
        solved = f"{first['env_steps']}, {first['wall_s']:.1f}" if first else "—"
        best = s.get("best")
        best_s = f"{best['return_mean']:.1f} ({best['env_steps']})" if best else "—"
        print(f"| {seed} | {e['return_mean']:.1f} ± {e['return_std']:.1f} ({e['episodes']}) | {best_s} | {solved} "
              f"| {s['sparsity']['global']:.4f} | {s['wall_s']:.1f} | {s['sps']:.0f} |")
        results.append({"seed": seed, "summary": s, "first_solved": first, "run_dir": run_dir})
    finals = [s["eval"]["return_mean"] for _, s, _ in rows]
    if finals:
        print()
        print(f"final return over {len(finals)} seeds: mean {statistics.mean(finals):.1f}, min {min(finals):.1f}, max {max(finals):.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": args.config, "sets": args.sets, "threshold": args.threshold, "results": results}, f, indent=1)
    if failed:
        return 1
    if args.threshold is not None:
        if args.require == "final" and any(v < args.threshold for v in finals):
            return 1
        if args.require == "solved" and any(r["first_solved"] is None for r in results):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
