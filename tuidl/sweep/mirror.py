"""A run directory written on the client from the pieces a worker sends (`tuidl.sweep.remote`):
`config.toml` when the trial starts, `metrics.jsonl` line by line as it trains (so `tuidl view`
follows it live), `checkpoint.npz` and `summary.json` when it ends.

A trial that starts again (its worker died) starts its directory again: the lines of the
attempt that died go, so the directory holds one attempt, as if it had run once. While it
writes, the mirror holds the directory's lock, as `RunWriter` does.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from ..atomic import atomic_write
from ..errors import ConfigError
from ..lock import RunLock
from ..runs import CHECKPOINT, CONFIG, METRICS, SUMMARY


class RunMirror:
    """The client's copy of one trial's run directory `run_dir`."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.lock = RunLock(run_dir)
        self._file = None

    def begin(self, config: bytes) -> None:
        """A new attempt: the folder made (or emptied of an earlier attempt's files) and its
        config written.

        Raises:
            ConfigError: the folder cannot be made or written.
        """
        try:
            self.run_dir.mkdir(exist_ok=True)
            self.lock.acquire()
            self._close_file()
            for name in (CHECKPOINT, SUMMARY):
                (self.run_dir / name).unlink(missing_ok=True)
            with atomic_write(self.run_dir / CONFIG) as file:
                file.write(config)
            self._file = open(self.run_dir / METRICS, "wb")  # noqa: SIM115 (kept open while it runs)
        except OSError as error:
            raise self._failure(error) from None

    def append(self, data: bytes) -> None:
        """Whole metrics lines, flushed at once for readers of the file."""
        try:
            self._file.write(data)
            self._file.flush()
        except OSError as error:
            raise self._failure(error) from None

    def finish(self, summary: bytes, checkpoint: bytes | None) -> None:
        """The run ended: its checkpoint, then its summary (which says how it ended), each
        written atomically; the folder is let go."""
        try:
            self._close_file()
            if checkpoint is not None:
                with atomic_write(self.run_dir / CHECKPOINT) as file:
                    file.write(checkpoint)
            with atomic_write(self.run_dir / SUMMARY) as file:
                file.write(summary)
        except OSError as error:
            raise self._failure(error) from None
        finally:
            self.lock.release()

    def remove(self) -> None:
        """The trial did not end (the sweep was stopped): its folder goes, so every run
        directory of a sweep is a trial of `trials.jsonl`; `--resume` runs it afresh."""
        self.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def close(self) -> None:
        """Let go of the folder as it is."""
        try:
            self._close_file()
        finally:
            self.lock.release()

    def _close_file(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()

    def _failure(self, error: OSError) -> ConfigError:
        with contextlib.suppress(OSError):  # the file's last bytes cannot be written either
            self.close()
        return ConfigError(
            f"cannot write {self.run_dir} ({error.strerror}); pass --out a folder you can write to"
        )
