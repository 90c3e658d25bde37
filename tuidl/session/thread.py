"""`ThreadSession`: a `SingleRun` in a thread of this process.

For tests and tools that want to look inside (`session.run.trainer`); users get the child
process (`ProcessSession`), which shares no GIL with the UI.
"""

from __future__ import annotations

import threading

from .base import failure_message, wanted_running
from .messages import Command, Failed, Progress, Record
from .run import SOURCE, Launch, SingleRun, with_pending
from .sink import RecordQueue

JOIN_SECONDS = 10.0  # a closed session's thread gets this long to save its final checkpoint


class ThreadSession:
    """A `Session` training `launch` in a daemon thread.

    Args:
        launch: what to train.
        priority: a `UiPriority` the loop waits on between steps (None: never waits).
    """

    def __init__(self, launch: Launch, priority=None) -> None:
        self.records = RecordQueue()
        self.run = SingleRun(launch, self.records)
        self.priority = priority
        self._running = not launch.start_paused
        self._sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._body, name="tuidl-train", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def send(self, command: Command) -> None:
        self._sent += 1
        self._running = wanted_running(command, self._running)
        self.run.submit(command)

    def drain(self) -> list[Record]:
        return self.records.drain()

    def progress(self) -> Progress | None:
        return with_pending(self.run.progress(), self._running, self.run.applied < self._sent)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(JOIN_SECONDS)

    def _body(self) -> None:
        try:
            self.run.run(self._stop.is_set, self.priority)
        except Exception as error:  # noqa: BLE001 - the view shows every failure as one line
            self.records.put(Failed(SOURCE, failure_message(error)))
