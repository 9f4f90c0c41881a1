"""The Ray driver of `sparq sweep --backend ray` (run by sparq in the pinned `ray` venv).

Submits one Ray task per job id given, each executing `sparq sweep-job SWEEP_DIR ID` on
whichever node Ray picks: the same child process the local backend runs, so results are the
same. A pruning job waits for its training job (its ObjectRef is an argument). A failed task,
or one whose node is lost, is retried up to --max-retries times; the retry resumes the run from
its last checkpoint, which lies in SWEEP_DIR on storage every node shares, as do finished runs.

Prints one JSON line per event on stdout for sparq's status line:
  {"event": "submitted", "id": ...}
  {"event": "finished", "id": ..., "ok": true|false, "error": ..., "host": ...}
"""

import argparse
import ctypes
import json
import os
import socket
import subprocess
import sys

import ray


def emit(**event):
    print(json.dumps(event), flush=True)


def die_with_parent():
    """The job dies with its Ray worker (Linux PR_SET_PDEATHSIG): when a node is lost, the
    retry elsewhere must not race a leftover process writing the same run directory."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except OSError:
        pass


def run_job(sparq, sweep_dir, job_id, *_deps):
    """One sweep job on this node; raises (so Ray retries) when it does not finish."""
    r = subprocess.run(
        [sparq, "sweep-job", sweep_dir, job_id],
        preexec_fn=die_with_parent,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        lines = [l for l in (r.stderr or "").splitlines() if l.strip()]
        raise RuntimeError(lines[-1] if lines else f"sparq sweep-job exited {r.returncode}")
    return socket.gethostname()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--address", required=True, help="the cluster, e.g. 127.0.0.1:6379")
    ap.add_argument("--sparq", required=True, help="path of the sparq binary on every node")
    ap.add_argument("--sweep-dir", required=True, help="sweep directory on shared storage")
    ap.add_argument("--max-retries", type=int, default=2)
    ap.add_argument("--ids", required=True, help="comma-separated job ids to run")
    args = ap.parse_args()

    with open(os.path.join(args.sweep_dir, "sweep.json"), encoding="utf-8") as f:
        plan = json.load(f)["plan"]
    wanted = set(filter(None, args.ids.split(",")))
    ray.init(address=args.address, logging_level="ERROR", log_to_driver=False)
    # One CPU per run: each run uses one torch thread (run.torch_threads = 1).
    task = ray.remote(num_cpus=1, max_retries=args.max_retries, retry_exceptions=True)(run_job)
    refs, ids = {}, {}
    for job in plan["jobs"]:  # plan order: a training job precedes the prune jobs using it
        if job["id"] not in wanted:
            continue
        deps = [refs[job["after"]]] if job.get("after") in refs else []
        ref = task.remote(args.sparq, args.sweep_dir, job["id"], *deps)
        refs[job["id"]], ids[ref] = ref, job["id"]
        emit(event="submitted", id=job["id"])
    pending = list(ids)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        for ref in ready:
            try:
                host = ray.get(ref)
                emit(event="finished", id=ids[ref], ok=True, host=host)
            except Exception as e:  # a task's error after its retries, or a lost dependency
                text = str(getattr(e, "cause", None) or e).strip().splitlines()
                emit(event="finished", id=ids[ref], ok=False, error=text[-1] if text else repr(e))
    ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
