"""Shared fixtures: a fresh seed per test run, printed on failure by the tests that use it."""

import numpy as np
import pytest


@pytest.fixture
def seed() -> int:
    """A fresh random seed each run; tests put it in their failure messages to reproduce."""
    return int(np.random.SeedSequence().entropy % 2**32)
