"""`CompareSession`: a race of variants stepped round-robin in one thread (the app's race).

Every variant is built from the same experiment seed, so all start from identical weights and
see identical batches wherever only what they vary differs (the optimizer, say). Records carry
each run's label; every run ends through `Trainer.finish`, as in `tuidl compare`, so a
diverged run's summary says so and an early-stopped one gets its best weights back.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from ..runs import RunWriter, new_run_dir
from ..trainer import Callback, Diverged, Trainer, load_experiment_data
from ..variants import Variant
from .base import failure_message
from .messages import Command, Failed, Pause, Progress, Record, Resume, RunStarted
from .sink import RecordQueue, SessionSink

SOURCE = "compare"  # the `source` of a failure of the race as a whole
JOIN_SECONDS = 10.0


class CompareSession:
    """A `Session` racing `variants` (`tuidl.variants.plan_race`) on the same data; records
    and progress name each run by its `run` label.

    Args:
        name: the race's name (its folder is `compare-<name>-<n>` under `runs_root`).
        variants: what to race; the first one's `[data]` table loads the data.
        runs_root: folder for the race's run directories (None writes none).
        dataset: already loaded data (else loaded from the first variant).
        data_dir: folder with downloaded datasets.
        throttle: seconds slept between rounds (tests).
        priority: a `UiPriority` the race waits on between rounds.
    """

    def __init__(
        self,
        name: str,
        variants: list[Variant],
        runs_root: str | Path | None = None,
        dataset=None,
        data_dir: str | None = None,
        throttle: float = 0.0,
        priority=None,
    ) -> None:
        self.name, self.variants = name, variants
        self.runs_root, self.dataset, self.data_dir = runs_root, dataset, data_dir
        self.throttle, self.priority = throttle, priority
        self.labels = [variant.run for variant in variants]
        self.records = RecordQueue()
        self.state = "starting"
        self.trainers: dict[str, Trainer] = {}
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._body, name="tuidl-race", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def send(self, command: Command) -> None:
        """Pause and Resume the race (other commands are for single runs)."""
        if isinstance(command, Pause):
            self._running.clear()
        elif isinstance(command, Resume):
            self._running.set()

    def drain(self) -> list[Record]:
        return self.records.drain()

    def progress(self) -> Progress:
        running = self._running.is_set()
        runs = {}
        for label in self.labels:
            trainer = self.trainers.get(label)
            status = trainer.status if trainer is not None else None
            runs[label] = status or ("running" if running else "paused")
        return Progress(state=self.state, running=running, runs=runs)

    def close(self) -> None:
        self._stop.set()
        self._running.set()
        if self._thread.is_alive():
            self._thread.join(JOIN_SECONDS)

    def _body(self) -> None:
        try:
            self._race()
        except Exception as error:  # noqa: BLE001 - the view shows every failure as one line
            self.records.put(Failed(SOURCE, failure_message(error)))
        finally:
            for trainer in self.trainers.values():
                trainer.finish()  # interrupted, unless it had ended already

    def _begin(self) -> None:
        if self.dataset is None:
            self.dataset = load_experiment_data(self.variants[0].experiment, self.data_dir)
        root = None
        if self.runs_root is not None:
            root = new_run_dir(self.runs_root, f"compare-{self.name}")
        for variant in self.variants:
            label = variant.run
            callbacks: list[Callback] = [SessionSink(self.records, label)]
            run_dir = None
            if root is not None:
                run_dir = root / variant.folder
                run_dir.mkdir()
                callbacks.insert(0, RunWriter(run_dir))
            trainer = Trainer(variant.experiment, dataset=self.dataset, callbacks=callbacks)
            trainer.begin()
            self.trainers[label] = trainer
            self.records.put(
                RunStarted(
                    label,
                    run_dir=None if run_dir is None else str(run_dir),
                    layers=[name for name, layer in trainer.model.named_layers() if layer.params],
                    steps_per_epoch=trainer.steps_per_epoch,
                    epochs=trainer.epochs,
                    batch_size=trainer.batch_size,
                    lr=trainer.optimizer.lr,
                )
            )

    def _race(self) -> None:
        self._begin()
        while not self._stop.is_set():
            active = [t for t in self.trainers.values() if t.status is None]
            if not active:
                self.state = "finished"
                return
            if not self._running.is_set():
                self.state = "paused"
                for trainer in active:
                    trainer.pause_clock()
                self._running.wait(0.1)
                continue
            self.state = "running"
            if self.priority is not None:
                self.priority.wait()
            for trainer in active:
                trainer.resume_clock()
                try:
                    trainer.advance()
                except Diverged as error:
                    trainer.finish("diverged", diverged_at_step=error.step, message=str(error))
                    continue
                if trainer.reached() or trainer.stop_requested:
                    trainer.finish()
            if self.throttle:
                time.sleep(self.throttle)
