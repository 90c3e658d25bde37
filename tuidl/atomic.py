"""All-or-nothing file writes: a temporary file in the same folder, fsync, then rename."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def _temporary(path: Path) -> tuple[int, Path]:
    """A new file `.<name>.<random>.tmp` beside `path`, open for writing. Its mode is 0666 less
    the umask, as `open` gives (mkstemp's 0600 would make every atomically written file
    private while the others are not)."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue


def leftovers(path: str | os.PathLike) -> list[Path]:
    """The temporary files of `atomic_write(path)` left by processes killed while writing."""
    path = Path(path)
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a temporary file for writing; on success it replaces `path`, on error it vanishes.

    The old file, if any, stays intact until the rename, so an interrupt or a crash never
    leaves a half-written file under `path` (a killed process may leave the temporary file:
    see `leftovers`).
    """
    path = Path(path)
    fd, tmp = _temporary(path)
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
