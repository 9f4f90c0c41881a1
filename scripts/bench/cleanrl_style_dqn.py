"""A single-file DQN in the style of CleanRL's dqn.py (one env, a numpy ring buffer, plain
PyTorch), on the benchmark's settings; times the training loop.

    python cleanrl_style_dqn.py --config configs/bench/cartpole_64x64.toml --threads 1
"""

import argparse
import time

import numpy as np

from common import base_args, emit, load_hp, pin_threads


class Replay:
    """Fixed-capacity ring buffer of transitions in preallocated numpy arrays."""

    def __init__(self, capacity, obs_dim):
        self.obs = np.zeros((capacity, obs_dim), np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), np.float32)
        self.actions = np.zeros((capacity, 1), np.int64)
        self.rewards = np.zeros(capacity, np.float32)
        self.dones = np.zeros(capacity, np.float32)
        self.capacity, self.pos, self.size = capacity, 0, 0

    def add(self, obs, action, reward, next_obs, terminated):
        i = self.pos
        self.obs[i], self.next_obs[i] = obs, next_obs
        self.actions[i, 0], self.rewards[i], self.dones[i] = action, reward, float(terminated)
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, rng, n):
        idx = rng.integers(0, self.size, n)
        return self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx], self.dones[idx]


def main():
    args = base_args(argparse.ArgumentParser(description=__doc__)).parse_args()
    hp = load_hp(args.config, args.steps)
    torch = pin_threads(args.threads)
    import gymnasium as gym
    import torch.nn.functional as F
    from torch import nn

    torch.manual_seed(hp.seed)
    rng = np.random.default_rng(hp.seed)
    env = gym.make(hp.env_id)
    obs_dim, n_actions = env.observation_space.shape[0], env.action_space.n

    def q_net():
        layers, width = [], obs_dim
        for h in hp.hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        return nn.Sequential(*layers, nn.Linear(width, n_actions))

    q, target = q_net(), q_net()
    target.load_state_dict(q.state_dict())
    opt = torch.optim.Adam(q.parameters(), lr=hp.lr, eps=hp.adam_eps)
    rb = Replay(hp.buffer_size, obs_dim)
    decay_steps = hp.eps_fraction * hp.total_steps

    obs, _ = env.reset(seed=hp.seed)
    updates, episodes = 0, 0
    start = time.perf_counter()
    for step in range(hp.total_steps):
        frac = min(1.0, step / decay_steps) if decay_steps > 0 else 1.0
        eps = hp.eps_initial + frac * (hp.eps_final - hp.eps_initial)
        if rng.random() < eps:
            action = int(rng.integers(n_actions))
        else:
            with torch.no_grad():
                action = int(q(torch.from_numpy(obs).unsqueeze(0)).argmax(1).item())
        next_obs, reward, terminated, truncated, _ = env.step(action)
        rb.add(obs, action, reward, next_obs, terminated)
        obs = next_obs
        if terminated or truncated:
            obs, _ = env.reset()
            episodes += 1

        if step >= hp.learning_starts:
            b_obs, b_act, b_rew, b_next, b_done = (torch.from_numpy(x) for x in rb.sample(rng, hp.batch_size))
            with torch.no_grad():
                y = b_rew + hp.gamma * target(b_next).amax(1) * (1.0 - b_done)
            q_taken = q(b_obs).gather(1, b_act).squeeze(1)
            loss = F.smooth_l1_loss(q_taken, y)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(q.parameters(), hp.max_grad_norm)
            opt.step()
            updates += 1
            if updates % hp.target_update_interval == 0:
                with torch.no_grad():
                    for t, p in zip(target.parameters(), q.parameters()):
                        t.copy_(p)
    wall = time.perf_counter() - start
    emit({
        "impl": "cleanrl_style",
        "threads": args.threads,
        "env_steps": hp.total_steps,
        "updates": updates,
        "episodes": episodes,
        "wall_s": round(wall, 4),
        "sps": round(hp.total_steps / wall, 2),
        "torch": torch.__version__,
    })


if __name__ == "__main__":
    main()
