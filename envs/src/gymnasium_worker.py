# The Python side of sparq's Gymnasium bridge (envs/src/gymnasium.rs): one environment per
# process, driven over stdin/stdout.
#   argv: ENV_ID [MODULE]    MODULE (a module name, or a path to a .py file) is imported first, so
#                            it can gymnasium.register the user's own environments.
#   hello (one JSON line): {"ok": true, "obs_shape": [...], "num_actions": n, "max_episode_steps": m}
#                       or {"ok": false, "error": "..."}
#   then binary, little-endian:
#     b"R"                       -> obs (f32 × obs_len), continuing the generator
#     b"P" u128 state u128 inc   -> obs, after np_random := numpy PCG64 in that state, which draws
#                                   the same stream as rand_pcg's Pcg64 in it (both step, then output)
#     b"S" u32 action            -> obs, f64 reward, u8 terminated, u8 truncated
#     b"Q"                       -> exit
import json
import struct
import sys


def hello(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def main():
    env_id = sys.argv[1]
    module = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    try:
        if module and module.endswith(".py"):
            import importlib.util

            spec = importlib.util.spec_from_file_location("sparq_user_envs", module)
            if spec is None or spec.loader is None:
                raise ImportError(f"no Python module at {module}", name=module)
            user = importlib.util.module_from_spec(spec)
            sys.modules["sparq_user_envs"] = user
            spec.loader.exec_module(user)
        elif module:
            __import__(module)
        import gymnasium as gym
        import numpy as np
    except Exception as e:  # noqa: BLE001 - reported to Rust as one line
        hello(ok=False, error=f"cannot import {e.name if isinstance(e, ImportError) else ''}: {type(e).__name__}: {e}")
        return
    try:
        env = gym.make(env_id)
    except Exception as e:  # noqa: BLE001
        hello(ok=False, error=f"gymnasium.make('{env_id}') failed: {type(e).__name__}: {e}")
        return
    if not isinstance(env.action_space, gym.spaces.Discrete):
        hello(ok=False, error=f"the action space {env.action_space} is not Discrete")
        return
    if not isinstance(env.observation_space, gym.spaces.Box):
        hello(ok=False, error=f"the observation space {env.observation_space} is not a Box")
        return
    shape = list(env.observation_space.shape)
    start = int(env.action_space.start)
    spec = env.spec
    hello(
        ok=True,
        obs_shape=shape,
        num_actions=int(env.action_space.n),
        max_episode_steps=spec.max_episode_steps if spec is not None else None,
    )

    read = sys.stdin.buffer.read
    write = sys.stdout.buffer.write
    flush = sys.stdout.buffer.flush
    f32 = np.float32
    pack_tail = struct.Struct("<dBB").pack
    while True:
        op = read(1)
        if op == b"S":
            (action,) = struct.unpack("<I", read(4))
            obs, reward, terminated, truncated, _ = env.step(action + start)
            write(np.asarray(obs, dtype=f32).tobytes())
            write(pack_tail(float(reward), bool(terminated), bool(truncated)))
            flush()
        elif op == b"R" or op == b"P":
            if op == b"P":
                state = int.from_bytes(read(16), "little")
                inc = int.from_bytes(read(16), "little")
                bits = np.random.PCG64()
                bits.state = {
                    "bit_generator": "PCG64",
                    "state": {"state": state, "inc": inc},
                    "has_uint32": 0,
                    "uinteger": 0,
                }
                env.unwrapped.np_random = np.random.Generator(bits)
            obs, _ = env.reset()
            write(np.asarray(obs, dtype=f32).tobytes())
            flush()
        else:  # b"Q" or end of input
            env.close()
            return


if __name__ == "__main__":
    main()
