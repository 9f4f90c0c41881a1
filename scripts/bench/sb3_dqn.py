"""Stable-Baselines3 DQN on the benchmark's settings; times model.learn() only.

    python sb3_dqn.py --config configs/bench/cartpole_64x64.toml --threads 1
"""

import argparse
import time

from common import base_args, emit, load_hp, pin_threads


def main():
    args = base_args(argparse.ArgumentParser(description=__doc__)).parse_args()
    hp = load_hp(args.config, args.steps)
    torch = pin_threads(args.threads)

    import gymnasium as gym
    import stable_baselines3
    from stable_baselines3 import DQN

    env = gym.make(hp.env_id)
    model = DQN(
        "MlpPolicy",
        env,
        learning_rate=hp.lr,
        buffer_size=hp.buffer_size,
        learning_starts=hp.learning_starts,
        batch_size=hp.batch_size,
        tau=1.0,
        gamma=hp.gamma,
        train_freq=1,
        gradient_steps=1,
        # SB3 counts this in env steps; with train_freq = 1 and one env that equals gradient steps.
        target_update_interval=hp.target_update_interval,
        exploration_fraction=hp.eps_fraction,
        exploration_initial_eps=hp.eps_initial,
        exploration_final_eps=hp.eps_final,
        max_grad_norm=hp.max_grad_norm,
        policy_kwargs=dict(net_arch=list(hp.hidden), activation_fn=torch.nn.ReLU, optimizer_kwargs=dict(eps=hp.adam_eps)),
        device="cpu",
        seed=hp.seed,
        verbose=0,
    )
    start = time.perf_counter()
    model.learn(total_timesteps=hp.total_steps)
    wall = time.perf_counter() - start
    emit({
        "impl": "sb3",
        "threads": args.threads,
        "env_steps": model.num_timesteps,
        "updates": model._n_updates,
        "wall_s": round(wall, 4),
        "sps": round(model.num_timesteps / wall, 2),
        "version": stable_baselines3.__version__,
        "torch": torch.__version__,
    })


if __name__ == "__main__":
    main()
