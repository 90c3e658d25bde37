"""One writer per run directory: the writer holds an flock on the folder's `.lock`.

The file also holds the writer's pid, for the message a second writer gets. The kernel drops
an flock with its process, so the lock of a process that was killed (or of a machine that
rebooted) is free again at once: nobody has to remove a stale file, and a pid reused since by
another process cannot keep a run locked. A writer that ends removes the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from pathlib import Path

from .errors import ConfigError

LOCK = ".lock"


class RunLock:
    """The lock of the run directory `run_dir` (not taken until `acquire`)."""

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock (nothing happens when this object holds it already).

        Raises:
            ConfigError: another process (or another writer in this one) holds it, or the
                lock file cannot be made.
        """
        while self._fd is None:
            try:
                # no O_TRUNC: a holder's pid stays readable; no link followed out of the folder
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
            except OSError as error:
                raise ConfigError(
                    f"cannot lock {self.run_dir} ({error.strerror}: {self.path}); "
                    "pass a run folder you can write to"
                ) from None
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise ConfigError(f"{self.path} is not a file; remove it and try again")
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise ConfigError(
                        f"{self.run_dir} is being written by {_holder(fd)}; wait for it or stop it"
                    ) from None
                except OSError as error:
                    raise ConfigError(f"cannot lock {self.run_dir} ({error.strerror})") from None
            except BaseException:
                os.close(fd)
                raise
            if _same_file(fd, self.path):
                with contextlib.suppress(OSError):  # a full disk: the flock alone will do
                    os.ftruncate(fd, 0)
                    os.write(fd, f"{os.getpid()}\n".encode())
                self._fd = fd
            else:  # the holder removed it between our open and flock: lock the one in place
                os.close(fd)

    def release(self) -> None:
        """Remove the lock file and let go (nothing happens when it is not held)."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None


def _holder(fd: int) -> str:
    """Who holds the lock: `process PID` from the file, or `another process` before the holder
    has written its pid."""
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return f"process {text}" if text.isdigit() else "another process"


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (opened.st_dev, opened.st_ino) == (on_disk.st_dev, on_disk.st_ino)
