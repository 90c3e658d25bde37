"""What runs on a Dask worker: `WorkerSetup`, the plugin that readies a worker before its first
trial, and `train_trial`, the task that trains one run.

A trial arrives as its experiment table (and the names of the sweep's record queue and stop
event), never as arrays: the worker loads the data itself (`--data-dir`, else its own
`TUIDL_DATA`), so every worker builds the same initial weights and batches from the seed. It
trains into a scratch run directory of its own, written by the same `RunWriter` as `tuidl
run`'s, and sends that directory's bytes back: the metrics lines as they are written (a few
times a second, through a `distributed.Queue`), then the summary and the final checkpoint as
the task's result. The client writes the real run directory from them (`tuidl.sweep.mirror`),
so the files are byte for byte what `tuidl run` writes and no worker needs the client's disk.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from distributed import Event, Queue, WorkerPlugin, get_client, get_worker

from .. import cores
from ..errors import ConfigError
from ..experiment import Experiment
from ..runs import CHECKPOINT, CONFIG, METRICS, SUMMARY, RunWriter
from ..trainer import Callback, Diverged, Trainer, load_experiment_data
from ..warmup import compile_kernels

SEND_EVERY_S = 0.5  # how often a running trial sends its new lines to the client
POLL_STOP_EVERY_S = 0.5  # how often it asks whether the sweep was stopped (a scheduler call)


class WorkerSetup(WorkerPlugin):
    """Readies a worker before it runs a trial: every trial's network is built on its data
    (the checks `tuidl run` makes before training, made where the data is: a missing dataset
    or a shape that does not fit stops the sweep before any trial starts), and the kernels of
    each kind of network are compiled, which fills numba's cache on a new machine so that no
    trial pays for compiling.

    Args:
        jobs: (label, experiment table) of every trial to run.
        data_dir: `--data-dir`, a folder on the workers; None: each worker's TUIDL_DATA.
        local: the workers are the sweep's own (a local cluster): Ctrl-C in the terminal
            reaches them too, and is left to the sweep, which stops them itself.
    """

    name = "tuidl-setup"

    def __init__(
        self, jobs: list[tuple[str, dict[str, Any]]], data_dir: str | None, local: bool
    ) -> None:
        self.jobs, self.data_dir, self.local = jobs, data_dir, local

    async def setup(self, worker) -> None:
        if self.local:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        # in a thread: compiling takes seconds, and the worker's event loop keeps answering
        # the scheduler meanwhile
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.prepare)
        except ConfigError as error:
            raise ConfigError(f"on the Dask worker {worker.address}: {error}") from None

    def prepare(self) -> None:
        datasets: dict[str, Any] = {}
        compiled: set[tuple[str, ...]] = set()
        for label, config in self.jobs:
            experiment = Experiment.from_dict(config)
            data_key = repr(sorted(experiment.data.items()))
            if data_key not in datasets:  # the shapes do not depend on the seed
                datasets[data_key] = load_experiment_data(experiment, self.data_dir)
            try:
                trainer = Trainer(experiment, dataset=datasets[data_key])
            except ConfigError as error:
                raise ConfigError(f"{label}: {error}") from None
            layers = tuple(layer["type"] for layer in experiment.model["layers"])
            if layers not in compiled:
                compiled.add(layers)
                compile_kernels(trainer, lambda done, total: None)


class Stream(Callback):
    """Sends a scratch run directory's new metrics lines to the client while the trial trains,
    and stops the trial when the sweep's stop event is set. Listed after the `RunWriter`, so
    the lines it reads are written."""

    def __init__(self, task: dict[str, Any], attempt: str, writer: RunWriter) -> None:
        client = get_client()
        self.queue = Queue(task["queue"], client=client)
        self.stop = Event(task["stop"], client=client)
        self.key, self.attempt, self.writer = task["key"], attempt, writer
        self.worker = get_worker().address
        self.sent = 0  # line messages sent
        self._lines = None
        self._sent_at = self._polled_at = 0.0

    def _message(self, kind: str, **fields: Any) -> dict[str, Any]:
        return {"kind": kind, "key": self.key, "attempt": self.attempt, **fields}

    def on_train_begin(self, trainer: Trainer) -> None:
        config = (self.writer.run_dir / CONFIG).read_bytes()
        self.queue.put(self._message("start", worker=self.worker, config=config))
        self._lines = open(self.writer.run_dir / METRICS, "rb")  # noqa: SIM115 (closed at the end)
        self._tick(trainer)

    def _tick(self, trainer: Trainer) -> None:
        now = time.monotonic()
        if now - self._sent_at >= SEND_EVERY_S:
            self._send(trainer)
            self._sent_at = now
        if now - self._polled_at >= POLL_STOP_EVERY_S:
            self._polled_at = now
            if self.stop.is_set():
                trainer.stop_requested = True

    def _send(self, trainer: Trainer) -> None:
        data = self._lines.read()
        if data:
            progress = {
                "epoch": trainer.epoch,
                "epochs": trainer.epochs,
                "step": trainer.step_count,
                "time": trainer.elapsed,
                "best": dict(self.writer.best),
            }
            self.queue.put(self._message("lines", data=data, progress=progress))
            self.sent += 1

    def on_pretrain_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self._tick(trainer)

    def on_epoch_zero(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self._tick(trainer)

    def on_step_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self._tick(trainer)

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self._tick(trainer)

    def on_train_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self._send(trainer)

    def close(self) -> None:
        """Let go of the lines file and of this worker's hold on the queue (the scheduler
        drops a queue when nobody holds it)."""
        if self._lines is not None:
            self._lines.close()
        self.queue.close()


def train_trial(task: dict[str, Any]) -> dict[str, Any]:
    """The Dask task of one trial: train `task["config"]` and return how it ended.

    Args:
        task: `key` (the trial's name in the sweep), `config` (its experiment table),
            `data_dir`, `threads`, `queue` and `stop` (the names of the sweep's record queue
            and stop event).

    Returns:
        `key`, `attempt` (this run's id: records of another attempt are not this run's),
        `lines` (line messages sent), `status`, `worker`, and the scratch directory's
        `summary` and `checkpoint` bytes (no checkpoint: a run that diverged before its first
        epoch end).
    """
    cores.use(task["threads"])
    attempt = uuid.uuid4().hex
    scratch = Path(tempfile.mkdtemp(prefix="tuidl-trial-", dir=get_worker().local_directory))
    writer = RunWriter(scratch)
    stream = Stream(task, attempt, writer)
    try:
        trainer = Trainer(
            Experiment.from_dict(task["config"]),
            callbacks=[writer, stream],
            data_dir=task["data_dir"],
        )
        try:
            trainer.fit()
        except Diverged:  # recorded as the run's status; the sweep goes on
            pass
        checkpoint = scratch / CHECKPOINT
        return {
            "key": task["key"],
            "attempt": attempt,
            "lines": stream.sent,
            "status": trainer.status,
            "worker": stream.worker,
            "summary": (scratch / SUMMARY).read_bytes(),
            "checkpoint": checkpoint.read_bytes() if checkpoint.exists() else None,
        }
    finally:
        stream.close()
        shutil.rmtree(scratch, ignore_errors=True)
