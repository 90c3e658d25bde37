"""`UiPriority`: the training thread steps aside while the UI handles a key.

A small network trains in Python code that holds the GIL between its numpy
and numba calls; a UI thread that wants the GIL then waits up to a switch interval (1 ms) at
every acquisition, and it makes many while it handles a key and paints the frame, so the key
takes about twice its CPU time to show. The app calls `begin()` when a key event arrives and
`end()` once the frame after it is painted; the training loop calls `wait()` between steps and
holds still in between, for at most `max_wait` seconds. Without keys `wait()` costs one
`Event.is_set()` per step.
"""

from __future__ import annotations

import threading
import time


class UiPriority:
    """A flag the UI raises (`begin`) and lowers (`end`, or `max_wait` after `begin`)."""

    def __init__(self, max_wait: float = 0.25) -> None:
        self.max_wait = max_wait
        self._idle = threading.Event()
        self._idle.set()
        self._until = 0.0

    def begin(self) -> None:
        self._until = time.monotonic() + self.max_wait
        self._idle.clear()

    def end(self) -> None:
        self._idle.set()

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def wait(self) -> None:
        """In the training thread: return at once, or when the UI is done (or `max_wait` after
        it began: a missed `end` delays training once, never for good)."""
        if self._idle.is_set():
            return
        if not self._idle.wait(max(0.0, self._until - time.monotonic())):
            self._idle.set()
