"""Checks that TensorBoard itself reads a sparq run directory.

Usage: check_tensorboard.py RUN_DIR [--scalars TAG ...] [--histograms TAG ...]
       check_tensorboard.py --write-fixture FILE

Every event file is first read record by record with TensorBoard's own record reader, which
verifies both CRCs of every record and fails on a damaged or truncated one (EventAccumulator
alone would silently stop reading there). Then the directory is loaded with TensorBoard's
EventAccumulator, as `tensorboard --logdir` would, and each required tag must exist with strictly
increasing steps and finite values. Prints one line per tag; exits 1 on any failure.

--write-fixture writes a small event file with TensorBoard's own RecordWriter and protobuf
classes (crates/log/tests/fixtures/tensorboard_written.tfevents, read by sparq-log's tests).
Run through scripts/dev/check-tensorboard, which provides a venv with tensorboard installed.
"""

import argparse
import math
import os
import sys

from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.compat.tensorflow_stub import errors
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import PyRecordReader_New
from tensorboard.summary.writer.record_writer import RecordWriter


def check_records(run_dir):
    """Reads every record of every event file; returns (files, records, problems)."""
    names = sorted(n for n in os.listdir(run_dir) if "tfevents" in n)
    problems, records = [], 0
    for name in names:
        path = os.path.join(run_dir, name)
        reader = PyRecordReader_New(path)
        n = 0
        while True:
            try:
                reader.GetNext()
            except errors.OutOfRangeError:
                break
            except errors.DataLossError as e:
                problems.append(f"record {n}: {e.message}")
                break
            event_pb2.Event.FromString(reader.record())
            n += 1
        records += n
    if not names:
        problems.append(f"{run_dir}: no event files (no file name contains 'tfevents')")
    return len(names), records, problems


def increasing(steps):
    return all(a < b for a, b in zip(steps, steps[1:]))


def check_scalar(acc, tag):
    events = acc.Scalars(tag)
    steps = [e.step for e in events]
    values = [e.value for e in events]
    if not increasing(steps):
        return False, f"steps not strictly increasing: {steps[:10]}..."
    bad = [(s, v) for s, v in zip(steps, values) if not math.isfinite(v)]
    if bad:
        return False, f"{len(bad)} non-finite values, first at step {bad[0][0]}: {bad[0][1]}"
    return True, (
        f"{len(events)} points  steps {steps[0]}..{steps[-1]}  "
        f"first {values[0]:.6g}  last {values[-1]:.6g}"
    )


def check_histogram(acc, tag):
    events = acc.Histograms(tag)
    steps = [e.step for e in events]
    if not increasing(steps):
        return False, f"steps not strictly increasing: {steps[:10]}..."
    for e in events:
        h = e.histogram_value
        nums = [h.min, h.max, h.num, h.sum, h.sum_squares, *h.bucket, *h.bucket_limit]
        if not all(math.isfinite(x) for x in nums):
            return False, f"non-finite figure at step {e.step}"
        if sum(h.bucket) != h.num:
            return False, f"bucket counts sum to {sum(h.bucket)}, num is {h.num} (step {e.step})"
        if not increasing(list(h.bucket_limit)):
            return False, f"bucket limits not increasing at step {e.step}"
    last = events[-1].histogram_value
    return True, (
        f"{len(events)} histograms  steps {steps[0]}..{steps[-1]}  last: num {last.num:.0f}  "
        f"min {last.min:.4g}  max {last.max:.4g}  {len(last.bucket)} buckets"
    )


def write_fixture(path):
    """Deterministic events (fixed wall times) covering every message sparq reads."""
    def event(step, **kw):
        return event_pb2.Event(wall_time=1700000000.25 + step, step=step, **kw)

    def scalars(*pairs):
        return summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag=t, simple_value=v) for t, v in pairs]
        )

    histo = summary_pb2.HistogramProto(
        min=-1.0, max=2.5, num=4, sum=3.0, sum_squares=8.25,
        bucket_limit=[-0.9, 0.0, 1e-12, 2.6], bucket=[1.0, 0.0, 1.0, 2.0],
    )
    events = [
        event(0, file_version="brain.Event:2"),
        event(1, summary=scalars(("train/loss", 0.5), ("train/q_mean", -3.25))),
        event(2, summary=scalars(("train/loss", 0.0))),
        event(3, summary=summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag="weights/fc1", histo=histo)]
        )),
        event(4, session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START)),
    ]
    with open(path, "wb") as f:
        writer = RecordWriter(f)
        for e in events:
            writer.write(e.SerializeToString())
        writer.flush()
    print(f"wrote {len(events)} events to {path}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--write-fixture":
        write_fixture(sys.argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--scalars", nargs="*", default=[], metavar="TAG")
    parser.add_argument("--histograms", nargs="*", default=[], metavar="TAG")
    args = parser.parse_args()
    if not os.path.isdir(args.run_dir):
        print(f"check_tensorboard: {args.run_dir} is not a directory", file=sys.stderr)
        return 2

    files, records, problems = check_records(args.run_dir)
    for p in problems:
        print(f"FAIL records: {p}")
    if not problems:
        print(f"ok   records: {files} event files, {records} records, all CRCs valid")

    acc = ea.EventAccumulator(
        args.run_dir, size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0}
    )
    acc.Reload()
    tags = acc.Tags()
    failed = bool(problems)
    for kind, wanted, available, check in [
        ("scalar", args.scalars, tags[ea.SCALARS], check_scalar),
        ("histogram", args.histograms, tags[ea.HISTOGRAMS], check_histogram),
    ]:
        for tag in wanted:
            if tag not in available:
                ok, text = False, f"missing (present: {', '.join(sorted(available)) or 'none'})"
            else:
                ok, text = check(acc, tag)
            failed |= not ok
            print(f"{'ok  ' if ok else 'FAIL'} {kind} {tag}: {text}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
