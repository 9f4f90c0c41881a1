"""Checks an ONNX export of sparq: onnx.checker (full check), then onnxruntime's Q-values against
libtorch's on the states of a reference file written by `sparq export ... --reference FILE`.

    scripts/dev/check-onnx MODEL.onnx REFERENCE [--int8] [--json]

Relative error = |q - r| / max(|r|, 1), as `sparq export` reports it. Greedy actions that differ
where libtorch's two Q-values are within 1e-5 (relative) count as near-ties. Exits 1 when an f32
model misses 1e-5 or disagrees on a greedy action outside the near-ties.
"""

import argparse
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort

TOL = 1e-5


def read_reference(path):
    raw = np.fromfile(path, dtype="<u4", count=3)
    n, obs_len, actions = (int(v) for v in raw)
    data = np.fromfile(path, dtype="<f4", offset=12)
    if data.size != n * (obs_len + actions):
        sys.exit(f"check-onnx: {path}: {data.size} floats, expected {n * (obs_len + actions)}")
    return data[: n * obs_len].reshape(n, obs_len), data[n * obs_len :].reshape(n, actions)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("reference")
    ap.add_argument("--int8", action="store_true", help="report only (no 1e-5 bar)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    onnx.checker.check_model(onnx.load(a.model), full_check=True)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(a.model, opts, providers=["CPUExecutionProvider"])
    shape = [d for d in sess.get_inputs()[0].shape[1:]]
    states, ref = read_reference(a.reference)
    q = np.concatenate(
        [sess.run(None, {"obs": s.reshape(len(s), *shape)})[0] for s in np.array_split(states, max(1, len(states) // 4096))]
    )
    rel = np.abs(q.astype(np.float64) - ref) / np.maximum(np.abs(ref), 1.0)
    qa, ra = q.argmax(1), ref.argmax(1)
    differ = qa != ra
    rows = np.arange(len(ref))
    gap = np.abs(ref[rows, qa] - ref[rows, ra]) / np.maximum(np.abs(ref[rows, ra]), 1.0)
    ties = int((differ & (gap <= TOL)).sum())
    out = {
        "model": a.model,
        "states": int(len(ref)),
        "onnx_checker": "ok",
        "same_action": float(1 - differ.mean()),
        "differ": int(differ.sum()),
        "near_ties": ties,
        "max_rel": float(rel.max()),
        "max_abs": float(np.abs(q - ref).max()),
        "onnxruntime": ort.__version__,
    }
    print(json.dumps(out) if a.json else
          f"{a.model}: onnx.checker ok; onnxruntime {ort.__version__} vs libtorch on {out['states']} states: "
          f"greedy action identical on {100 * out['same_action']:.4f}% ({out['differ']} differ, {ties} near-ties), "
          f"max relative |dQ| {out['max_rel']:.3e}")
    if not a.int8 and (out["max_rel"] > TOL or out["differ"] > ties):
        sys.exit(1)


if __name__ == "__main__":
    main()
