"""The app's cost to training, and its key latency while training, in a real terminal.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_app.py [--experiment spiral-mlp]
        [--seconds 8] [--blocks 3] [--sizes 160x48,80x24] [--presses 30] [--busy 0.5]
        [--threads N]

Throughput: headless `tuidl run EXP --out DIR` against the real app (`tuidl EXP --out DIR`
in a detached tmux session: a real pty, TERM=xterm-256color, at each size), started paused and
set training with the space key. Both write a run directory; steps/s comes from the `step`
and `time` (the trainer's training seconds) of its `metrics.jsonl`, over the same step range
(from 10% of the run to its last step, so start-up is left out). Headless and app runs
alternate (H A, A H, ...) in `--blocks` blocks per experiment and size; each block gives one
ratio app/headless. Runs last about `--seconds` (the epoch count is calibrated by one headless
run of the preset first, which also warms numba's cache). Run directories go to the temp
folder or `--dir` (a checkpoint is fsynced at most every 10 s, so the disk hardly matters).
The machine may be shared: each run records how many cores other processes kept busy
meanwhile (from /proc/stat; the app counts with its trainer process), and a block where that
exceeded `--busy` cores is run again, twice at most (column "redone").

Key latency: in the app, training (after `--seconds` of training, so the curves hold a long
history), keys whose effect is visible are sent and the screen is polled every millisecond
until it shows the change: `a` (the chart's title flips between loss and accuracy: UI only)
and `+`/`-` (the learning rate in the status line, applied by the training process; only where
the status line is wide enough to show it). Presses are spaced randomly (0.1-0.4 s). The same
is measured with training paused: the baseline of the key and screen path itself. tmux is
driven through one control-mode client (`tmux -C`), so a send or a capture costs ~0.1 ms
instead of spawning a client.

Prints markdown tables: per experiment and size, median steps/s and the median ratio with its
min-max over the blocks; per key, p50/p90/max send-to-visible times in ms.

`--threads N` trains both on N threads (TUIDL_THREADS); by default each takes its own default,
every core headless and every core but one in the app.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tuidl.runs import read_metrics

TUIDL = str(Path(sys.executable).parent / "tuidl")
ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
LR = re.compile(r"\blr (\S+)")
POLL = 0.001  # seconds between screen captures while waiting for a key's effect
# the status line's state once a run has ended (`Trainer.finish`), upper case, `_` as a space
ENDED = r"(FINISHED|EARLY STOPPED|DIVERGED|INTERRUPTED)\s+epoch"


def training_rate(run_dir: Path, start_fraction: float = 0.1) -> tuple[float, int, int]:
    """Steps per training second from `metrics.jsonl`, from `start_fraction` of the run to
    its last step record; returns (steps/s, first step, last step)."""
    steps = [(r["step"], r["time"]) for r in read_metrics(run_dir) if r["kind"] == "step"]
    last_step, last_time = steps[-1]
    first_step, first_time = next(s for s in steps if s[0] >= start_fraction * last_step)
    return (last_step - first_step) / (last_time - first_time), first_step, last_step


def epochs_per_second(run_dir: Path) -> float:
    epochs = [(r["epoch"], r["time"]) for r in read_metrics(run_dir) if r["kind"] == "epoch"]
    (e0, t0), (e1, t1) = epochs[0], epochs[-1]
    return (e1 - e0) / (t1 - t0) if e1 > e0 else 1.0 / t1


def machine_busy() -> float:
    """CPU-seconds all processes spent busy since boot (from /proc/stat; 0 elsewhere)."""
    try:
        with open("/proc/stat", encoding="ascii") as file:
            fields = [int(v) for v in file.readline().split()[1:]]
    except OSError:
        return 0.0
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU-seconds (user + system) of process `pid` so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU-seconds of process `pid` and its live descendants (the app's trainer process)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            with open(entry / "stat", encoding="ascii") as file:
                ppid = int(file.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # not a process, or gone
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += process_cpu(current)
        except OSError:
            continue
        todo += children.get(current, [])
    return total


class OthersLoad:
    """How many cores other processes kept busy between `start()` and `stop(own_cpu)`."""

    def start(self) -> None:
        self.busy, self.wall = machine_busy(), time.monotonic()

    def stop(self, own_cpu: float) -> float:
        busy, wall = machine_busy() - self.busy, time.monotonic() - self.wall
        return max(0.0, busy - own_cpu) / wall


def only_run_dir(out: Path) -> Path:
    (run_dir,) = [p for p in out.iterdir() if (p / "metrics.jsonl").exists()]
    return run_dir


def headless(experiment: str, epochs: int, out: Path) -> tuple[Path, float]:
    """Run `tuidl run`; returns its run directory and the others' load meanwhile (cores)."""
    command = [TUIDL, "run", experiment, "--out", str(out), "--set", f"train.epochs={epochs}"]
    others = OthersLoad()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    others.start()
    subprocess.run(command, stdout=subprocess.DEVNULL, env=os.environ | ENV, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return only_run_dir(out), others.stop(own)


class TmuxApp:
    """`tuidl EXP` in a detached tmux session of its own server (socket), driven through one
    control-mode client (`tmux -C`): a command costs ~0.1 ms instead of spawning a client
    (a few ms of CPU each), so polling the screen leaves the app its two cores."""

    def __init__(self, experiment: str, epochs: int, size: tuple[int, int], out: Path) -> None:
        self.socket = f"bench-app-{uuid.uuid4().hex[:8]}"
        out.mkdir(parents=True, exist_ok=True)
        command = (
            f"cd {out} && exec {TUIDL} {experiment} --out {out / 'runs'} "
            f"--set train.epochs={epochs}"
        )
        args = ["new-session", "-d", "-s", "app", "-x", str(size[0]), "-y", str(size[1])]
        # Textual takes COLUMNS/LINES, when set, over the pty's size
        args += ["-e", "TERM=xterm-256color", "-e", f"COLUMNS={size[0]}", "-e", f"LINES={size[1]}"]
        for key, value in ENV.items():
            args += ["-e", f"{key}={value}"]
        subprocess.run(self.argv(*args, command), check=True, timeout=30)
        self.client = subprocess.Popen(
            self.argv("-C", "attach-session", "-t", "app"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._reply()  # the attach itself
        self.tmux("refresh-client -f no-output")  # no %output notifications: replies only
        self.tmux("set-option -t app remain-on-exit on")
        self.pid = int(self.tmux("display-message -p -t app '#{pane_pid}'"))

    def argv(self, *args: str) -> list[str]:
        return ["tmux", "-L", self.socket, "-f", "/dev/null", *args]

    def _reply(self) -> str:
        lines = None
        while True:
            line = self.client.stdout.readline()
            if not line:
                raise RuntimeError("the tmux control client exited")
            if line.startswith("%begin"):
                lines = []
            elif line.startswith(("%end", "%error")) and lines is not None:
                if line.startswith("%error"):
                    raise RuntimeError(f"tmux: {''.join(lines)}")
                return "".join(lines)
            elif lines is not None:
                lines.append(line)

    def tmux(self, command: str) -> str:
        self.client.stdin.write(command + "\n")
        self.client.stdin.flush()
        return self._reply()

    def screen(self) -> str:
        return self.tmux("capture-pane -p -t app")

    def send(self, text: str) -> None:
        self.tmux(f"send-keys -t app -l -- {text}")

    def send_key(self, key: str) -> None:
        self.tmux(f"send-keys -t app {key}")

    def wait_for(self, pattern: str, timeout: float = 60.0, interval: float = 0.25) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            if time.monotonic() > deadline:
                raise RuntimeError(f"{pattern!r} never appeared:\n{screen}")
            time.sleep(interval)

    def close(self) -> None:
        try:
            if "RUNNING" in self.screen():
                self.send_key("Space")
                self.wait_for(rf"PAUSED|{ENDED}", timeout=10)
            self.send("q")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if self.tmux("display-message -p -t app '#{pane_dead}'").strip() == "1":
                    break
                time.sleep(0.1)
        finally:
            self.client.stdin.close()
            self.client.wait(timeout=10)
            subprocess.run(self.argv("kill-server"), capture_output=True)


def app_run(experiment: str, epochs: int, size: tuple[int, int], out: Path) -> tuple[Path, float]:
    """Train in the app; returns its run directory and the others' load meanwhile (cores)."""
    app = TmuxApp(experiment, epochs, size, out)
    others = OthersLoad()
    try:
        app.wait_for(r"PAUSED\s+epoch 0\.00/")  # the trainer (a child process) is ready
        cpu = tree_cpu(app.pid)
        others.start()
        app.send_key("Space")
        screen = app.wait_for(ENDED, timeout=600, interval=0.5)
        load = others.stop(tree_cpu(app.pid) - cpu)
        if re.search(r"(DIVERGED|INTERRUPTED)\s+epoch", screen):
            raise RuntimeError(f"the app's run did not train to its end:\n{screen}")
    finally:
        app.close()
    return only_run_dir(out / "runs"), load


def lr_state(screen: str) -> str | None:
    match = LR.search(screen.split("\n", 1)[0])
    return match.group(1) if match else None


def metric_state(screen: str) -> str | None:
    if "accuracy per epoch" in screen:
        return "acc"
    if "loss (train" in screen:
        return "loss"
    return None


def press_latencies(app: TmuxApp, probe: str, presses: int, rng: random.Random) -> list[float]:
    """Send→visible seconds of `presses` presses of a key (probe `lr`: + and - alternately;
    `metric`: a)."""
    state_of = lr_state if probe == "lr" else metric_state
    times = []
    for k in range(presses):
        time.sleep(rng.uniform(0.1, 0.4))
        before = state_of(app.screen())
        if before is None:
            return []
        start = time.perf_counter()
        if probe == "lr":
            app.send("+" if k % 2 == 0 else "-")
        else:
            app.send("a")
        while True:
            state = state_of(app.screen())
            elapsed = time.perf_counter() - start
            if state is not None and state != before:
                times.append(elapsed)
                break
            if elapsed > 5.0:
                times.append(math.inf)
                break
            time.sleep(POLL)
    return times


def latency_session(
    experiment: str, size: tuple[int, int], seconds: float, presses: int, out: Path, seed: int
) -> dict[tuple[str, str], list[float]]:
    rng = random.Random(seed)
    app = TmuxApp(experiment, 100_000, size, out)
    results: dict[tuple[str, str], list[float]] = {}
    try:
        app.wait_for(r"PAUSED\s+epoch")
        app.send_key("Space")
        app.wait_for(r"RUNNING\s+epoch")
        time.sleep(seconds)  # a long history to draw, as after a while of training
        for probe in ("metric", "lr"):
            results[("training", probe)] = press_latencies(app, probe, presses, rng)
        app.send_key("Space")
        app.wait_for(r"PAUSED\s+epoch")
        for probe in ("metric", "lr"):
            results[("paused", probe)] = press_latencies(app, probe, presses, rng)
    finally:
        app.close()
    return results


def throughput_case(
    experiment: str,
    epochs: int,
    size: tuple[int, int],
    blocks: int,
    root: Path,
    busy: float | None = None,
) -> dict:
    """`blocks` pairs of headless and app runs, alternating which goes first. With `busy`, a
    block during which other processes kept more than `busy` cores busy is run again (twice
    at most; the last try counts)."""
    row = {"experiment": experiment, "size": f"{size[0]}x{size[1]}", "epochs": epochs}
    for key in ("headless", "app", "ratio", "others"):
        row[key] = []
    row["redone"] = 0
    for block in range(blocks):
        for attempt in range(3):
            rates, others = {}, []
            for kind in ("headless", "app") if block % 2 == 0 else ("app", "headless"):
                out = root / f"{experiment}-{row['size']}-{block}-{attempt}-{kind}"
                if kind == "headless":
                    run_dir, load = headless(experiment, epochs, out)
                else:
                    run_dir, load = app_run(experiment, epochs, size, out)
                rates[kind], *row["span"] = training_rate(run_dir)
                others.append(load)
            ratio = rates["app"] / rates["headless"]
            print(
                f"  {experiment} {row['size']} block {block}: headless {rates['headless']:.0f} "
                f"st/s, app {rates['app']:.0f} st/s, ratio {ratio:.1%}; others' load "
                f"{others[0]:.2f}, {others[1]:.2f} cores",
                file=sys.stderr,
                flush=True,
            )
            if busy is None or max(others) <= busy or attempt == 2:
                break
            row["redone"] += 1
        row["headless"].append(rates["headless"])
        row["app"].append(rates["app"])
        row["ratio"].append(ratio)
        row["others"] += others
    return row


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--experiment",
        action="append",
        help="preset (repeatable); default spiral-mlp and digits-cnn",
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="training seconds per run")
    parser.add_argument("--blocks", type=int, default=3, help="headless/app pairs per case")
    parser.add_argument("--sizes", default="160x48,80x24", help="terminal sizes, WxH,...")
    parser.add_argument("--presses", type=int, default=30, help="key presses per key and state")
    parser.add_argument(
        "--busy",
        type=float,
        default=0.5,
        help="redo a block if other processes used more than this many cores (default 0.5; "
        "a negative value keeps every block)",
    )
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument(
        "--dir",
        help="where run directories go (default: the temp folder)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the run directories")
    parser.add_argument("--threads", type=int, help="training threads, headless and in the app")
    args = parser.parse_args()
    if args.threads is not None:
        ENV["TUIDL_THREADS"] = str(args.threads)
    if shutil.which("tmux") is None:
        sys.exit("bench_app: tmux is not installed")
    experiments = args.experiment or ["spiral-mlp", "digits-cnn"]
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    root = Path(tempfile.mkdtemp(prefix="bench-app-", dir=args.dir))
    load_start = os.getloadavg()
    started = time.monotonic()
    throughput_rows, latency_rows = [], []
    try:
        for experiment in experiments:
            # one headless run of the preset as it is: calibrates the epoch count, warms numba
            out = root / f"calibrate-{experiment}"
            subprocess.run(
                [TUIDL, "run", experiment, "--out", str(out)],
                stdout=subprocess.DEVNULL,
                env=os.environ | ENV,
                check=True,
            )
            epochs = max(2, math.ceil(args.seconds * epochs_per_second(only_run_dir(out))))
            if not args.no_throughput:
                for size in sizes:
                    busy = args.busy if args.busy >= 0 else None
                    row = throughput_case(experiment, epochs, size, args.blocks, root, busy)
                    throughput_rows.append(row)
            if not args.no_latency:
                for width, height in sizes:
                    out = root / f"{experiment}-{width}x{height}-latency"
                    results = latency_session(
                        experiment, (width, height), args.seconds, args.presses, out, 0
                    )
                    for (state, probe), times in results.items():
                        latency_rows.append((experiment, f"{width}x{height}", state, probe, times))
                        print(
                            f"  {experiment} {width}x{height} {state} {probe}: "
                            f"{_latency_cells(times)}",
                            file=sys.stderr,
                            flush=True,
                        )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    load_end = os.getloadavg()
    print(
        f"\nbench_app: {time.monotonic() - started:.0f} s; load average at start "
        f"{load_start[0]:.2f}, at end {load_end[0]:.2f}; {os.cpu_count()} CPUs\n"
    )
    if throughput_rows:
        print(
            "| experiment | terminal | epochs (steps measured) | blocks | headless st/s | "
            "app st/s | app/headless median | min-max | others' load (cores) | redone |"
        )
        print("|---|---|---|---:|---:|---:|---:|---|---:|---:|")
        for row in throughput_rows:
            ratios, (first, last) = row["ratio"], row["span"]
            print(
                f"| {row['experiment']} | {row['size']} | {row['epochs']} ({first}-{last}) | "
                f"{len(ratios)} | {statistics.median(row['headless']):.0f} | "
                f"{statistics.median(row['app']):.0f} | {statistics.median(ratios):.1%} | "
                f"{min(ratios):.1%}-{max(ratios):.1%} | {statistics.median(row['others']):.2f} | "
                f"{row['redone']} |"
            )
        print()
    if latency_rows:
        print(
            "| experiment | terminal | state | key (visible change) | presses | p50 ms | "
            "p90 ms | max ms |"
        )
        print("|---|---|---|---|---:|---:|---:|---:|")
        keys = {"metric": "a (chart title)", "lr": "+/- (lr in status line)"}
        for experiment, size, state, probe, times in latency_rows:
            print(f"| {experiment} | {size} | {state} | {keys[probe]} | {_latency_cells(times)} |")


def _latency_cells(times: list[float]) -> str:
    if not times:
        return "0 | not shown at this size | | "
    p50, p90 = percentile(times, 0.5) * 1e3, percentile(times, 0.9) * 1e3
    return f"{len(times)} | {p50:.0f} | {p90:.0f} | {max(times) * 1e3:.0f}"


if __name__ == "__main__":
    main()
