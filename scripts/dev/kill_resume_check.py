#!/usr/bin/env python3
"""Kills `sparq train` with SIGKILL at random moments, resumes it each time, and checks that the
result equals an uninterrupted run with the same seed: final weights (bit for bit), the final
evaluation, and every logged training scalar (steps and values; perf/sps, a timing, aside).

    scripts/dev/kill-resume-check [--kills 5] [--seed 1] [--set k=v ...]

Needs TensorBoard's reader: run it through scripts/py tensorboard (the wrapper does).
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

CONFIG_SETS = [
    "run.total_steps=20000", "log.checkpoint_interval=1000", "log.log_interval=500",
    "log.eval_interval=2500", "log.eval_episodes=5", "log.final_eval_episodes=20",
]


def scalars(run_dir):
    acc = EventAccumulator(run_dir, size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"] if tag != "perf/sps"}


def final_weights(run_dir):
    cps = os.path.join(run_dir, "checkpoints")
    with open(os.path.join(cps, "latest")) as f:
        name = f.read().strip()
    with open(os.path.join(cps, name, "tensors.safetensors"), "rb") as f:
        return name, f.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sparq", required=True)
    ap.add_argument("--config", default="configs/cartpole_dqn.toml")
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], dest="sets")
    args = ap.parse_args()
    sets = [x for s in CONFIG_SETS + args.sets for x in ("--set", s)]
    root = tempfile.mkdtemp(prefix="sparq-kill-resume-")
    ref, killed = os.path.join(root, "reference"), os.path.join(root, "killed")
    rng = random.Random(args.seed)

    t0 = time.time()
    subprocess.run([args.sparq, "train", args.config, "--seed", str(args.seed), "--run-dir", ref, *sets],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    duration = time.time() - t0
    print(f"reference run: {duration:.1f} s")

    cmd = [args.sparq, "train", args.config, "--seed", str(args.seed), "--run-dir", killed, *sets]
    kills = 0
    while kills < args.kills:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        delay = rng.uniform(0.3, max(0.6, duration / (args.kills + 2)))
        time.sleep(delay)
        if proc.poll() is not None:
            print(f"  the run finished before kill {kills + 1} (after {delay:.1f} s)")
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        latest = os.path.join(killed, "checkpoints", "latest")
        at = open(latest).read().strip() if os.path.exists(latest) else "no checkpoint yet"
        print(f"  kill {kills}: SIGKILL after {delay:.1f} s; latest complete checkpoint: {at}")
        if not os.path.exists(latest):
            # Killed before the first checkpoint: nothing to resume, start over.
            subprocess.run(["rm", "-rf", killed], check=True)
            continue
        cmd = [args.sparq, "train", "--resume", killed]
    if not os.path.exists(os.path.join(killed, "summary.json")):
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    problems = []
    ra, rb = (json.load(open(os.path.join(d, "summary.json"))) for d in (ref, killed))
    if ra["eval"] != rb["eval"]:
        problems.append(f"final evaluation differs: {ra['eval']} vs {rb['eval']}")
    if [(e["env_steps"], e["return_mean"]) for e in ra["evals"]] != [(e["env_steps"], e["return_mean"]) for e in rb["evals"]]:
        problems.append("periodic evaluations differ")
    if final_weights(ref) != final_weights(killed):
        problems.append("final weights differ")
    sa, sb = scalars(ref), scalars(killed)
    if sorted(sa) != sorted(sb):
        problems.append(f"tags differ: {sorted(sa)} vs {sorted(sb)}")
    for tag in sa:
        if sa[tag] != sb.get(tag):
            problems.append(f"scalar {tag} differs ({len(sa[tag])} vs {len(sb.get(tag, []))} points)")
    points = sum(len(v) for v in sa.values())
    print(f"kills: {kills}; final return {ra['eval']['return_mean']:.2f} (uninterrupted) vs {rb['eval']['return_mean']:.2f} (killed+resumed); "
          f"{len(sa)} scalar tags, {points} points compared")
    if problems:
        for p in problems:
            print("FAIL", p)
        return 1
    print("ok: identical weights, evaluations and logged training values")
    return 0


if __name__ == "__main__":
    sys.exit(main())
