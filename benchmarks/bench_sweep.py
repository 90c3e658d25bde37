"""What running trials through Dask (`tuidl sweep`'s executor) gains and costs.

- Throughput: `--trials` spiral-mlp trials (learning rates drawn by the sweep's planner, the
  preset's 100 epochs) on a local Dask cluster of `--workers` worker processes, against the
  same trials one after another in this process (kernels compiled first, each trial written
  into a run directory by `RunWriter`, as a sweep's workers do). Ratio = one process's time
  over the cluster's; the cluster's start-up (processes, worker checks and warm-up) is timed
  apart, being paid once per sweep.
- Overhead: `--light` trials of 0 epochs (the epoch-0 record alone: building the network,
  loading the spiral, one evaluation) through a cluster of one worker, against the same in
  this process: (cluster - in process) / trials is what going through Dask adds to a trial
  (submitting, shipping the experiment, the worker's set-up of the trial, sending the lines,
  the summary and the checkpoint back, the client writing them).

Every figure is the median of `--repeats` rounds (a fresh cluster and folder each round), the
ratio the median of each round's own.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_sweep.py [--trials 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from tuidl.presets import preset
from tuidl.runs import RunWriter
from tuidl.sweep.executor import Executor, Job
from tuidl.sweep.space import parse_space
from tuidl.sweep.trials import plan_trials
from tuidl.trainer import Trainer
from tuidl.warmup import compile_kernels

SPACE = ["optimizer.lr=loguniform(1e-3,1e-1)"]


def trials(count: int, epochs: int | None):
    experiment = preset("spiral-mlp")
    if epochs is not None:
        experiment = experiment.with_overrides([f"train.epochs={epochs}"])
    return plan_trials(experiment, parse_space(SPACE, grid=False), count, grid=False, seeds=1)


def in_process(planned, root: Path) -> float:
    """Seconds to train every trial one after another here (kernels compiled before)."""
    compile_kernels(Trainer(planned[0].experiment), lambda done, total: None)
    start = time.perf_counter()
    for trial in planned:
        run_dir = root / trial.folder
        run_dir.mkdir()
        Trainer(trial.experiment, callbacks=[RunWriter(run_dir)]).fit()
    return time.perf_counter() - start


def on_cluster(planned, root: Path, workers: int) -> tuple[float, float]:
    """(seconds to start and ready the cluster, seconds to run every trial on it)."""
    start = time.perf_counter()
    with Executor(None, workers, None) as executor:
        executor.prepare([(trial.folder, trial.experiment) for trial in planned])
        ready = time.perf_counter()
        jobs = [Job(t.folder, t.folder, t.experiment, root / t.folder) for t in planned]
        ended = executor.run(jobs, lambda event: None)
        done = time.perf_counter()
    assert all(end.status == "finished" for end in ended), ended
    return ready - start, done - ready


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{model}; {os.cpu_count()} cores; load {load}; Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--light", type=int, default=40, help="0-epoch trials for the overhead")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    heavy, light = trials(args.trials, None), trials(args.light, 0)
    rows: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for name in ("seq", "dask", "seq0", "dask0"):
                (root / name).mkdir()
            rows.setdefault("one process", []).append(in_process(heavy, root / "seq"))
            ready, run = on_cluster(heavy, root / "dask", args.workers)
            rows.setdefault("cluster start-up", []).append(ready)
            rows.setdefault("cluster", []).append(run)
            rows.setdefault("0-epoch, one process", []).append(in_process(light, root / "seq0"))
            rows.setdefault("0-epoch, cluster of 1", []).append(
                on_cluster(light, root / "dask0", 1)[1]
            )
    median = {name: float(np.median(values)) for name, values in rows.items()}
    print(
        f"\n{args.trials} spiral-mlp trials of {heavy[0].experiment.train['epochs']} epochs, "
        f"{args.workers} workers; medians of {args.repeats} rounds (all rounds in brackets)"
    )
    print("| measure | seconds |")
    print("|---|---:|")
    for name, values in rows.items():
        print(f"| {name} | {median[name]:.2f} ({', '.join(f'{v:.2f}' for v in values)}) |")
    # each round's own ratio: the host is shared, and its speed drifts between rounds
    ratios = [seq / run for seq, run in zip(rows["one process"], rows["cluster"], strict=True)]
    totals = [
        seq / (run + ready)
        for seq, run, ready in zip(
            rows["one process"], rows["cluster"], rows["cluster start-up"], strict=True
        )
    ]
    ratio, total = float(np.median(ratios)), float(np.median(totals))
    overhead = (median["0-epoch, cluster of 1"] - median["0-epoch, one process"]) / args.light
    print(
        f"\nthroughput: {ratio:.2f}x one process (rounds: {', '.join(f'{r:.2f}' for r in ratios)}"
        f"); {total:.2f}x counting the cluster's start-up"
    )
    print(
        f"per-trial overhead of Dask: {overhead * 1e3:.0f} ms "
        f"({median['0-epoch, one process'] / args.light * 1e3:.0f} ms per 0-epoch trial in "
        "one process)"
    )


if __name__ == "__main__":
    main()
