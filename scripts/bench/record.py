"""The benchmark's table: printed to the terminal and appended to benchmarks/README.md."""

import datetime
import os
import subprocess
from pathlib import Path

from common import die

NAMES = {"sparq": "sparq", "sb3": "SB3 2.9.2", "cleanrl_style": "CleanRL-style", "bare_tch": "bare tch"}
# The targets of issue 5.
TARGET_VS_SB3 = 5.0
TARGET_VS_BARE = 0.9

SECTION = "## dqn-cartpole-speed"
MARKER = "<!-- bench-dqn appends rows above this line -->"
HEADER = f"""{SECTION}: DQN on CartPole-v1, env-steps/s

`scripts/bench/dqn` (docs/benchmarks.md): 50k env steps, one gradient step per env step, batch 128,
64×64 ReLU MLP, same hyper-parameters everywhere (configs/bench/cartpole_64x64.toml). Figures are
env-steps/s (median over the runs); ratios are sparq ÷ SB3 and sparq ÷ bare tch (targets: ≥ {TARGET_VS_SB3:g}
and ≥ {TARGET_VS_BARE:g}). Load is the 1-minute load average seen between runs (min–max).

| date (UTC) | machine | commit | threads | sparq | SB3 2.9.2 | CleanRL-style | bare tch | sparq ÷ SB3 | sparq ÷ bare tch | load | command |
|---|---|---|---|---|---|---|---|---|---|---|---|
{MARKER}
"""


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def fmt(x, spec):
    return "—" if x is None else format(x, spec)


class Table:
    def __init__(self, sps, threads, steps, repeats, load):
        self.sps, self.threads, self.steps, self.repeats, self.load = sps, threads, steps, repeats, load

    def get(self, impl, t):
        return self.sps.get((impl, t))

    def text(self):
        lines = [f"DQN CartPole-v1, {self.steps} env steps, median of {self.repeats} run(s); "
                 f"1-min load {self.load[0]:.2f}–{self.load[1]:.2f}",
                 f"{'implementation':<15} {'threads':>7} {'env-steps/s':>12} {'× SB3':>7} {'× bare tch':>11}"]
        for t in self.threads:
            for impl in NAMES:
                v = self.get(impl, t)
                if v is not None:
                    lines.append(f"{NAMES[impl]:<15} {t:>7} {v:>12.1f} {fmt(ratio(v, self.get('sb3', t)), '.2f'):>7} "
                                 f"{fmt(ratio(v, self.get('bare_tch', t)), '.2f'):>11}")
        for t in self.threads:
            vs_sb3, vs_bare = ratio(self.get("sparq", t), self.get("sb3", t)), ratio(self.get("sparq", t), self.get("bare_tch", t))
            lines.append(f"targets, {t} thread(s): sparq ÷ SB3 {fmt(vs_sb3, '.2f')} (≥ {TARGET_VS_SB3:g}: {verdict(vs_sb3, TARGET_VS_SB3)}), "
                         f"sparq ÷ bare tch {fmt(vs_bare, '.2f')} (≥ {TARGET_VS_BARE:g}: {verdict(vs_bare, TARGET_VS_BARE)})")
        return "\n".join(lines)

    def rows(self, date, machine, commit, command):
        out = []
        for t in self.threads:
            g = lambda impl: fmt(self.get(impl, t), ".0f")
            out.append(" | ".join([
                "", date, machine, f"`{commit}`", str(t), g("sparq"), g("sb3"), g("cleanrl_style"), g("bare_tch"),
                fmt(ratio(self.get("sparq", t), self.get("sb3", t)), ".2f"),
                fmt(ratio(self.get("sparq", t), self.get("bare_tch", t)), ".2f"),
                f"{self.load[0]:.1f}–{self.load[1]:.1f}", f"`{command}`", "",
            ]).strip())
        return out


def verdict(x, target):
    return "—" if x is None else ("met" if x >= target else "NOT met")


def machine():
    """`lscpu` model name and the cores this process may use."""
    model = "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
                break
    except (OSError, subprocess.CalledProcessError):
        pass
    return f"{model}, {len(os.sched_getaffinity(0))} cores"


def commit(repo):
    """Short HEAD, with `-dirty` when tracked files differ from it."""
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def append(path: Path, table, machine_name, commit_id, command):
    """Inserts this run's rows at the end of the benchmark's table; creates the section if absent."""
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    insert_rows(path, HEADER, MARKER, table.rows(date, machine_name, commit_id, command))


def insert_rows(path: Path, header, marker, rows):
    """Inserts `rows` above `marker` in the record at `path`, first appending `header` (which ends
    with the marker) if the record lacks it; the file is replaced atomically. Shared by every
    benchmark that writes to benchmarks/README.md."""
    try:
        text = path.read_text() if path.exists() else "# sparq benchmark record\n\nAppend-only; see docs/benchmarks.md.\n"
    except OSError as e:
        die(f"cannot read {path}: {e}")
    if marker not in text:
        text = text.rstrip("\n") + "\n\n" + header
    text = text.replace(marker, "\n".join(rows) + "\n" + marker, 1)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".md.tmp-{os.getpid()}")
        tmp.write_text(text)
        tmp.replace(path)
    except OSError as e:
        die(f"cannot write {path}: {e}")
