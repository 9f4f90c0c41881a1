"""Turns the results of scripts/bench/policy-runtime into benchmarks/policy-runtime.md (the current
tables on top, earlier runs kept under "History") and the latency-vs-sparsity PNG."""

import argparse
import datetime
import json
import re
from collections import defaultdict

import matplotlib.pyplot as plt

RUNTIMES = [
    "tch dense", "torch dense", "torch sparse CSR", "onnxruntime dense",
    "runtime dense-f32", "runtime sparse-f32 (csr)", "runtime sparse-f32 (sell-16)", "runtime sparse-f32",
    "runtime dense-i8", "runtime sparse-i8 (csr)", "runtime sparse-i8 (sell-16)", "runtime sparse-i8", "runtime auto",
]
MARK = "<!-- history -->"


def load(path):
    lat, sizes, rss, extra = {}, {}, defaultdict(dict), {}
    for line in open(path):
        r = json.loads(line)
        if "sizes" in r:
            sizes[r["model"]] = r["sizes"]
        elif "rss" in r:
            rss[r["model"]][r["rss"]] = r["rss_kb"]
        else:
            lat[(r["model"], r["runtime"], r["batch"])] = r["us"]
            extra[(r["model"], r["runtime"], r["batch"])] = r
    return lat, sizes, rss, extra


def sparsity(m):
    return int(m.rsplit("_s", 1)[1])


def table(lat, models, batch):
    cols = [r for r in RUNTIMES if any((m, r, batch) in lat for m in models)]
    out = ["| model | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for m in models:
        out.append(f"| {m} | " + " | ".join(f"{lat[(m, r, batch)]:.1f}" if (m, r, batch) in lat else "–" for r in cols) + " |")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--commit", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--out")
    ap.add_argument("--png")
    a = ap.parse_args()
    lat, sizes, rss, extra = load(a.results)
    models = sorted({k[0] for k in lat}, key=lambda m: (m.split("_")[0], sparsity(m)))
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    md = [f"## {date}", "", f"- machine: {a.machine}; 1 thread everywhere (torch.set_num_threads(1), "
          "onnxruntime intra/inter-op 1, tch set_num_threads(1)); other work shared the machine",
          f"- commit: `{a.commit}`; command: `{a.command}`",
          "- figures: µs per call, each call timed on its own, on states from the policy's own ε-greedy rollouts. "
          "tch and sparq-runtime: the median over 5 interleaved rounds of each measurement's median "
          "(up to 500 calls after 100 warm-up calls per round), so that all meet the machine's drift alike; "
          "Python runtimes (in their own process, after): the median of up to 3000 calls, "
          "including their Python call overhead", ""]
    h = "cp512_s90"
    if (h, "runtime auto", 1) in lat:
        r = lambda k: lat[(h, k, 1)]
        best = min(("runtime auto", "runtime sparse-f32", "runtime sparse-i8"), key=r)
        md += ["### Headline: 90 %-sparse 512×512 CartPole, batch 1", "",
               "| runtime | µs per call | speed-up of `runtime auto` |", "|---|---|---|"]
        for k in ["tch dense", "onnxruntime dense", "torch dense", "torch sparse CSR", "runtime dense-f32", "runtime sparse-f32", "runtime sparse-i8", "runtime auto"]:
            if (h, k, 1) in lat:
                md.append(f"| {k} | {r(k):.2f} | {r(k) / r('runtime auto'):.2f}× |")
        md += ["", f"Fastest runtime kernel here: `{best}` ({r(best):.2f} µs).", ""]
    if ("cp512_s0", "runtime auto", 1) in lat:
        r = lambda k: lat[("cp512_s0", k, 1)]
        md += [f"At 0 % (cp512_s0) the automatic choice runs `{extra[('cp512_s0', 'runtime auto', 1)].get('kernels', '?')}`: "
               f"{r('runtime auto'):.2f} µs vs onnxruntime dense {r('onnxruntime dense'):.2f} µs.", ""]
    md += ["### Batch 1 (µs per call)", ""] + table(lat, models, 1)
    md += ["", "### Batch 8 (µs per call of 8 observations: a vectorised environment's step)", ""] + table(lat, models, 8)
    md += ["", "### Batch 32 (µs per call of 32 observations)", ""] + table(lat, models, 32) + [""]
    md += ["### Sparse kernel vs its memory-traffic bound (batch 1)", "",
           "Bytes = weights + indices (+ scales) the batch-1 call reads; bound = the time a plain read of as many bytes takes on this machine.", "",
           "| model | kernel | bytes | µs | bound µs | GB/s | of bound |", "|---|---|---|---|---|---|---|"]
    for m in models:
        for k in ("runtime sparse-f32", "runtime sparse-i8"):
            e = extra.get((m, k, 1))
            if e and "bytes_read" in e:
                md.append(f"| {m} | {k} | {e['bytes_read']} | {e['us']:.2f} | {e['stream_us']:.2f} | {e['bytes_read'] / e['us'] / 1e3:.1f} | {100 * e['stream_us'] / e['us']:.0f} % |")
    md += ["", "### File sizes (bytes; % of the same network's dense f32 policy file at 0 %)", "",
           "| model | policy f32 | policy int8 | ONNX f32 | ONNX int8 |", "|---|---|---|---|---|"]
    for m in models:
        if m not in sizes:
            continue
        base = sizes.get(m.rsplit("_s", 1)[0] + "_s0", {}).get("policy_f32")
        s = sizes[m]
        pct = lambda v: f"{v} ({100 * v / base:.1f} %)" if base else str(v)
        md.append(f"| {m} | {pct(s['policy_f32'])} | {pct(s['policy_i8'])} | {s['onnx_f32']} | {s['onnx_i8']} |")
    if rss:
        md += ["", "### Peak resident memory of a process that loads the policy and acts 1000 times (MiB)", "",
               "| model | sparq-runtime | tch (libtorch) | onnxruntime (Python) | torch (Python) |", "|---|---|---|---|---|"]
        for m, v in rss.items():
            md.append(f"| {m} | " + " | ".join(f"{v[k] / 1024:.1f}" if k in v else "–" for k in ("runtime", "tch", "onnxruntime", "torch")) + " |")
    md.append("")
    if a.png:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=False)
        for ax, arch in zip(axes, ("cp256", "cp512")):
            ms = [m for m in models if m.startswith(arch + "_")]
            for k in ["tch dense", "onnxruntime dense", "torch sparse CSR", "runtime dense-f32", "runtime sparse-f32", "runtime sparse-i8", "runtime auto"]:
                pts = [(sparsity(m), lat[(m, k, 1)]) for m in ms if (m, k, 1) in lat]
                if pts:
                    ax.plot(*zip(*pts), marker="o", label=k)
            ax.set_yscale("log")
            ax.set_xlabel("weight sparsity (%)")
            ax.set_ylabel("µs per batch-1 call (log)")
            ax.set_title(f"CartPole {'256×256' if arch == 'cp256' else '512×512'}, 1 thread")
            ax.grid(True, which="both", alpha=0.3)
        axes[1].legend(fontsize=8)
        fig.suptitle(f"latency vs sparsity ({date}, {a.commit})")
        fig.tight_layout()
        fig.savefig(a.png, dpi=110)
    text = "\n".join(md)
    if not a.out:
        print(text)
        return
    try:
        old = open(a.out).read()
    except FileNotFoundError:
        old = ""
    head = ("# Policy runtime: latency, size and memory of exported policies\n\n"
            "`scripts/bench/policy-runtime` (docs/runtime.md). Current figures first; earlier runs under History.\n"
            "![latency vs sparsity](policy-runtime.png)\n\n")
    if MARK in old:
        cur, hist = old.split(MARK, 1)
        prev = cur.split("\n## ", 1)[1] if "\n## " in cur else ""
        if prev.startswith("Current figures"):
            # A hand-written summary (it may hold figures of other runs) goes to History too,
            # named for what it now is.
            prev = f"Summary written before the {date} run" + prev[len("Current figures"):]
        history = ("\n## " + prev if prev else "") + re.sub(r"^\s*# History\n", "\n", hist)
    else:
        history = ""
    open(a.out, "w").write(head + text + "\n" + MARK + "\n\n# History\n" + re.sub(r"^\n# History\n", "", history))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
