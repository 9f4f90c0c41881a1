"""Runs the DQN speed benchmark (docs/benchmarks.md): sparq, Stable-Baselines3, a CleanRL-style
loop and the bare tch bound, each in its own process, with 1 and 2 torch threads; prints
env-steps/s and ratios, and appends them to benchmarks/README.md. Started by scripts/bench/dqn,
which builds the binaries and the venv first."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import die, load_hp
import record

IMPLS = ("sparq", "sb3", "cleanrl_style", "bare_tch", "sparq_gym1", "sparq_gym4")
# Run order within one thread count; the bound first, then the rest.
ORDER = ("bare_tch", "sparq", "sb3", "cleanrl_style", "sparq_gym1", "sparq_gym4")
# sparq on the same CartPole through the Gymnasium bridge (this venv's Python), with 1 and 4
# worker processes; only with --only (the record's table has the four above).
GYM_WORKERS = {"sparq_gym1": 1, "sparq_gym4": 4}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repo", type=Path, required=True)
    p.add_argument("--sparq", type=Path, required=True, help="the sparq binary")
    p.add_argument("--bare", type=Path, required=True, help="the bare_tch example binary")
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--steps", type=int, default=None, help="env steps (default: the config's run.total_steps)")
    p.add_argument("--repeats", type=int, default=1, help="runs per implementation and thread count; the median is reported")
    p.add_argument("--only", nargs="+", choices=IMPLS, default=list(IMPLS[:4]))
    p.add_argument("--raw", type=Path, default=None, help="also write every run's result line to this JSON-lines file")
    p.add_argument("--no-record", action="store_true", help="print only; leave benchmarks/README.md alone")
    p.add_argument("--command", default="scripts/bench/dqn", help="the command line, as written to the record")
    p.add_argument("--python-ld-path", default="", help="prepended to LD_LIBRARY_PATH for the Python runs only")
    a = p.parse_args()
    if a.repeats < 1 or any(t < 1 for t in a.threads) or (a.steps is not None and a.steps < 1):
        die("--repeats, --threads and --steps must be >= 1")
    return a


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def run(cmd, threads, what, ld_path=""):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    if ld_path:
        env["LD_LIBRARY_PATH"] = ld_path + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    start = time.perf_counter()
    p = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True)
    process_s = time.perf_counter() - start
    if p.returncode != 0:
        tail = "\n".join((p.stderr or p.stdout).strip().splitlines()[-15:])
        die(f"{what} failed (exit {p.returncode}): {' '.join(map(str, cmd))}\n{tail}")
    return p.stdout, process_s


def json_line(stdout, what):
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    die(f"{what} printed no result line")


def run_one(a, hp, impl, threads, scratch, rep):
    what = f"{impl} ({threads} thread{'s' if threads > 1 else ''})"
    bench_dir = Path(__file__).resolve().parent
    steps = ["--steps", str(a.steps)] if a.steps is not None else []
    if impl.startswith("sparq"):
        run_dir = scratch / f"{impl}-t{threads}-r{rep}"
        cmd = [a.sparq, "train", a.config, "--set", f"run.torch_threads={threads}", "--run-dir", run_dir]
        if impl in GYM_WORKERS:
            cmd += ["--set", f'env.id="gymnasium:{hp.env_id}"', "--set", f'env.python="{sys.executable}"',
                    "--set", f"env.num_envs={GYM_WORKERS[impl]}"]
        if a.steps is not None:
            cmd += ["--set", f"run.total_steps={a.steps}"]
        _, process_s = run(cmd, threads, what)
        try:
            s = json.loads((run_dir / "summary.json").read_text())
        except (OSError, ValueError) as e:
            die(f"{what}: cannot read {run_dir / 'summary.json'}: {e}")
        # summary.json's wall_s: the training loop plus the final scalars and checkpoint, not the
        # final greedy evaluation (see docs/benchmarks.md).
        return {"impl": impl, "threads": threads, "env_steps": s["env_steps"], "wall_s": s["wall_s"], "sps": s["sps"],
                "process_s": round(process_s, 3), "greedy_return": s["eval"]["return_mean"]}
    ld_path = ""
    if impl == "bare_tch":
        cmd = [a.bare, "--threads", threads, "--steps", hp.total_steps, "--learning-starts", hp.learning_starts,
               "--batch", hp.batch_size, "--target-every", hp.target_update_interval, "--lr", hp.lr, "--seed", hp.seed]
    else:
        script = {"sb3": "sb3_dqn.py", "cleanrl_style": "cleanrl_style_dqn.py"}[impl]
        cmd = [sys.executable, bench_dir / script, "--config", a.config, "--threads", threads] + steps
        ld_path = a.python_ld_path
    stdout, process_s = run(cmd, threads, what, ld_path)
    r = json_line(stdout, what)
    r["process_s"] = round(process_s, 3)
    return r


def main():
    a = parse_args()
    hp = load_hp(a.config, a.steps)
    for path, what in ((a.sparq, "sparq binary"), (a.bare, "bare_tch binary")):
        if not path.is_file():
            die(f"{what} not found at {path}")
    loads = [load1()]
    cores = len(os.sched_getaffinity(0))
    if loads[0] > cores:
        print(f"bench: the 1-minute load is {loads[0]:.1f} on {cores} cores: figures will be low and noisy, "
              "and more threads than free cores can be many times slower", file=sys.stderr)
    results = {}  # (impl, threads) -> [result]
    interrupted = False
    with tempfile.TemporaryDirectory(prefix="sparq-bench-") as tmp:
        try:
            for threads in a.threads:
                for rep in range(a.repeats):
                    for impl in (i for i in ORDER if i in a.only):
                        r = run_one(a, hp, impl, threads, Path(tmp), rep)
                        loads.append(load1())
                        results.setdefault((impl, threads), []).append(r)
                        print(f"  {impl:<14} threads {threads}  {r['sps']:9.1f} env-steps/s  ({r['wall_s']:.2f} s timed, "
                              f"{r['process_s']:.2f} s process; load {loads[-1]:.2f})", file=sys.stderr, flush=True)
        except KeyboardInterrupt:
            # Show what finished; a partial run is not recorded.
            interrupted = True
            print("bench: interrupted; the table below has the runs that finished and is not recorded", file=sys.stderr)
    if a.raw is not None:
        try:
            a.raw.write_text("".join(json.dumps(r) + "\n" for v in results.values() for r in v))
        except OSError as e:
            die(f"cannot write {a.raw}: {e}")
    sps = {k: statistics.median(r["sps"] for r in v) for k, v in results.items()}
    table = record.Table(sps, a.threads, hp.total_steps, a.repeats, (min(loads), max(loads)))
    print(table.text())
    for (impl, threads), v in sorted(sps.items()):
        if impl in GYM_WORKERS and ("sb3", threads) in sps:
            print(f"{impl} ({GYM_WORKERS[impl]} Gymnasium worker{'s' if GYM_WORKERS[impl] > 1 else ''}), "
                  f"{threads} thread(s): {v:.0f} env-steps/s = {v / sps[('sb3', threads)]:.2f}x SB3")
    if interrupted:
        sys.exit(130)
    if not a.no_record:
        path = a.repo / "benchmarks" / "README.md"
        record.append(path, table, record.machine(), record.commit(a.repo), a.command)
        print(f"bench: appended to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
