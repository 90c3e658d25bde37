"""The real MNIST test set, where `TUIDL_DATA` points at it (the CI does): tests that need it
are marked `needs_mnist` and skip without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(os.environ.get("TUIDL_DATA", "/nonexistent"))
needs_mnist = pytest.mark.skipif(
    not (DATA / "mnist" / "t10k-images-idx3-ubyte.gz").exists(),
    reason="MNIST files not found: set TUIDL_DATA to a folder with mnist/t10k-*.gz",
)
