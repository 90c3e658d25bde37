"""The `Session` protocol: how a view drives training and reads what happened.

A view (the app, a test) `send`s commands, `drain`s records on its own clock and reads
`progress()` for its status line; `close()` ends the session (a training run saves its final
checkpoint). Implementations: `ThreadSession` (a run in a thread: tests), `ProcessSession`
(a run in a child process: what `tuidl` uses), `CompareSession` (a race of variants) and
`FollowSession` (run directories written elsewhere, read-only: `tuidl view`).
"""

from __future__ import annotations

from typing import Protocol

from ..errors import ConfigError
from .messages import Command, Pause, Progress, Record, Resume, Step


class Session(Protocol):
    def start(self) -> None:
        """Begin working (threads and processes start here, not in `__init__`)."""

    def send(self, command: Command) -> None:
        """Queue a command; it is applied between two training steps."""

    def drain(self) -> list[Record]:
        """Every record since the last drain, in order."""

    def progress(self) -> Progress | None:
        """Where the session stands now (None before it has anything to say)."""

    def close(self) -> None:
        """Stop and release everything (idempotent)."""


def wanted_running(command: Command, running: bool) -> bool:
    """Whether training is wanted after `command`, given whether it was before."""
    if isinstance(command, Pause | Step):
        return False
    if isinstance(command, Resume):
        return True
    return running


def failure_message(error: BaseException) -> str:
    """One line for a session that could not go on: a bad input's own message, else the
    exception's type and text."""
    if isinstance(error, ConfigError):
        return str(error)
    return f"{type(error).__name__}: {error}"
