"""Helpers for the app's Pilot tests: tiny experiments and waiting for a condition."""

from __future__ import annotations

import time

from tuidl.presets import preset

TINY = ["train.epochs=2", "data.n=200"]  # spiral, 5 steps per epoch at batch 32


def tiny(epochs: int = 2):
    """spiral-mlp cut down to a couple of seconds of training."""
    return preset("spiral-mlp").with_overrides([f"train.epochs={epochs}", "data.n=200"])


async def wait_for(pilot, condition, timeout: float = 10.0, what: str = "condition") -> None:
    """Let the app run until `condition()` holds (fails the test after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)
