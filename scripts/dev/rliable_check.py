"""Checks `sparq report` against rliable 1.2.0 on the same score matrices.

For each sweep directory given (and a synthetic 3-task sweep written here, so stratification
across tasks is exercised), runs `sparq report DIR --json --reps R`, rebuilds every group's
runs × tasks matrix from the JSON, and asks rliable for the same estimates
(`get_interval_estimates`, percentile method, R resamples). Point estimates must agree to 1e-9
(IQM exactly: scipy's trim_mean); CI endpoints within TOL × (the group's score range), bootstrap
noise. It also prints how far rliable is from itself with another seed, for scale.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import warnings

import numpy as np
from rliable import library as rly
from rliable import metrics

TOL = 0.02
# arch warns that RandomState is deprecated on every call; rliable 1.2.0 still passes one.
warnings.filterwarnings("ignore", category=FutureWarning)


def synthetic_sweep(root):
    """A sweep directory with 2 groups × 3 environments × 10 seeds of made-up returns."""
    rng = np.random.RandomState(7)
    envs = {"CartPole-v1": (0, 500), "Acrobot-v1": (-500, 0), "MountainCar-v0": (-200, 0)}
    jobs = []
    for seed in range(1, 11):
        for group, skill in (("a", 0.8), ("b", 0.55)):
            for env, (lo, hi) in envs.items():
                jid = f"{group}-{env}-s{seed}"
                frac = float(np.clip(rng.normal(skill, 0.2), 0, 1))
                ret = lo + (hi - lo) * frac
                run = os.path.join(root, "runs", jid)
                os.makedirs(run)
                with open(os.path.join(run, "summary.json"), "w") as f:
                    json.dump({
                        "env_steps": 1000, "wall_s": 1.0, "sps": 1000.0,
                        "eval": {"episodes": 10, "return_mean": ret, "return_std": 0.0,
                                 "return_min": ret, "return_max": ret},
                        "sparsity": {"global": 0.0, "layers": {}},
                        "evals": [{"env_steps": 500, "wall_s": 0.5, "return_mean": ret / 2},
                                  {"env_steps": 1000, "wall_s": 1.0, "return_mean": ret}],
                    }, f)
                jobs.append({"id": jid, "point": f"{group}-{env}", "group": group,
                             "series": "trained", "seed": seed, "env_id": env,
                             "dir": f"runs/{jid}", "after": None, "kind": "train",
                             "config": "synthetic.toml", "overrides": []})
    index = {"format": "sparq-sweep", "version": 1, "sweep_file": "synthetic", "backend": "local",
             "plan": {"name": "synthetic", "jobs": jobs,
                      "normalize": {e: list(r) for e, r in envs.items()}, "target": None},
             "records": {}, "invocations_wall_s": []}
    with open(os.path.join(root, "sweep.json"), "w") as f:
        json.dump(index, f)


def rliable_estimates(matrix, gamma, reps, seed):
    funcs = {
        "iqm": metrics.aggregate_iqm,
        "mean": metrics.aggregate_mean,
        "median": metrics.aggregate_median,
    }
    if gamma is not None:
        funcs["optimality_gap"] = lambda x: metrics.aggregate_optimality_gap(x, gamma)
    out = {}
    for name, f in funcs.items():
        point, ci = rly.get_interval_estimates(
            {"g": matrix}, lambda x, f=f: np.array([f(x)]), reps=reps,
            random_state=np.random.RandomState(seed))
        # rliable draws with np.random, not the RandomState it is given: seed that too.
        out[name] = (float(point["g"][0]), float(ci["g"][0][0]), float(ci["g"][1][0]))
    return out


def check(sparq, sweep_dir, reps):
    r = subprocess.run([sparq, "report", sweep_dir, "--json", "--reps", str(reps),
                        "--out", os.path.join(tempfile.mkdtemp(), "report")],
                       check=True, stdout=subprocess.PIPE, text=True)
    report = json.loads(r.stdout)
    worst_point, worst_ci, worst_self = 0.0, 0.0, 0.0
    for g in report["groups"]:
        tasks = sorted(g["tasks"])
        cols = [g["tasks"][t]["scores"] for t in tasks]
        if len({len(c) for c in cols}) != 1:
            continue  # rliable needs a rectangular matrix
        matrix = np.array(cols, dtype=np.float64).T  # runs × tasks
        span = max(float(matrix.max() - matrix.min()), 1e-12)
        np.random.seed(0)
        ref = rliable_estimates(matrix, report["target"], reps, 0)
        np.random.seed(1)
        other = rliable_estimates(matrix, report["target"], reps, 1)
        for name, (p, lo, hi) in ref.items():
            mine = g[name]
            dp = abs(mine["point"] - p)
            assert dp <= 1e-9 * max(1.0, abs(p)), f"{sweep_dir} {g['name']} {name}: point {mine['point']} vs rliable {p}"
            if name == "iqm":
                assert mine["point"] == p or dp <= 1e-12 * max(1.0, abs(p)), (g["name"], mine["point"], p)
            dci = max(abs(mine["lo"] - lo), abs(mine["hi"] - hi)) / span
            assert dci <= TOL, (f"{sweep_dir} {g['name']} {name}: CI [{mine['lo']}, {mine['hi']}] vs "
                                f"rliable [{lo}, {hi}] ({dci:.4f} of the score range > {TOL})")
            o = other[name]
            worst_self = max(worst_self, max(abs(o[1] - lo), abs(o[2] - hi)) / span)
            worst_point, worst_ci = max(worst_point, dp), max(worst_ci, dci)
    print(f"rliable-check: {sweep_dir}: {len(report['groups'])} groups, {reps} resamples: "
          f"points within {worst_point:.2e}, CI endpoints within {worst_ci:.4f} of the score "
          f"range (tolerance {TOL}; rliable vs itself with another seed: {worst_self:.4f})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sparq")
    ap.add_argument("sweep_dirs", nargs="*")
    ap.add_argument("--reps", type=int, default=10000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as root:
        synthetic_sweep(root)
        check(args.sparq, root, args.reps)
        for d in args.sweep_dirs:
            check(args.sparq, d, args.reps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
