"""Post-hoc pruning baseline: SB3 DQN trained dense on CartPole-v1 (RL Zoo's tuned settings), then
pruned once by global L1 magnitude over the weights of all Linear layers of the Q-network
(torch.nn.utils.prune.global_unstructured with L1Unstructured; biases kept), with no fine-tuning,
and evaluated greedily on the same deterministically seeded episodes as the dense network.

Run through scripts/bench/sb3-posthoc, which prepares the venv and the environment (one thread).

    python sb3_posthoc.py [--seeds 1 2 3] [--sparsities 0.5 0.8 0.9 0.95 0.98] [--episodes 100] [--json OUT]
"""

import argparse
import copy
import json
import os
import platform
import sys
import time

ENV_ID = "CartPole-v1"
# RL Zoo (rl-baselines3-zoo hyperparams/dqn.yml), CartPole-v1.
HP = dict(
    policy="MlpPolicy",
    net_arch=[256, 256],
    n_timesteps=50_000,
    learning_rate=2.3e-3,
    batch_size=64,
    buffer_size=100_000,
    learning_starts=1000,
    gamma=0.99,
    target_update_interval=10,
    train_freq=256,
    gradient_steps=128,
    exploration_fraction=0.16,
    exploration_final_eps=0.04,
)
EVAL_SEED_BASE = 10_000  # episode i of every evaluation starts from reset(seed=EVAL_SEED_BASE + i)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--sparsities", type=float, nargs="+", default=[0.5, 0.8, 0.9, 0.95, 0.98])
    p.add_argument("--episodes", type=int, default=100, help="greedy evaluation episodes per network")
    p.add_argument("--json", default=None, metavar="OUT", help="write the results here (rewritten after each seed)")
    p.add_argument("--command", default=None, help="the invoking command line, recorded in the JSON")
    a = p.parse_args()
    if any(not 0.0 < s < 1.0 for s in a.sparsities):
        p.error("--sparsities must lie in (0, 1)")
    if a.episodes < 1:
        p.error("--episodes must be positive")
    return a


def linear_weights(net, nn):
    return [(m, "weight") for m in net.modules() if isinstance(m, nn.Linear)]


def zero_fraction(params):
    zeros = sum(int((getattr(m, name) == 0).sum()) for m, name in params)
    total = sum(getattr(m, name).numel() for m, name in params)
    return zeros / total, zeros, total


def evaluate(q_net, episodes, gym, np, torch):
    """Greedy (argmax Q, as SB3's predict(deterministic=True)) undiscounted returns on fresh
    CartPole-v1 episodes; episode i starts from reset(seed=EVAL_SEED_BASE + i)."""
    env = gym.make(ENV_ID)
    returns = []
    q_net.eval()
    with torch.inference_mode():
        for i in range(episodes):
            obs, _ = env.reset(seed=EVAL_SEED_BASE + i)
            total, done = 0.0, False
            while not done:
                q = q_net(torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0))
                obs, reward, terminated, truncated, _ = env.step(int(q.argmax(dim=1)[0]))
                total += float(reward)
                done = terminated or truncated
            returns.append(total)
    env.close()
    r = np.asarray(returns)
    return dict(mean=float(r.mean()), std=float(r.std()), min=float(r.min()), max=float(r.max()), episodes=episodes)


def main():
    a = parse_args()
    if os.environ.get("OMP_NUM_THREADS") != "1":
        print("sb3_posthoc: set OMP_NUM_THREADS=1 (scripts/bench/sb3-posthoc does)", file=sys.stderr)
        sys.exit(2)

    import gymnasium as gym
    import numpy as np
    import stable_baselines3
    import torch
    from stable_baselines3 import DQN
    from torch import nn
    from torch.nn.utils import prune

    torch.set_num_threads(1)

    out = dict(
        what="SB3 DQN trained dense on CartPole-v1 (RL Zoo settings), then global L1 magnitude pruning "
        "of all Linear weights of the Q-network (torch.nn.utils.prune.global_unstructured, "
        "L1Unstructured; biases not pruned), no fine-tuning; greedy evaluation",
        command=a.command,
        versions=dict(
            stable_baselines3=stable_baselines3.__version__,
            torch=torch.__version__,
            gymnasium=gym.__version__,
            numpy=np.__version__,
            python=platform.python_version(),
        ),
        env=ENV_ID,
        hyper_parameters=dict(HP, seed="per seed", torch_threads=1, device="cpu"),
        evaluation=dict(
            policy="greedy (argmax Q, deterministic=True)",
            episodes=a.episodes,
            reset_seeds=f"{EVAL_SEED_BASE} + episode index",
            std="population (ddof=0)",
        ),
        sparsities=a.sparsities,
        seeds=[],
    )

    def write_json():
        if a.json:
            tmp = a.json + ".tmp"
            with open(tmp, "w") as f:
                json.dump(out, f, indent=2)
                f.write("\n")
            os.replace(tmp, a.json)

    for seed in a.seeds:
        print(f"sb3_posthoc: seed {seed}: training {HP['n_timesteps']} steps", file=sys.stderr, flush=True)
        model = DQN(
            HP["policy"],
            ENV_ID,
            learning_rate=HP["learning_rate"],
            batch_size=HP["batch_size"],
            buffer_size=HP["buffer_size"],
            learning_starts=HP["learning_starts"],
            gamma=HP["gamma"],
            target_update_interval=HP["target_update_interval"],
            train_freq=HP["train_freq"],
            gradient_steps=HP["gradient_steps"],
            exploration_fraction=HP["exploration_fraction"],
            exploration_final_eps=HP["exploration_final_eps"],
            policy_kwargs=dict(net_arch=HP["net_arch"]),
            device="cpu",
            seed=seed,
            verbose=0,
        )
        start = time.perf_counter()
        model.learn(total_timesteps=HP["n_timesteps"])
        train_wall = time.perf_counter() - start
        train_eps = [ep["r"] for ep in model.ep_info_buffer]

        dense_net = model.policy.q_net
        dense = evaluate(dense_net, a.episodes, gym, np, torch)
        dense_sparsity, _, n_weights = zero_fraction(linear_weights(dense_net, nn))
        print(f"sb3_posthoc: seed {seed}: trained in {train_wall:.1f} s; dense {dense['mean']:.1f}",
              file=sys.stderr, flush=True)

        rows = []
        for s in a.sparsities:
            net = copy.deepcopy(dense_net)
            params = linear_weights(net, nn)
            prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=s)
            for m, name in params:
                prune.remove(m, name)  # bake the mask into the weight
            achieved, zeros, _ = zero_fraction(params)
            r = evaluate(net, a.episodes, gym, np, torch)
            rows.append(dict(sparsity=s, achieved=achieved, zero_weights=zeros, **r))
            print(f"sb3_posthoc: seed {seed}: sparsity {s} (achieved {achieved:.4f}): {r['mean']:.1f}",
                  file=sys.stderr, flush=True)

        out["seeds"].append(dict(
            seed=seed,
            train_wall_s=round(train_wall, 3),
            env_steps=int(model.num_timesteps),
            gradient_updates=int(model._n_updates),
            train_last_episodes_mean_return=float(np.mean(train_eps)) if train_eps else None,
            train_last_episodes=len(train_eps),
            prunable_weights=n_weights,
            dense=dict(achieved=dense_sparsity, **dense),
            pruned=rows,
        ))
        write_json()

    # The table: seed x sparsity -> mean greedy return.
    head = ["seed", "dense"] + [f"{s:g}" for s in a.sparsities]
    print(f"\nSB3 {stable_baselines3.__version__} DQN, {ENV_ID}, RL Zoo settings, {HP['n_timesteps']} steps; "
          f"global L1 pruning (torch {torch.__version__}), no fine-tuning; "
          f"mean greedy return over {a.episodes} episodes\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---:" for _ in head) + "|")
    for rec in out["seeds"]:
        cells = [str(rec["seed"]), f"{rec['dense']['mean']:.1f}"] + [f"{r['mean']:.1f}" for r in rec["pruned"]]
        print("| " + " | ".join(cells) + " |")
    if len(out["seeds"]) > 1:
        def mean_of(xs):
            return f"{float(np.mean(xs)):.1f}"
        cells = ["mean", mean_of([rec["dense"]["mean"] for rec in out["seeds"]])]
        cells += [mean_of([rec["pruned"][j]["mean"] for rec in out["seeds"]]) for j in range(len(a.sparsities))]
        print("| " + " | ".join(cells) + " |")
    achieved = [f"{r['sparsity']:g} -> {r['achieved']:.4f}" for r in out["seeds"][0]["pruned"]]
    print(f"\nachieved sparsity over the {out['seeds'][0]['prunable_weights']} Linear weights: " + ", ".join(achieved))
    if a.json:
        print(f"json: {a.json}")


if __name__ == "__main__":
    main()
