"""Shared by the Python DQN benchmarks: the hyper-parameters (read from sparq's own benchmark
config, so every implementation trains the same thing), thread pinning and the result line."""

import json
import os
import sys
import tomllib
from dataclasses import dataclass

# Keys the benchmark config must spell out; a missing one would silently fall back to a default
# that the Python implementations do not know about.
REQUIRED = {
    "run": ["seed", "total_steps"],
    "env": ["id", "num_envs"],
    "agent": [
        "gamma", "lr", "optimizer", "adam_eps", "batch_size", "buffer_size", "learning_starts",
        "train_freq", "gradient_steps", "target_update_interval", "tau", "double", "max_grad_norm",
        "loss", "exploration_initial_eps", "exploration_final_eps", "exploration_fraction",
        "dueling", "n_step", "prioritized",
    ],
    "network": ["hidden", "activation"],
}

# What the Python implementations here can reproduce.
SUPPORTED = {
    ("env", "num_envs"): 1,
    ("agent", "optimizer"): "adam",
    ("agent", "train_freq"): 1,
    ("agent", "gradient_steps"): 1,
    ("agent", "tau"): 1.0,
    ("agent", "double"): False,
    ("agent", "loss"): "huber",
    ("agent", "dueling"): False,
    ("agent", "n_step"): 1,
    ("agent", "prioritized"): False,
    ("network", "activation"): "relu",
}


@dataclass(frozen=True)
class Hp:
    env_id: str
    seed: int
    total_steps: int
    gamma: float
    lr: float
    adam_eps: float
    batch_size: int
    buffer_size: int
    learning_starts: int
    target_update_interval: int
    max_grad_norm: float
    eps_initial: float
    eps_final: float
    eps_fraction: float
    hidden: tuple


def load_hp(config_path, total_steps=None):
    """Hyper-parameters from a sparq TOML config; exits with one line naming a bad key."""
    try:
        with open(config_path, "rb") as f:
            cfg = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        die(f"cannot read benchmark config {config_path}: {e}")
    for section, keys in REQUIRED.items():
        for key in keys:
            if key not in cfg.get(section, {}):
                die(f"{config_path}: [{section}] {key} must be set explicitly for the benchmark")
    for (section, key), want in SUPPORTED.items():
        if cfg[section][key] != want:
            die(f"{config_path}: [{section}] {key} = {cfg[section][key]!r}; the Python benchmarks support only {want!r}")
    r, a, n = cfg["run"], cfg["agent"], cfg["network"]
    return Hp(
        env_id=cfg["env"]["id"],
        seed=int(r["seed"]),
        total_steps=int(total_steps if total_steps is not None else r["total_steps"]),
        gamma=float(a["gamma"]),
        lr=float(a["lr"]),
        adam_eps=float(a["adam_eps"]),
        batch_size=int(a["batch_size"]),
        buffer_size=int(a["buffer_size"]),
        learning_starts=int(a["learning_starts"]),
        target_update_interval=int(a["target_update_interval"]),
        max_grad_norm=float(a["max_grad_norm"]),
        eps_initial=float(a["exploration_initial_eps"]),
        eps_final=float(a["exploration_final_eps"]),
        eps_fraction=float(a["exploration_fraction"]),
        hidden=tuple(int(h) for h in n["hidden"]),
    )


def pin_threads(n):
    """torch intra-op threads = n; OMP/MKL must already be n in the environment (set before the
    interpreter starts, as OpenMP reads them once)."""
    import torch

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var) != str(n):
            die(f"{var} must be {n} in the environment (got {os.environ.get(var)!r})")
    torch.set_num_threads(n)
    if torch.get_num_threads() != n:
        die(f"torch.set_num_threads({n}) did not stick (torch reports {torch.get_num_threads()})")
    return torch


def emit(result):
    """The one line on stdout that scripts/bench/bench.py reads."""
    print(json.dumps(result), flush=True)


def die(msg):
    print(f"bench: {msg}", file=sys.stderr)
    sys.exit(2)


def base_args(parser):
    parser.add_argument("--config", required=True, help="sparq benchmark config (TOML)")
    parser.add_argument("--threads", type=int, required=True, help="torch intra-op threads")
    parser.add_argument("--steps", type=int, default=None, help="env steps (default: the config's run.total_steps)")
    return parser
