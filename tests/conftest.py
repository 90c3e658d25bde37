"""Shared fixtures: a fresh seed per test run, printed on failure by the tests that use it; the
healthy presets' whole runs, made once a session."""

import os

import numpy as np
import presetruns
import pytest

# The training processes the tests start share the 2 cores with pytest, the app and tmux, and
# 2 spinning OpenMP threads beside them slow every kernel: one thread each (`tuidl run` takes
# every core by default); the thread tests ask for 2 themselves.
os.environ.setdefault("TUIDL_THREADS", "1")


@pytest.fixture
def seed() -> int:
    """A fresh random seed each run; tests put it in their failure messages to reproduce."""
    return int(np.random.SeedSequence().entropy % 2**32)


@pytest.fixture(scope="session")
def healthy_runs() -> dict[tuple[str, int], presetruns.PresetRun]:
    """`presetruns.healthy_runs()`, shared by every test that judges them."""
    return presetruns.healthy_runs()
