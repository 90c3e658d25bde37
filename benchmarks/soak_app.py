"""Memory soak: the real app training for minutes, its resident memory sampled as it goes.

    python benchmarks/soak_app.py [--experiment spiral-mlp] [--minutes 10] [--every 10]
        [--size 160x48] [--set KEY=VALUE ...]

Starts `tuidl EXP --out DIR` in a detached tmux session (a real pty, TERM=xterm-256color),
presses space to train, and every `--every` seconds reads the resident set size (VmRSS in
/proc) of the app and of its training child, and the size of the run's `metrics.jsonl`.
Prints the samples as a table, then per process the growth rate: the least-squares slope in
MB per minute over the samples after the first minute (start-up, numba's compilation and the
first redraws allocate once), with the RSS at the first minute and at the end. Not a test:
the numbers are for the README and the issue notes.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SOCKET = "tuidl-soak"
WARM_UP_S = 60.0


def tmux(*args: str) -> str:
    result = subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True)
    return result.stdout


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid` in MB (nan once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def app_pid(shell_pid: int, deadline: float) -> int:
    """The tuidl process: the pane runs it directly (exec), so it is the pane's pid."""
    while time.monotonic() < deadline:
        if Path(f"/proc/{shell_pid}").exists() and children(shell_pid):
            return shell_pid
        time.sleep(0.2)
    raise SystemExit("the app did not start a training process")


def slope(times: list[float], values: list[float]) -> float:
    """Least-squares MB per minute of `values` over `times` (seconds)."""
    t, v = np.array(times), np.array(values)
    keep = np.isfinite(v)
    if keep.sum() < 2:
        return float("nan")
    return float(np.polyfit(t[keep] / 60.0, v[keep], 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiment", default="spiral-mlp")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--size", default="160x48")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is needed (apt-get install tmux)")
    width, height = args.size.split("x")
    out = Path(tempfile.mkdtemp(prefix="tuidl-soak-"))
    tuidl = str(Path(sys.executable).parent / "tuidl")
    # many epochs: the run must outlast the soak
    sets = [f"--set={s}" for s in ["train.epochs=1000000", *args.overrides]]
    command = " ".join([tuidl, args.experiment, "--out", str(out), *sets])
    tmux("-f", "/dev/null", "new-session", "-d", "-s", "soak", "-x", width, "-y", height,
         "-e", "TERM=xterm-256color", f"exec {command}")  # fmt: skip
    try:
        pane = int(tmux("display-message", "-p", "-t", "soak", "#{pane_pid}").strip())
        app = app_pid(pane, time.monotonic() + 60)
        child = children(app)[0]
        time.sleep(2.0)
        tmux("send-keys", "-t", "soak", "space")
        start = time.monotonic()
        rows = []
        print("| s | app MB | child MB | metrics.jsonl MB |\n|---:|---:|---:|---:|")
        while (elapsed := time.monotonic() - start) < args.minutes * 60:
            metrics = sum(p.stat().st_size for p in out.glob("*/metrics.jsonl")) / 2**20
            row = (elapsed, rss_mb(app), rss_mb(child), metrics)
            rows.append(row)
            print(f"| {row[0]:.0f} | {row[1]:.1f} | {row[2]:.1f} | {row[3]:.1f} |", flush=True)
            time.sleep(args.every)
        later = [r for r in rows if r[0] >= WARM_UP_S] or rows
        times = [r[0] for r in later]
        print(f"\n{args.experiment} at {args.size}, {args.minutes:g} min, after {WARM_UP_S:.0f} s:")
        for name, column in (("app", 1), ("child", 2), ("metrics.jsonl", 3)):
            values = [r[column] for r in later]
            print(f"- {name}: {values[0]:.1f} -> {values[-1]:.1f} MB, "
                  f"{slope(times, values):+.2f} MB/min")  # fmt: skip
    finally:
        tmux("kill-server")
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
