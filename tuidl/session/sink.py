"""From a trainer to a view: a trainer callback that turns its logs into records.

`RecordQueue` is where the records wait until the view drains them (any thread puts, about a
microsecond; the view swaps the list out). `SessionSink` puts one record per trainer hook and,
when given a `Probe`, a probe of the image panels at most once a second (or at once when asked).
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from ..probe import Probe
from ..trainer import Callback, Trainer
from .messages import (
    AlertRaised,
    EpochEnded,
    PretrainEpochEnded,
    Record,
    RunEnded,
    StepLogged,
)

PROBE_SECONDS = 1.0  # how often the image panels' data is copied from the model


class RecordQueue:
    """Records from any thread, in order: `put` appends, `drain` takes them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Record] = []

    def put(self, record: Record) -> None:
        with self._lock:
            self._items.append(record)

    def drain(self) -> list[Record]:
        with self._lock:
            items, self._items = self._items, []
        return items


class SessionSink(Callback):
    """Puts a trainer's records, under `source`, into `records` (see the module)."""

    def __init__(self, records: RecordQueue, source: str, probe: Probe | None = None) -> None:
        self.records, self.source, self.probe = records, source, probe
        self._last_probe = -math.inf

    def on_pretrain_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self.records.put(PretrainEpochEnded(self.source, logs))

    def on_step_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self.records.put(StepLogged(self.source, logs))

    def on_epoch_zero(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        # the same record (views tell epoch 0 by its number); no confusion matrix before the
        # network has learnt anything: the panel shows a trained epoch's
        self.records.put(EpochEnded(self.source, logs))

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self.records.put(EpochEnded(self.source, logs))
        if self.probe is not None:
            matrix = self.probe.confusion(trainer, self.source)
            if matrix is not None:
                self.records.put(matrix)

    def on_alert(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self.records.put(AlertRaised(self.source, logs))

    def on_train_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self.maybe_probe(trainer, force=True)  # the final weights (the best, if restored)
        end = RunEnded(self.source, logs["status"], logs["step"], logs.get("message", ""))
        self.records.put(end)

    def maybe_probe(self, trainer: Trainer, force: bool = False) -> None:
        """Copy the image panels' data, at most every PROBE_SECONDS unless `force`."""
        now = time.monotonic()
        if self.probe is None or (not force and now - self._last_probe < PROBE_SECONDS):
            return
        self._last_probe = now
        self.records.put(self.probe.take(trainer, self.source))
