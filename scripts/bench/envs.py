#!/usr/bin/env python3
"""Environment step rate, Gymnasium 1.4.0 vs sparq: run by scripts/bench/envs inside its venv.

For each env: Gymnasium with one env (`gym.make`), sparq with one env (`sparq env bench`), then
Gymnasium's sync vector env and sparq's VecEnv with --num-envs envs, each for --seconds seconds of
random actions (drawn ahead, so the figures are the envs' own cost). Prints a table of env-steps/s
with the ratios sparq ÷ Gymnasium and appends it to benchmarks/README.md.
"""
import argparse
import datetime
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

# minatar.gym warns that seaborn (needed only for rendering) is missing.
logging.disable(logging.WARNING)
import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

# The record's helpers, shared with the DQN benchmarks.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import commit, insert_rows, machine  # noqa: E402

DEFAULT_ENVS = ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MinAtar/Breakout-v1"]
# The target: CartPole at least this many times Gymnasium's single-env rate.
CARTPOLE_TARGET = 50.0
WARMUP_S = 0.3
CHUNK = 2048

SECTION = "## Environment step rate"
MARKER = "<!-- bench-envs appends rows above this line -->"
HEADER = f"""{SECTION}

`scripts/bench/envs`: env-steps/s with uniformly random actions and resets on episode end, Gymnasium
1.4.0 in Python (`gym.make`, so with its default wrappers; MinAtar through minatar 1.0.15's own
Gymnasium registration) against `sparq env bench`, each measured for a few seconds in one invocation
on one machine. "×8" columns: Gymnasium's `SyncVectorEnv` and sparq's `VecEnv` with 8 envs (steps
summed over envs). Ratios are sparq ÷ Gymnasium; the target is CartPole ≥ {CARTPOLE_TARGET:g}× with one env.
Load is the 1-minute load average before–after.

| date (UTC) | machine | commit | env | Gymnasium | sparq | sparq ÷ Gym | Gymnasium ×8 | sparq ×8 | sparq ÷ Gym ×8 | load | command |
|---|---|---|---|---|---|---|---|---|---|---|---|
{MARKER}
"""


def die(msg):
    print(f"bench-envs: {msg}", file=sys.stderr)
    sys.exit(1)


def make(env_id, num_envs):
    if env_id.startswith("MinAtar/"):
        import minatar.gym

        if env_id not in gym.registry:
            minatar.gym.register_envs()
    if num_envs == 1:
        return gym.make(env_id)
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync")


def gym_rate(env_id, num_envs, seconds):
    """Env-steps/s of Gymnasium's env (num_envs == 1) or sync vector env."""
    env = make(env_id, num_envs)
    rng = np.random.default_rng(0)
    if num_envs == 1:
        n = int(env.action_space.n)
        actions = rng.integers(0, n, size=CHUNK).tolist()
    else:
        n = int(env.single_action_space.n)
        actions = list(rng.integers(0, n, size=(CHUNK, num_envs)))
    env.reset(seed=0)

    def run(budget):
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < budget:
            if num_envs == 1:
                for a in actions:
                    _, _, term, trunc, _ = env.step(a)
                    if term or trunc:
                        env.reset()
            else:
                for a in actions:  # the vector env resets finished envs itself
                    env.step(a)
            steps += CHUNK * num_envs
        return steps / (time.perf_counter() - start)

    run(WARMUP_S)
    rate = run(seconds)
    env.close()
    return rate


def sparq_rate(sparq, env_id, num_envs, seconds):
    cmd = [sparq, "env", "bench", "--env", env_id, "--num-envs", str(num_envs), "--seconds", str(seconds)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        die(f"{' '.join(cmd)} failed: {(proc.stderr.strip().splitlines() or ['no output'])[-1]}")
    try:
        return float(json.loads(proc.stdout.strip().splitlines()[-1])["steps_per_s"])
    except (ValueError, KeyError, IndexError) as e:
        die(f"{' '.join(cmd)}: unexpected output ({e}): {proc.stdout.strip()[:200]}")


def ratio(a, b):
    return a / b if b else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", required=True, type=Path)
    ap.add_argument("--sparq", required=True)
    ap.add_argument("--command", default="scripts/bench/envs")
    ap.add_argument("--envs", nargs="+", default=DEFAULT_ENVS)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--num-envs", type=int, default=8)
    ap.add_argument("--no-record", action="store_true", help="print only; leave benchmarks/README.md alone")
    args = ap.parse_args()
    if not args.seconds > 0:
        die(f"--seconds {args.seconds} must be > 0")
    if not 2 <= args.num_envs <= 4096:
        die(f"--num-envs {args.num_envs} is out of range: allowed 2..=4096")

    load0 = os.getloadavg()[0]
    results = []
    for env_id in args.envs:
        try:
            g1 = gym_rate(env_id, 1, args.seconds)
            gn = gym_rate(env_id, args.num_envs, args.seconds)
        except gym.error.Error as e:
            die(f"gymnasium cannot make {env_id}: {e}")
        s1 = sparq_rate(args.sparq, env_id, 1, args.seconds)
        sn = sparq_rate(args.sparq, env_id, args.num_envs, args.seconds)
        results.append((env_id, g1, s1, gn, sn))
        print(f"bench-envs: {env_id}: gymnasium {g1:.0f}, sparq {s1:.0f}; ×{args.num_envs}: gymnasium {gn:.0f}, sparq {sn:.0f}",
              file=sys.stderr)
    load = (load0, os.getloadavg()[0])

    k = args.num_envs
    print(f"env-steps/s, random actions, {args.seconds:g} s each; 1-min load {load[0]:.2f}–{load[1]:.2f}")
    print(f"{'env':<22} {'Gymnasium':>10} {'sparq':>11} {'÷ Gym':>7} {'Gym ×' + str(k):>10} {'sparq ×' + str(k):>12} {'÷ Gym':>7}")
    for env_id, g1, s1, gn, sn in results:
        print(f"{env_id:<22} {g1:>10.0f} {s1:>11.0f} {ratio(s1, g1):>7.1f} {gn:>10.0f} {sn:>12.0f} {ratio(sn, gn):>7.1f}")
    cart = next((r for r in results if r[0] == "CartPole-v1"), None)
    if cart:
        x = ratio(cart[2], cart[1])
        print(f"target: CartPole sparq ÷ Gymnasium {x:.1f} (≥ {CARTPOLE_TARGET:g}: {'met' if x >= CARTPOLE_TARGET else 'NOT met'})")

    if not args.no_record:
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
        where, rev = machine(), commit(args.repo)
        rows = [
            f"| {date} | {where} | `{rev}` | {env_id} | {g1:.0f} | {s1:.0f} | {ratio(s1, g1):.1f} | {gn:.0f} | {sn:.0f} "
            f"| {ratio(sn, gn):.1f} | {load[0]:.1f}–{load[1]:.1f} | `{args.command}` |"
            for env_id, g1, s1, gn, sn in results
        ]
        path = args.repo / "benchmarks" / "README.md"
        insert_rows(path, HEADER, MARKER, rows)
        print(f"bench-envs: appended to {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
