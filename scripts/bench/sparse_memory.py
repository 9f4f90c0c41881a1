"""Training memory of the Q-network and its optimizer: dense, GMP, SET, RigL and STE.

Each method trains the same config for a few thousand steps under /usr/bin/time. Printed per
method: the learner's tensors as its final checkpoint holds them (online and target weights,
mask, optimizer moments, STE's dense copy), what of that lives during training besides (RigL
keeps |dL/dw| on its update steps), and the process's peak RSS, each as a ratio to dense. Also the
bytes a compressed store (f32 value + u32 index per kept weight) would take for the same state.
"""

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

METHODS = {
    "dense": ['prune.schedule="none"'],
    "gmp": ['prune.schedule="polynomial"', 'prune.scope="erk"'],
    "set": ['prune.schedule="set"', 'prune.scope="erk"', "prune.start=0", "prune.end=0.75"],
    "rigl": ['prune.schedule="rigl"', 'prune.scope="erk"', "prune.start=0", "prune.end=0.75"],
    "ste": ['prune.schedule="ste"', 'prune.scope="erk"'],
}


def header(checkpoint):
    """The safetensors file's JSON header and the offset where its data starts."""
    with open(os.path.join(checkpoint, "tensors.safetensors"), "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)), 8 + n


def tensors(checkpoint):
    """{name: (numel, bytes)} from a safetensors file's header."""
    out = {}
    for name, t in header(checkpoint)[0].items():
        if name == "__metadata__":
            continue
        start, end = t["data_offsets"]
        numel = 1
        for d in t["shape"]:
            numel *= d
        out[name] = (numel, end - start)
    return out


def read_f32(checkpoint, name):
    """One f32 tensor's values, flat."""
    h, data_start = header(checkpoint)
    start, end = h[name]["data_offsets"]
    with open(os.path.join(checkpoint, "tensors.safetensors"), "rb") as f:
        f.seek(data_start + start)
        data = f.read(end - start)
    return struct.unpack(f"<{len(data) // 4}f", data)


def final_checkpoint(run):
    root = os.path.join(run, "checkpoints")
    steps = sorted(d for d in os.listdir(root) if d.startswith("step_"))
    return os.path.join(root, steps[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sparq", required=True)
    ap.add_argument("--config", default="configs/cartpole_dqn_gmp90.toml")
    ap.add_argument("--sparsity", type=float, default=0.9)
    ap.add_argument("--steps", type=int, default=5000)
    args = ap.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for method, sets in METHODS.items():
            run = os.path.join(tmp, method)
            cmd = ["/usr/bin/time", "-f", "%M", args.sparq, "train", args.config, "--run-dir", run,
                   "--set", f"run.total_steps={args.steps}", "--set", "agent.learning_starts=1000",
                   "--set", f"prune.target_sparsity={args.sparsity}", "--set", "log.eval_interval=0",
                   "--set", "log.final_eval_episodes=1", "--set", "log.save_best=false"]
            for s in sets:
                cmd += ["--set", s]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit(f"sparse-memory: {method} failed:\n{p.stderr}")
            rss_kib = int(p.stderr.strip().splitlines()[-1])
            checkpoint = final_checkpoint(run)
            t = tensors(checkpoint)
            state = sum(b for _, b in t.values())
            numel = t["params"][0]
            kept = sum(1 for m in read_f32(checkpoint, "mask") if m != 0.0)
            # RigL's |dL/dw| lives from its update step's backward to the mask update.
            transient = 4 * numel if method == "rigl" else 0
            # params, target, two moments as (value, index) pairs for kept entries; no mask.
            compressed = 4 * 8 * kept
            rows.append((method, numel, kept, state, state + transient, compressed, rss_kib))

    dense = rows[0]
    print(f"config {args.config}, {args.steps} env steps, target sparsity {args.sparsity}")
    print("| method | parameters | kept | learner state (bytes) | peak during training | vs dense "
          "| compressed store | peak RSS (MiB) | vs dense |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for m, numel, kept, state, peak, comp, rss in rows:
        print(f"| {m} | {numel} | {kept} | {state} | {peak} | {peak / dense[4]:.2f} | {comp} "
              f"| {rss / 1024:.1f} | {rss / dense[6]:.2f} |")


if __name__ == "__main__":
    main()
