#!/usr/bin/env python3
"""Writes Gymnasium 1.4.0 reference episodes for sparq's classic-control parity tests.

Each fixture file (envs/tests/fixtures/classic/<env>.json) holds episodes that start from a
chosen float64 state (set on `env.unwrapped.state` right after `reset`) and then follow recorded
actions until Gymnasium reports terminated or truncated. envs/tests/parity_classic.rs replays
them through `reset` + `set_state` + `step`.

Run through scripts/dev/gen-classic-fixtures, which builds the pinned venv. Output is deterministic.
"""

import json
import math
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

GYMNASIUM_VERSION = "1.4.0"
OUT_DIR = Path(__file__).resolve().parents[2] / "envs" / "tests" / "fixtures" / "classic"


def f32(v):
    """Shortest decimal that reads back as the same float32 (keeps the files small)."""
    return float(np.format_float_positional(np.float32(v), unique=True, trim="0"))


def make(env_id):
    # The passive checker only warns (e.g. about out-of-bounds start states); behaviour is unchanged.
    return gym.make(env_id, disable_env_checker=True)


def initial_obs(env):
    u = env.unwrapped
    if hasattr(u, "_get_ob"):
        return u._get_ob()
    return np.array(u.state, dtype=np.float32)


def record(env_id, name, state, policy, rng):
    """Runs one episode from `state`; `policy(t, state, rng)` picks each action."""
    env = make(env_id)
    env.reset(seed=0)
    state = np.array(state, dtype=np.float64)
    env.unwrapped.state = state.copy()
    ep = {
        "name": name,
        "state": [float(v) for v in state],
        # Exact bit patterns: a decimal float parser may be one ulp off.
        "state_bits": [int(np.float64(v).view(np.uint64)) for v in state],
        "obs0": [f32(v) for v in initial_obs(env)],
        "actions": [],
        "obs": [],
        "rewards": [],
        "terminated": [],
        "truncated": [],
    }
    t = 0
    while True:
        action = int(policy(t, np.array(env.unwrapped.state, dtype=np.float64), rng))
        obs, reward, terminated, truncated, _ = env.step(action)
        ep["actions"].append(action)
        ep["obs"].append([f32(v) for v in obs])
        ep["rewards"].append(float(reward))
        ep["terminated"].append(bool(terminated))
        ep["truncated"].append(bool(truncated))
        t += 1
        if terminated or truncated:
            # The float64 state to the bit: catches any reordering of float operations.
            final = np.array(env.unwrapped.state, dtype=np.float64)
            ep["final_state_bits"] = [int(v) for v in final.view(np.uint64)]
            env.close()
            return ep


def outcome(ep):
    return len(ep["actions"]), ep["terminated"][-1], ep["truncated"][-1]


def random_policy(n):
    return lambda t, s, rng: rng.integers(n)


def constant(a):
    return lambda t, s, rng: a


# ---------------------------------------------------------------- CartPole-v1


def cartpole_balance(s):
    x, x_dot, theta, theta_dot = s
    return int(0.05 * x + 0.2 * x_dot + 6.0 * theta + 1.2 * theta_dot > 0)


def cartpole_episodes(rng):
    env_id = "CartPole-v1"
    thr = 12 * 2 * math.pi / 360
    eps = []
    for i in range(4):
        state = rng.uniform(-0.05, 0.05, size=4) * (1 + 2 * i)
        eps.append(record(env_id, f"random_{i}", state, random_policy(2), rng))
    # x == threshold is inside (strict comparison); one ulp-sized push past it terminates.
    eps.append(record(env_id, "x_at_threshold_inside", [2.4, 0.0, 0.0, 0.0], constant(0), rng))
    eps.append(record(env_id, "x_just_outside", [2.4, 1e-9, 0.0, 0.0], constant(0), rng))
    eps.append(record(env_id, "x_neg_drifts_out", [-2.39, -0.3, 0.0, 0.0], constant(0), rng))
    eps.append(record(env_id, "theta_at_threshold_inside", [0.0, 0.0, thr, 0.0], constant(1), rng))
    eps.append(record(env_id, "theta_just_outside", [0.0, 0.0, thr, 1e-9], constant(1), rng))
    eps.append(record(env_id, "theta_neg_just_outside", [0.0, 0.0, -thr, -1e-9], constant(0), rng))
    # A balancing controller with 10% random actions survives to the 500-step limit.
    noisy = lambda t, s, r: r.integers(2) if r.random() < 0.1 else cartpole_balance(s)
    eps.append(record(env_id, "truncated_at_500", [0.01, -0.02, 0.03, 0.0], noisy, rng))
    # Balance, then push left until the pole falls exactly on step 500: both flags set.
    for k in range(480, 500):
        policy = lambda t, s, r, k=k: cartpole_balance(s) if t < k else 0
        ep = record(env_id, "terminated_and_truncated_at_500", [0.0, 0.0, 0.01, 0.0], policy, rng)
        if outcome(ep) == (500, True, True):
            eps.append(ep)
            break
    else:
        sys.exit("CartPole: no switch step ends the episode exactly at step 500")
    return env_id, eps


# ---------------------------------------------------------------- MountainCar-v0


def mc_pump(s):
    return 2 if s[1] >= 0 else 0


def mountain_car_episodes(rng):
    env_id = "MountainCar-v0"
    eps = []
    for i in range(2):
        state = [rng.uniform(-0.6, -0.4), 0.0]  # random actions: truncated at 200
        eps.append(record(env_id, f"random_{i}", state, random_policy(3), rng))
    for i in range(2):
        state = [rng.uniform(-1.1, 0.4), rng.uniform(-0.05, 0.05)]
        eps.append(record(env_id, f"random_pump_{i}", state, lambda t, s, r: mc_pump(s), rng))
    # Hits the left wall (position clipped to -1.2, velocity zeroed), then pumps to the goal.
    eps.append(record(env_id, "left_wall", [-0.95, -0.07], lambda t, s, r: mc_pump(s), rng))
    eps.append(record(env_id, "wall_then_push_left", [-1.19, -0.02], lambda t, s, r: 0 if t < 3 else mc_pump(s), rng))
    # Past the goal but moving left: no termination until velocity turns non-negative.
    eps.append(record(env_id, "past_goal_moving_left", [0.55, -0.01], constant(2), rng))
    # Clipped at max_position 0.6 with positive velocity: terminates at once.
    eps.append(record(env_id, "max_position_clip", [0.59, 0.07], constant(2), rng))
    # Just below the goal, moving right: crosses 0.5 on step 2.
    eps.append(record(env_id, "goal_from_below", [0.48, 0.015], constant(2), rng))
    # Coast k steps then pump; find a start where the goal is reached exactly on step 200.
    for start in np.linspace(-0.6, -0.4, 41):
        for k in range(60, 90):
            policy = lambda t, s, r, k=k: 1 if t < k else mc_pump(s)
            ep = record(env_id, "terminated_and_truncated_at_200", [start, 0.0], policy, rng)
            if outcome(ep) == (200, True, True):
                eps.append(ep)
                return env_id, eps
    sys.exit("MountainCar: no start reaches the goal exactly on step 200")


# ---------------------------------------------------------------- Acrobot-v1


def acrobot_episodes(rng):
    env_id = "Acrobot-v1"
    pi = math.pi
    eps = []
    # From the reset distribution a random policy rarely reaches the goal: runs to 500.
    eps.append(record(env_id, "random_truncated_at_500", rng.uniform(-0.1, 0.1, 4), random_policy(3), rng))
    # High-energy random starts swing the tip up within a few dozen steps.
    found = 0
    while found < 3:
        state = [rng.uniform(-pi, pi), rng.uniform(-pi, pi), rng.uniform(-4, 4), rng.uniform(-8, 8)]
        ep = record(env_id, f"random_energetic_{found}", state, random_policy(3), rng)
        if len(ep["actions"]) <= 60:
            eps.append(ep)
            found += 1
    # Near the goal height (-cos(t1) - cos(t1 + t2) = 1): 0.96 and rising; exactly 1.0 at rest.
    eps.append(record(env_id, "near_goal_rising", [2.0, 0.15, 0.5, 0.0], constant(1), rng))
    eps.append(record(env_id, "near_goal_at_boundary", [2.0 * pi / 3, 0.0, 0.05, 0.0], constant(1), rng))
    # Angle wrap: joint 1 crosses +pi, joint 2 crosses -pi on the first step.
    eps.append(record(env_id, "wrap_angles", [3.1, -3.1, 3.0, -6.0], random_policy(3), rng))
    # Velocity bounds: starts at and beyond 4*pi / 9*pi, clipped after the step.
    eps.append(record(env_id, "clip_velocities", [0.0, 0.0, 4 * pi, 9 * pi], constant(2), rng))
    eps.append(record(env_id, "clip_velocities_beyond", [0.5, -0.5, -15.0, -30.0], constant(0), rng))
    return env_id, eps


def check_environment():
    if gym.__version__ != GYMNASIUM_VERSION:
        sys.exit(f"gymnasium {GYMNASIUM_VERSION} required, found {gym.__version__}")
    # numpy may use SVML sin/cos (AVX-512 builds); Rust uses libm. Fixtures must come from libm.
    xs = np.random.default_rng(0).uniform(-10, 10, 20000)
    if any(np.cos(x) != math.cos(x) or np.sin(x) != math.sin(x) for x in xs):
        sys.exit("numpy's sin/cos differ from libm on this machine (SVML?); "
                 "set NPY_DISABLE_CPU_FEATURES=AVX512F,AVX512_SKX or use another machine")


def main():
    check_environment()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    builders = {
        "cartpole": cartpole_episodes,
        "mountain_car": mountain_car_episodes,
        "acrobot": acrobot_episodes,
    }
    for i, (stem, build) in enumerate(builders.items()):
        rng = np.random.default_rng(20240 + i)
        env_id, eps = build(rng)
        head = {
            "generator": "scripts/dev/gen_classic_fixtures.py",
            "gymnasium": gym.__version__,
            "numpy": np.__version__,
            "env_id": env_id,
        }
        # One episode per line: compact, yet diffs stay readable.
        lines = [json.dumps(e, separators=(",", ":")) for e in eps]
        text = json.dumps(head)[:-1] + ', "episodes": [\n' + ",\n".join(lines) + "\n]}\n"
        path = OUT_DIR / f"{stem}.json"
        path.write_text(text)
        summary = ", ".join(f"{e['name']}={outcome(e)}" for e in eps)
        print(f"{path.name}: {path.stat().st_size // 1024} KiB; {summary}")


if __name__ == "__main__":
    main()
