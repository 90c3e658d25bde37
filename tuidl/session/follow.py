"""`FollowSession`: run directories written by another process, read as they grow.

For `tuidl view`: a poll thread reads the whole lines appended to each run's `metrics.jsonl`
(a line still being written waits for its newline) and turns them into the same records a
training session sends. Read-only: commands are ignored.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from ..runs import METRICS
from .messages import Command, Progress, Record, record_from_line
from .sink import RecordQueue

POLL_SECONDS = 0.5


def unique_labels(run_dirs: list[Path]) -> list[str]:
    """Short distinct names for run folders: the folder name, or parent/name when repeated."""
    names = [d.resolve().name for d in run_dirs]
    if len(set(names)) == len(names):
        return names
    return [f"{d.resolve().parent.name}/{d.resolve().name}" for d in run_dirs]


class FollowSession:
    """A read-only `Session` over run directories; each run's records carry its label."""

    def __init__(self, run_dirs: list[Path], interval: float = POLL_SECONDS) -> None:
        self.run_dirs = [Path(d) for d in run_dirs]
        self.labels = unique_labels(self.run_dirs)
        self.interval = interval
        self.records = RecordQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._body, name="tuidl-follow", daemon=True)
        self._offsets = {d: 0 for d in self.run_dirs}
        self._partial = {d: "" for d in self.run_dirs}

    def start(self) -> None:
        self.poll()  # what is there already shows in the first frame
        self._thread.start()

    def send(self, command: Command) -> None:
        """Nothing trains here: commands are ignored."""

    def drain(self) -> list[Record]:
        return self.records.drain()

    def progress(self) -> Progress:
        return Progress(state="following")

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def poll(self) -> int:
        """Read the whole lines appended since the last poll; returns how many records."""
        count = 0
        for run_dir, label in zip(self.run_dirs, self.labels, strict=True):
            try:
                with open(run_dir / METRICS, encoding="utf-8") as file:
                    file.seek(self._offsets[run_dir])
                    chunk = file.read()
                    self._offsets[run_dir] = file.tell()
            except FileNotFoundError:
                continue
            lines = (self._partial[run_dir] + chunk).split("\n")
            self._partial[run_dir] = lines.pop()
            for line in filter(str.strip, lines):
                try:
                    record = record_from_line(label, json.loads(line))
                except (json.JSONDecodeError, AttributeError):
                    continue
                if record is not None:
                    self.records.put(record)
                    count += 1
        return count

    def _body(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()
