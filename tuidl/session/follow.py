"""`FollowSession`: run directories written by another process, read as they grow.

For `tuidl view`: a poll thread reads the whole lines appended to each run's `metrics.jsonl`
(a line still being written waits for its newline) and turns them into the same records a
training session sends, and each run's status from its `summary.json` (following while it
says running). Damaged lines are skipped and counted (`Progress.skipped`); a file rewritten by
a resume (replaced, or shorter than what was read) is read again from its start, the run's
curves starting afresh. Read-only: commands are ignored.
"""

from __future__ import annotations

import json
import os
import threading
import tomllib
from pathlib import Path

from ..errors import ConfigError
from ..runs import CONFIG, METRICS, SUMMARY
from .lines import DamagedLine, parse_line
from .messages import Command, Progress, Record, RunStarted
from .sink import RecordQueue

POLL_SECONDS = 0.5


def unique_labels(run_dirs: list[Path]) -> list[str]:
    """Short distinct names for run folders: the folder name, or parent/name when repeated."""
    names = [d.resolve().name for d in run_dirs]
    if len(set(names)) == len(names):
        return names
    return [f"{d.resolve().parent.name}/{d.resolve().name}" for d in run_dirs]


def run_dirs_in(paths: list[str | os.PathLike]) -> list[Path]:
    """The run directories named by `paths`: a run directory itself, or every run directory
    in a folder of them (a race's); files among several paths (a glob's `comparison.json`)
    are passed over.

    Raises:
        ConfigError: a path that holds no run directory, or no run directory at all.
    """
    found: list[Path] = []
    for path in map(Path, paths):
        if is_run_dir(path):
            found.append(path)
        elif path.is_dir() and (inside := sorted(d for d in path.iterdir() if is_run_dir(d))):
            found += inside
        elif not (path.is_file() and len(paths) > 1):
            raise ConfigError(
                f"{path} is not a run directory (no {METRICS}) nor a folder of them; "
                "pass a run folder or a compare folder"
            )
    if not found:
        raise ConfigError("no run directory among the paths given; pass a run folder")
    return found


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and ((path / METRICS).is_file() or (path / CONFIG).is_file())


def run_status(run_dir: Path) -> str:
    """What the run's summary says (running while it says nothing readable)."""
    try:
        status = json.loads((run_dir / SUMMARY).read_text(encoding="utf-8"))["status"]
    except (OSError, ValueError, KeyError, TypeError):
        return "running"
    return status if isinstance(status, str) and status.isidentifier() else "running"


def batch_size(run_dir: Path) -> int:
    """The run's batch size from its `config.toml` (0 when it cannot be read)."""
    try:
        with open(run_dir / CONFIG, "rb") as file:
            size = tomllib.load(file)["train"]["batch_size"]
    except (OSError, ValueError, KeyError, TypeError):
        return 0
    return size if isinstance(size, int) and size > 0 else 0


class _Tail:
    """Where the reading of one metrics file stands."""

    def __init__(self) -> None:
        self.inode: int | None = None
        self.offset = 0
        self.partial = b""


class FollowSession:
    """A read-only `Session` over run directories; each run's records carry its label."""

    def __init__(self, run_dirs: list[Path], interval: float = POLL_SECONDS) -> None:
        self.run_dirs = [Path(d) for d in run_dirs]
        self.labels = unique_labels(self.run_dirs)
        self.interval = interval
        self.records = RecordQueue()
        self.skipped = 0
        self.statuses = {label: "running" for label in self.labels}
        self.batch_size = batch_size(self.run_dirs[0])
        self._tails = {d: _Tail() for d in self.run_dirs}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._body, name="tuidl-follow", daemon=True)

    def start(self) -> None:
        self.poll()  # what is there already shows in the first frame
        self._thread.start()

    def send(self, command: Command) -> None:
        """Nothing trains here: commands are ignored."""

    def drain(self) -> list[Record]:
        return self.records.drain()

    def progress(self) -> Progress:
        """`following` while any run is being written, else the first run's end status."""
        statuses = dict(self.statuses)
        state = statuses[self.labels[0]]
        if any(status == "running" for status in statuses.values()):
            state = "following"
        return Progress(
            state=state, runs=statuses, skipped=self.skipped, batch_size=self.batch_size
        )

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def poll(self) -> int:
        """Read the whole lines appended since the last poll; returns how many records."""
        count = 0
        for run_dir, label in zip(self.run_dirs, self.labels, strict=True):
            status = run_status(run_dir)  # first: a run that ended has written every line
            count += self._read(run_dir / METRICS, label, self._tails[run_dir])
            self.statuses[label] = status
        return count

    def _read(self, path: Path, label: str, tail: _Tail) -> int:
        try:
            with open(path, "rb") as file:
                status = os.fstat(file.fileno())
                if tail.inode is not None and (
                    status.st_ino != tail.inode or status.st_size < tail.offset
                ):  # rewritten by a resume: read it again, from the start
                    tail.offset, tail.partial = 0, b""
                    self.records.put(RunStarted(label, run_dir=str(path.parent)))
                tail.inode = status.st_ino
                file.seek(tail.offset)
                chunk = file.read()
                tail.offset = file.tell()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError):
            return 0
        lines = (tail.partial + chunk).split(b"\n")
        tail.partial = lines.pop()
        count = 0
        for raw in lines:
            if not raw.strip():
                continue
            try:
                record = parse_line(label, raw)
            except DamagedLine:
                self.skipped += 1
                continue
            if record is not None:
                self.records.put(record)
                count += 1
        return count

    def _body(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()
