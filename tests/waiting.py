"""Waiting for a condition instead of sleeping a guessed time: `wait_until` polls (threads,
child processes, files, tmux); `uitools.wait_for` awaits Pilot with the same `Deadline`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Deadline:
    """`timeout` seconds from now; `check()` fails the test once they are over, naming `what`
    the test waited for (and `detail()`, e.g. the screen, when given)."""

    def __init__(self, timeout: float, what: str, detail: Callable[[], str] | None = None):
        self.timeout, self.what, self.detail = timeout, what, detail
        self.end = time.monotonic() + timeout

    def check(self) -> None:
        if time.monotonic() > self.end:
            message = f"timed out after {self.timeout:g} s waiting for {self.what}"
            raise AssertionError(message + (f":\n{self.detail()}" if self.detail else ""))


def wait_until(
    condition: Callable[[], T],
    timeout: float = 30.0,
    what: str = "the condition",
    interval: float = 0.02,
    detail: Callable[[], str] | None = None,
) -> T:
    """Call `condition()` every `interval` seconds until it returns something true, and return
    that; fail the test after `timeout` seconds (see `Deadline`)."""
    deadline = Deadline(timeout, what, detail)
    while not (result := condition()):
        deadline.check()
        time.sleep(interval)
    return result
