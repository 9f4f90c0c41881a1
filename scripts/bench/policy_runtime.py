"""The Python half of scripts/bench/policy-runtime: batch-1, batch-8 and batch-32 latency at 1
thread of onnxruntime on sparq's ONNX export, torch dense and torch sparse CSR (weights read from the same
ONNX file), on the states of the export's reference file. One JSON line per (runtime, batch),
timed per call like the Rust half (median over up to 3000 calls). `--rss RUNTIME` instead prints
the peak resident memory of a process that loads the model and acts 1000 times.
"""

import argparse
import json
import resource
import time

import numpy as np

CALLS = 3000
MAX_S = 1.5


def timed(f, pool_n, batch):
    for i in range(200):
        f(i)
    us, start = [], time.perf_counter()
    for i in range(CALLS):
        t = time.perf_counter()
        f(i)
        us.append((time.perf_counter() - t) * 1e6)
        if time.perf_counter() - start > MAX_S and len(us) >= 100:
            break
    us.sort()
    return us[len(us) // 2], us[0]


def read_states(path):
    n, obs_len, actions = (int(v) for v in np.fromfile(path, dtype="<u4", count=3))
    return np.fromfile(path, dtype="<f4", offset=12, count=n * obs_len).reshape(n, obs_len)


def torch_layers(model_path):
    """(kind, weight, bias, role) per layer from the ONNX initializers (f32 export)."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(model_path)
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    layers = []
    for node in m.graph.node:
        if node.op_type in ("Gemm", "Conv"):
            w, b = init[node.input[1]], init[node.input[2]]
            name = node.input[1].rsplit(".", 1)[0]
            layers.append((node.op_type, w, b, name))
    acts = {n.op_type for n in m.graph.node} & {"Relu", "Tanh", "Elu", "LeakyRelu", "Erf"}
    return layers, acts


def torch_runner(model_path, sparse, shape):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    layers, acts = torch_layers(model_path)
    if acts - {"Relu"}:
        raise SystemExit("policy_runtime.py: the torch runners cover ReLU networks (sparq's benchmark configs)")
    ts = []
    for kind, w, b, name in layers:
        wt = torch.from_numpy(w.copy())
        if kind == "Gemm" and sparse:
            wt = wt.to_sparse_csr()
        ts.append((kind, wt, torch.from_numpy(b.copy()), name))
    dueling = any(n == "value" for _, _, _, n in ts)

    @torch.no_grad()
    def run(x):
        x = torch.from_numpy(x).view(-1, *shape)
        value = None
        for kind, w, b, name in ts:
            if kind == "Conv":
                x = F.relu(F.conv2d(x, w, b))
                continue
            x = x.flatten(1)
            y = (w @ x.T).T + b if sparse else F.linear(x, w, b)
            if name == "value":
                value = y
            elif name in ("out", "advantage"):
                q = y if value is None else value + y - y.mean(1, keepdim=True)
                return q.numpy()
            else:
                x = F.relu(y)

    return run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--shape", required=True, help="observation shape, e.g. 4 or 4,10,10")
    ap.add_argument("--rss", choices=["onnxruntime", "torch"])
    a = ap.parse_args()
    shape = [int(v) for v in a.shape.split(",")]
    states = read_states(a.reference).astype(np.float32)
    pool = len(states)

    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if a.rss:
        if a.rss == "onnxruntime":
            sess = ort.InferenceSession(a.onnx, opts, providers=["CPUExecutionProvider"])
            run = lambda x: sess.run(None, {"obs": x.reshape(-1, *shape)})[0]
        else:
            run = torch_runner(a.onnx, False, shape)
        for i in range(1000):
            run(states[i % pool : i % pool + 1]).argmax(1)
        print(json.dumps({"rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
        return
    sess = ort.InferenceSession(a.onnx, opts, providers=["CPUExecutionProvider"])
    runners = [
        ("onnxruntime dense", lambda x: sess.run(None, {"obs": x.reshape(-1, *shape)})[0]),
        ("torch dense", torch_runner(a.onnx, False, shape)),
        ("torch sparse CSR", torch_runner(a.onnx, True, shape)),
    ]
    for name, run in runners:
        for batch in (1, 8, 32):
            def f(i, run=run, batch=batch):
                off = (i * batch) % (pool - batch + 1)
                return run(states[off : off + batch])
            med, best = timed(f, pool, batch)
            print(json.dumps({"model": a.model, "runtime": name, "batch": batch, "us": round(med, 3), "us_min": round(best, 3)}), flush=True)


if __name__ == "__main__":
    main()
