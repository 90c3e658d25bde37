"""Whole-run measurements for `tuidl bench`: epochs, start-up and peak memory.

- Epochs: tuidl's `Trainer` on a preset against the same network and loop in PyTorch, on the
  same training arrays, at each thread count asked for, epochs alternating between the
  libraries and the counts (A B C D D C B A ...) in one pass. An epoch's time is
  the training loop only: it ends with the record of the epoch's last step (every step is
  logged, the default), before tuidl's validation pass and activation probe. The table shows
  the median of epochs 2..N (epoch 1 pays compilation and first-touch page faults).
- Start-up: `tuidl run PRESET --epochs 1` in a subprocess, from launch to the first
  `metrics.jsonl` line (the first step's record: the run writer flushes its first line at
  once), with `NUMBA_CACHE_DIR` pointing at a fresh folder (cold) and then at the same,
  now-filled folder (warm). A printed marker would need a hook in `tuidl run`; the file is what
  any user can watch.
- Peak memory: max RSS of a `tuidl run mnist-lenet --epochs 1` subprocess, read with
  `getrusage(RUSAGE_CHILDREN)` in a small Python process that launches it (see
  `_MEASURE_CHILD` for why not from here).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from tuidl.errors import ConfigError
from tuidl.presets import preset
from tuidl.trainer import Callback, Trainer, load_experiment_data

from .harness import median_after_first

# name -> preset overrides, the PyTorch model, and what the row says about the data.
E2E_CASES: dict[str, dict[str, Any]] = {
    "mnist-lenet": {"overrides": [], "torch": "lenet", "target": 1.0, "anchor_s": 0.39},
    # n = 12,500 leaves the 10,000 training sequences of the anchors after the 20 % val split
    "adding-lstm": {"overrides": ["data.n=12500"], "torch": "adding", "target": 1.0,
                    "anchor_s": 0.35},
}  # fmt: skip
QUICK_SAMPLES = 512  # --quick trains on the first 512 samples only
SETTLE_S = 0.2  # between epochs: let the other library's worker threads stop spinning
E2E_BUDGET_S = 300.0  # per model; see run_epochs
STARTUP_PRESETS: dict[str, list[str]] = {
    "digits-cnn": ["digits-cnn"],  # conv + pool kernels, bundled data
    "adding-lstm": ["adding-lstm", "--set", "data.n=256"],  # LSTM kernels
}
STARTUP_TARGETS = {"cold": 30.0, "warm": 2.0}
MEMORY_TARGET_MB = 300.0
SUBPROCESS_TIMEOUT_S = 600.0


def tuidl_command() -> list[str]:
    """The `tuidl` console script beside this Python, else `python -m tuidl`."""
    script = Path(sys.executable).with_name("tuidl")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tuidl"]


class _EpochClock(Callback):
    """Notes when each epoch's last step ends (before validation) and the epoch's train loss."""

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.loop_end = 0.0

    def on_step_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        if trainer.batch == trainer.steps_per_epoch:
            self.loop_end = time.perf_counter()

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self.losses.append(float(logs["train_loss"]))


class TuidlLoop:
    """tuidl's `Trainer` on a preset, one timed epoch per `run_epoch()`.

    Args:
        name: a key of `E2E_CASES`.
        data_dir: where mnist is, if not in `$TUIDL_DATA` or the cache.
        samples: train on the first `samples` training samples only (None: all).

    Raises:
        ConfigError: the data is missing (the caller skips the row with this message).
    """

    def __init__(self, name: str, data_dir: str | None, samples: int | None = None) -> None:
        # every step logged (the default) so the epoch's last step has a record to time
        experiment = preset(name).with_overrides(
            ["train.log_every=1", *E2E_CASES[name]["overrides"]]
        )
        dataset = load_experiment_data(experiment, data_dir)
        if samples is not None:
            dataset = dataclasses.replace(
                dataset, x_train=dataset.x_train[:samples], y_train=dataset.y_train[:samples]
            )
        self.recorder = _EpochClock()
        self.trainer = Trainer(experiment, dataset=dataset, callbacks=[self.recorder])

    @property
    def losses(self) -> list[float]:
        return self.recorder.losses

    @property
    def steps_per_epoch(self) -> int:
        return self.trainer.steps_per_epoch

    @property
    def samples(self) -> int:
        return len(self.trainer.dataset.x_train)

    def run_epoch(self) -> float:
        """Train one epoch; returns the seconds of its training steps."""
        trainer = self.trainer
        target = trainer.epoch + 1
        start = time.perf_counter()
        while trainer.epoch < target:
            trainer.step()
        return self.recorder.loop_end - start


def run_epochs(
    name: str,
    epochs: int,
    data_dir: str | None,
    quick: bool,
    torch: bool,
    counts: list[int],
    at: Callable[[int], AbstractContextManager],
    progress: Callable[[str], None] | None = None,
) -> list[dict]:
    """Seconds per epoch of tuidl (and PyTorch) on `E2E_CASES[name]` at each thread count.

    One loop per library and count, all in this one pass: each epoch runs every loop once, in
    alternating order (A B C D, then D C B A), each inside `at(count)`, which puts every
    library on `count` threads. So a speed-up between counts is a ratio of epochs timed side by
    side, as the libraries' ratio is, not of passes minutes apart on a host whose load moves.

    Stops early (after at least 2 epochs each) once `E2E_BUDGET_S` a count have passed: on a
    busy host a 2-thread BLAS can make an epoch 10x slower, and the run should still finish.

    Returns:
        a row per count (its `threads`): epoch times, median of epochs 2..N, losses per epoch,
        steps per epoch; or rows of `{"skipped": reason}` when the data is missing.
    """
    samples = QUICK_SAMPLES if quick else None
    loops: dict[tuple[int, str], Any] = {}
    for count in counts:
        try:
            ours = TuidlLoop(name, data_dir, samples)
        except ConfigError as error:
            return [{"name": name, "threads": count, "skipped": str(error)} for count in counts]
        loops[count, "tuidl"] = ours
        if torch:
            from .torch_ref import TorchLoop

            ds = ours.trainer.dataset
            loops[count, "torch"] = TorchLoop(
                E2E_CASES[name]["torch"], ds.x_train, ds.y_train, ours.trainer.batch_size
            )
    seconds: dict[tuple[int, str], list[float]] = {key: [] for key in loops}
    order = list(loops)
    budget_end = time.perf_counter() + E2E_BUDGET_S * len(counts)
    for epoch in range(epochs):
        if epoch >= 2 and time.perf_counter() > budget_end:
            break
        for key in order if epoch % 2 == 0 else order[::-1]:
            with at(key[0]):
                time.sleep(SETTLE_S)
                seconds[key].append(loops[key].run_epoch())
        if progress is not None:
            times = ", ".join(f"{impl} {count}T {seconds[count, impl][-1]:.3g} s"
                              for count, impl in order)  # fmt: skip
            progress(f"{name} epoch {epoch + 1}/{epochs}: {times}")
    return [_row(name, count, loops, seconds) for count in counts]


def _row(name: str, count: int, loops: dict, seconds: dict) -> dict[str, Any]:
    ours = loops[count, "tuidl"]
    row: dict[str, Any] = {
        "name": name,
        "threads": count,
        "samples": ours.samples,
        "batch_size": ours.trainer.batch_size,
        "steps_per_epoch": ours.steps_per_epoch,
        "epochs": len(seconds[count, "tuidl"]),
        "target": E2E_CASES[name]["target"],
        "anchor_s": E2E_CASES[name]["anchor_s"],
    }
    for (at_count, impl), loop in loops.items():
        if at_count != count:
            continue
        times = seconds[count, impl]
        row[impl] = {
            "epoch_s": times,
            "median_s": median_after_first(times),
            "spread_s": [min(times[1:] or times), max(times[1:] or times)],
            "train_loss": loop.losses,
        }
    if "torch" in row:
        row["ratio"] = row["tuidl"]["median_s"] / row["torch"]["median_s"]
    return row


def _first_line(path_glob_root: Path) -> dict[str, Any] | None:
    """The first complete line of `root/*/metrics.jsonl`, parsed, or None yet."""
    for path in path_glob_root.glob("*/metrics.jsonl"):
        try:
            with open(path, encoding="utf-8") as file:
                line = file.readline()
        except OSError:
            return None
        if line.endswith("\n"):
            return json.loads(line)
    return None


def _child_env(threads: int, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"TUIDL_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)})
    env.update(extra)
    return env


def time_to_first_step(args: list[str], cache_dir: Path, threads: int) -> dict[str, Any]:
    """Launch `tuidl run ARGS --epochs 1` with `NUMBA_CACHE_DIR=cache_dir`; seconds from launch
    to the first metrics line, and the trainer's own clock at that step."""
    with (
        tempfile.TemporaryDirectory(prefix="tuidl-bench-run-") as out,
        tempfile.TemporaryFile() as err,
    ):
        cmd = [*tuidl_command(), "run", *args, "--epochs", "1", "--out", out]
        env = _child_env(threads, NUMBA_CACHE_DIR=str(cache_dir))
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        first = None
        seconds = None
        deadline = start + SUBPROCESS_TIMEOUT_S
        while first is None and time.perf_counter() < deadline:
            first = _first_line(Path(out))
            if first is not None:
                seconds = time.perf_counter() - start
                break
            if proc.poll() is not None:
                first = _first_line(Path(out))  # written just before it exited
                seconds = time.perf_counter() - start if first else None
                break
            time.sleep(0.005)
        try:
            code = proc.wait(timeout=max(1.0, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        if first is None:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-1:]
            return {"args": args, "error": f"exit {code}: {' '.join(tail) or 'no metrics line'}"}
        return {"args": args, "seconds": seconds, "trainer_s": first.get("time"), "exit": code}


def run_startup(threads: int, warm_runs: int) -> list[dict[str, Any]]:
    """Cold and warm start-up of each `STARTUP_PRESETS` entry."""
    rows = []
    for name, args in STARTUP_PRESETS.items():
        cache = Path(tempfile.mkdtemp(prefix="tuidl-bench-numba-"))
        try:
            cold = time_to_first_step(args, cache, threads)
            warm = [time_to_first_step(args, cache, threads) for _ in range(warm_runs)]
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        row: dict[str, Any] = {"name": name, "args": args, "cold": cold, "warm_runs": warm}
        row |= {f"target_{kind}_s": limit for kind, limit in STARTUP_TARGETS.items()}
        errors = [r["error"] for r in (cold, *warm) if "error" in r]
        if errors:
            row["error"] = errors[0]
        else:
            row["cold_s"] = cold["seconds"]
            row["warm_s"] = sorted(r["seconds"] for r in warm)[len(warm) // 2]
        rows.append(row)
    return rows


# A small Python between the benchmark and the measured run: on Linux a child's max RSS starts
# at the RSS of the process that forked it (exec records the old mm's high-water mark), so the
# run must be forked by something small, not by this process with torch loaded.
_MEASURE_CHILD = """
import json, resource, subprocess, sys
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"exit": code, "maxrss_kb": peak}))
"""


def run_memory(threads: int, data_dir: str | None) -> dict[str, Any]:
    """Peak RSS (MB) of `tuidl run mnist-lenet --epochs 1`, or why it could not run."""
    with tempfile.TemporaryDirectory(prefix="tuidl-bench-mem-") as out:
        cmd = [*tuidl_command(), "run", "mnist-lenet", "--epochs", "1", "--out", out]
        if data_dir:
            cmd += ["--data-dir", data_dir]
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE_CHILD, *cmd],
            capture_output=True,
            text=True,
            env=_child_env(threads),
            timeout=SUBPROCESS_TIMEOUT_S,
        )
        seconds = time.perf_counter() - start
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"name": "mnist-lenet", "skipped": f"measuring failed: {done.stderr.strip()[-300:]}"}
    if result["exit"] != 0:
        lines = done.stderr.strip().splitlines()
        reason = next((ln for ln in reversed(lines) if ln.startswith("tuidl: error")), None)
        return {"name": "mnist-lenet", "skipped": reason or f"exit {result['exit']}: {lines[-1:]}"}
    return {
        "name": "mnist-lenet",
        "peak_rss_mb": result["maxrss_kb"] / 1024,  # kilobytes on Linux
        "seconds": seconds,
        "target_mb": MEMORY_TARGET_MB,
    }
