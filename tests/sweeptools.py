"""For the `tuidl sweep` tests: a real Dask cluster on 127.0.0.1 (`dask scheduler` and `dask
worker` processes), the worker processes of a running sweep, and a sweep directory's files."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from clitools import TUIDL, tuidl_env
from waiting import wait_until

DASK = str(Path(sys.executable).parent / "dask")  # the console script dask installs


@dataclass(frozen=True)
class Cluster:
    address: str  # the scheduler's
    workers: list[str]  # the workers' addresses


@contextlib.contextmanager
def dask_cluster(tmp_path: Path, workers: int = 2) -> Iterator[Cluster]:
    """A `dask scheduler` on a free port of 127.0.0.1 and `workers` `dask worker` processes
    (one thread each), as a user starts them; yields their addresses and stops them all. Their
    logs go to files in `tmp_path`."""
    env = tuidl_env(tmp_path)
    scheduler_file = tmp_path / "scheduler.json"
    processes: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> None:
        with open(tmp_path / f"{name}.log", "w") as log:  # the process keeps its own copy
            processes.append(subprocess.Popen(
                [DASK, *args], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            ))  # fmt: skip

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
              "--scheduler-file", str(scheduler_file))  # fmt: skip
        wait_until(scheduler_file.exists, 60, "the scheduler's address file")
        address = wait_until(lambda: _address(scheduler_file), 10, "the scheduler's address")
        for k in range(workers):
            start(f"worker{k}", "worker", address, "--host", "127.0.0.1", "--nworkers", "1",
                  "--nthreads", "1", "--no-dashboard")  # fmt: skip
        logs = [tmp_path / f"worker{k}.log" for k in range(workers)]
        wait_until(lambda: all(_registered(log) for log in logs), 60, "the workers to join")
        yield Cluster(address, [WORKER.search(log.read_text()).group(1) for log in logs])
    finally:
        for process in reversed(processes):  # workers first: they leave the scheduler cleanly
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _address(scheduler_file: Path) -> str | None:
    with contextlib.suppress(ValueError):
        return json.loads(scheduler_file.read_text())["address"]
    return None


def _registered(log: Path) -> bool:
    return log.exists() and "Registered to:" in log.read_text()


WORKER = re.compile(r"Start worker at:\s+(tcp://\S+)")


def worker_processes(pid: int) -> list[int]:
    """The Dask worker processes a local cluster's process `pid` started (multiprocessing's
    spawned children, not its resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if parent == pid and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


def results(sweep_dir: Path) -> list[dict]:
    """The lines of the sweep's `trials.jsonl`."""
    return [json.loads(line) for line in (sweep_dir / "trials.jsonl").read_text().splitlines()]


def weights(run_dir: Path) -> dict[str, np.ndarray]:
    """A run's final checkpoint: weights, optimizer state, random streams, where training
    stands; all but the seconds it took, which no two runs share."""
    with np.load(run_dir / "checkpoint.npz") as npz:
        return {key: npz[key] for key in npz.files if key != "extra/elapsed"}


def set_options(values: dict) -> list[str]:
    """`--set key=value` for each swept value, as a user would type them for `tuidl run`."""
    return [word for key, value in values.items() for word in ("--set", f"{key}={value!r}")]


def alone(tmp_path: Path, experiment: str, epochs: int, trial: dict) -> subprocess.Popen:
    """`tuidl run` of a sweep's trial on its own, into `tmp_path/alone/<index>`."""
    return subprocess.Popen(
        [TUIDL, "run", experiment, "--epochs", str(epochs), "--seed", str(trial["seed"]),
         *set_options(trial["values"]), "--out", f"alone/{trial['index']}"],
        cwd=tmp_path, env=tuidl_env(tmp_path), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
