"""PyTorch's own cost of one MinAtar DQN frame, the floor any libtorch-based trainer sits on.

The reference DQN of configs/minatar/breakout_dqn.toml (conv 16 -> 128 -> 6, batch 32, centred
RMSprop, Huber loss) written plainly in PyTorch: microseconds for a batch-1 greedy action (with the
host sync it needs), one gradient step, and both (one frame at train_freq = 1), on the CPU and,
where there is one, the GPU. One thread, 3 s per figure after 50 warm-up calls.

    python3 scripts/bench/minatar_torch_step.py        # any python3 with torch
"""
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)


def net():
    return nn.Sequential(nn.Conv2d(4, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 8 * 8, 128),
                         nn.ReLU(), nn.Linear(128, 6))


def main():
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for dev in devices:
        q, t = net().to(dev), net().to(dev)
        opt = torch.optim.RMSprop(q.parameters(), lr=2.5e-4, alpha=0.95, centered=True, eps=0.01)
        x1 = torch.rand(1, 4, 10, 10)
        xb = torch.rand(32, 4, 10, 10, device=dev)
        a = torch.randint(0, 6, (32, 1), device=dev)
        r = torch.rand(32, device=dev)

        def act():
            return int(q(x1.to(dev)).argmax())

        def update():
            with torch.no_grad():
                y = r + 0.99 * t(xb).max(1).values
            loss = F.smooth_l1_loss(q(xb).gather(1, a).squeeze(1), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

        for name, f in [("act b1 + sync", act), ("update b32 (no sync)", update),
                        ("act+update (one frame)", lambda: (update(), act()))]:
            for _ in range(50):
                f()
            if dev == "cuda":
                torch.cuda.synchronize()
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < 3:
                f()
                n += 1
            if dev == "cuda":
                torch.cuda.synchronize()
            print(f"torch {dev}: {name}: {(time.perf_counter() - t0) / n * 1e6:.0f} us")


if __name__ == "__main__":
    main()
