"""Reference fixtures from the `minatar` package for sparq's MinAtar parity tests.

Writes two files into OUT_DIR:

random_policy.json  Per game, the mean and sample standard deviation (ddof=1) of episode return
                    and length under a uniform random policy over the minimal action set, with
                    the `MinAtar/<Game>-v1` settings (sticky actions 0.1, difficulty ramping on, no
                    time limit). The Environment wrapper is driven directly: that is exactly what
                    `minatar.gym.BaseEnv.step` does, without needing gymnasium.
trajectories.json   Per game, a few recorded episodes: every random draw the game made (tagged
                    `r<float64 bits, hex>` for rand(), `i<value>` for randint()), and per frame the
                    action actually played (after sticky actions), the reward, the terminal flag
                    and an FNV-1a 64 hash of the observation (channel-major, np.packbits little
                    bit order); the full observation after reset and at the last frame. Replaying
                    the draws makes a port play out the same frames exactly. A few random-policy
                    episodes, then some from a deliberate policy (Breakout: follow the ball;
                    Freeway: mostly up; others: a 3-frame lookahead avoiding losing moves) to
                    reach later stages, cut at --max-frames.

    python gen_minatar_reference.py OUT_DIR [--episodes N] [--seed S] [--games breakout,...]
"""

import argparse
import copy
import json
import logging
import struct
import sys
import time
from importlib.metadata import version

import numpy as np

# minatar warns at import when matplotlib is missing; it only matters for its GUI, unused here.
logging.disable(logging.WARNING)
import minatar  # noqa: E402

GAMES = {
    "breakout": "MinAtar/Breakout-v1",
    "freeway": "MinAtar/Freeway-v1",
    "asterix": "MinAtar/Asterix-v1",
    "seaquest": "MinAtar/Seaquest-v1",
    "space_invaders": "MinAtar/SpaceInvaders-v1",
}
STICKY = 0.1


def random_policy_stats(game, episodes, seed):
    env = minatar.Environment(game, sticky_action_prob=STICKY, difficulty_ramping=True)
    env.seed(seed)
    actions = env.minimal_action_set()
    policy = np.random.RandomState(seed + 1)
    returns, lengths = [], []
    for _ in range(episodes):
        # One environment for all episodes, as a training run uses it: the wrapper's
        # last_action (sticky actions) carries over resets.
        env.reset()
        ret, steps, done = 0.0, 0, False
        while not done:
            reward, done = env.act(actions[policy.randint(len(actions))])
            ret += reward
            steps += 1
        returns.append(ret)
        lengths.append(steps)
    returns, lengths = np.asarray(returns), np.asarray(lengths)
    return {
        "episodes": episodes,
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std(ddof=1)),
        "length_mean": float(lengths.mean()),
        "length_std": float(lengths.std(ddof=1)),
    }


class Recorder:
    """A RandomState that logs every value it hands out."""

    def __init__(self, rs):
        self.rs = rs
        self.log = []

    def rand(self, *size):
        v = self.rs.rand(*size)
        for x in np.atleast_1d(v):
            self.log.append("r" + struct.pack(">d", float(x)).hex())
        return v

    def randint(self, *args, **kwargs):
        v = self.rs.randint(*args, **kwargs)
        for x in np.atleast_1d(v):
            self.log.append("i%d" % int(x))
        return v

    def __deepcopy__(self, memo):
        # Lookahead copies draw from their own copy and log nothing that matters.
        return Recorder(copy.deepcopy(self.rs, memo))


def packed(state):
    return np.packbits(np.transpose(state, (2, 0, 1)).reshape(-1), bitorder="little").tobytes()


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def breakout_action(env, actions, policy):
    """Moves the paddle toward where the ball will land (found by playing a copy with the paddle
    out of the way), with 10% random moves: a deliberate policy, to reach rebuilt walls."""
    g = copy.deepcopy(env.env)
    g.pos = -100
    while not g.terminal:
        g.act(0)
    x = g.ball_x
    pos = env.env.pos
    move = 0 if x == pos else (1 if x < pos else 3)
    return move if policy.rand() < 0.9 else actions[policy.randint(len(actions))]


def freeway_action(env, actions, policy):
    """Mostly up, to cross often (each crossing redraws the car speeds)."""
    return 2 if policy.rand() < 0.8 else actions[policy.randint(len(actions))]


def survives(game, actions, depth):
    """Whether some sequence of `depth` actions keeps `game` (a copy) going."""
    if depth == 0:
        return True
    for a in actions:
        g = copy.deepcopy(game)
        if not g.act(a)[1] and survives(g, actions, depth - 1):
            return True
    return False


def lookahead_action(env, actions, policy, depth=3, prefer=None):
    """A uniformly random action among those after which the game can survive `depth - 1` more
    frames, preferring `prefer`, then rewarding ones (the lookahead ignores sticky actions)."""
    safe, rewarding = [], []
    for a in actions:
        g = copy.deepcopy(env.env)
        r, done = g.act(a)
        if not done and survives(g, actions, depth - 1):
            safe.append(a)
            if r > 0:
                rewarding.append(a)
    if prefer in safe:
        return prefer
    pool = rewarding or safe or actions
    return pool[policy.randint(len(pool))]


def seaquest_action(env, actions, policy):
    """The lookahead, steering toward the nearest diver and surfacing with divers on board when
    oxygen runs low or six are aboard, so recorded episodes surface and ramp up."""
    g = env.env
    prefer = None
    if g.diver_count > 0 and (g.oxygen < 60 or g.diver_count == 6):
        prefer = 2
    elif g.divers:
        d = min(g.divers, key=lambda d: abs(d[0] - g.sub_x) + abs(d[1] - g.sub_y))
        if d[1] != g.sub_y:
            prefer = 2 if d[1] < g.sub_y else 4
        elif d[0] != g.sub_x:
            prefer = 1 if d[0] < g.sub_x else 3
    return lookahead_action(env, actions, policy, prefer=prefer)


def space_invaders_action(env, actions, policy):
    """The lookahead, firing whenever the cannon is under an alien, so recorded episodes clear
    waves."""
    g = env.env
    prefer = 5 if g.shot_timer == 0 and g.alien_map[:, g.pos].any() else None
    return lookahead_action(env, actions, policy, prefer=prefer)


# The deliberate policy per game, for the long recorded episode.
DELIBERATE = {
    "breakout": breakout_action,
    "freeway": freeway_action,
    "seaquest": seaquest_action,
    "space_invaders": space_invaders_action,
}


def record_episode(env, recorder, actions, policy, deliberate, max_frames):
    recorder.log = []
    env.reset()
    frames = []
    last = packed(env.state())
    episode = {"reset_obs": packed(env.state()).hex()}
    done = False
    while not done and len(frames) < max_frames:
        if deliberate:
            a = deliberate(env, actions, policy)
        else:
            a = actions[policy.randint(len(actions))]
        reward, done = env.act(a)
        last = packed(env.state())
        frames.append([env.last_action, int(reward), bool(done), fnv1a64(last)])
    episode["draws"] = recorder.log
    episode["frames"] = frames
    episode["last_obs"] = last.hex()
    return episode


def trajectories(game, seed, random_episodes, random_max_frames, deliberate_episodes, max_frames):
    env = minatar.Environment(game, sticky_action_prob=STICKY, difficulty_ramping=True)
    # Separate streams: the wrapper's sticky draws are not the game's.
    env.random = np.random.RandomState(seed)
    recorder = Recorder(np.random.RandomState(seed + 100))
    env.env.random = recorder
    actions = env.minimal_action_set()
    policy = np.random.RandomState(seed + 1)
    episodes = [
        record_episode(env, recorder, actions, policy, None, random_max_frames)
        for _ in range(random_episodes)
    ]
    deliberate = DELIBERATE.get(game, lookahead_action)
    episodes += [
        record_episode(env, recorder, actions, policy, deliberate, max_frames)
        for _ in range(deliberate_episodes)
    ]
    return {"channels": env.state_shape()[2], "episodes": episodes}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--episodes", type=int, default=500, help="random-policy episodes per game")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--games", default=",".join(GAMES))
    parser.add_argument("--trajectory-episodes", type=int, default=5,
                        help="recorded random-policy episodes per game (Freeway: 1, in full)")
    parser.add_argument("--deliberate-episodes", type=int, default=3,
                        help="recorded deliberate-policy episodes per game (Freeway: 1)")
    parser.add_argument("--max-frames", type=int, default=1000,
                        help="frames kept of each recorded deliberate-policy episode")
    args = parser.parse_args()
    games = args.games.split(",")
    unknown = [g for g in games if g not in GAMES]
    if unknown:
        sys.exit(f"gen_minatar_reference: unknown game(s) {unknown}; allowed: {list(GAMES)}")

    header = {
        "generator": "scripts/dev/gen_minatar_reference.py",
        "minatar": version("minatar"),
        "numpy": np.__version__,
        "sticky_action_prob": STICKY,
        "difficulty_ramping": True,
        "seed": args.seed,
    }
    stats = dict(header, policy="uniform over the minimal action set", games={})
    trajs = dict(header, games={})
    for game in games:
        start = time.time()
        s = random_policy_stats(game, args.episodes, args.seed)
        stats["games"][GAMES[game]] = s
        # Freeway always lasts 2501 frames: one random episode, kept whole to cover the ending.
        if game == "freeway":
            t = trajectories(game, args.seed, 1, 2501, 1, args.max_frames)
        else:
            t = trajectories(game, args.seed, args.trajectory_episodes, args.max_frames,
                             args.deliberate_episodes, args.max_frames)
        trajs["games"][GAMES[game]] = t
        lengths = [len(e["frames"]) for e in t["episodes"]]
        print(f"{GAMES[game]}: {s}; recorded frames {lengths} ({time.time() - start:.0f} s)",
              file=sys.stderr)
    for name, data in [("random_policy.json", stats), ("trajectories.json", trajs)]:
        with open(f"{args.out_dir}/{name}", "w") as f:
            json.dump(data, f, indent=1 if name == "random_policy.json" else None)
            f.write("\n")


if __name__ == "__main__":
    main()
