"""The 1,797 8x8 handwritten digits (UCI optical recognition of handwritten digits), offline.

scikit-learn ships them as `sklearn/datasets/data/digits.csv.gz` (64 pixel columns with values
0..16, then the label). Importing scikit-learn takes seconds, so the file is read directly when
it is where every scikit-learn release since 0.x keeps it, and `load_digits()` is the fallback.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from ..errors import ConfigError

SOURCE = "scikit-learn's bundled copy of UCI optical digits (1,797 images)"


def digits_file() -> Path | None:
    """Where scikit-learn keeps digits.csv.gz, found without importing it (None if absent)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    return path if path.exists() else None


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """x: (1797, 1, 8, 8) float32 in [0, 1] (pixel / 16), y: (1797,) int64."""
    path = digits_file()
    if path is not None:
        with gzip.open(path, "rt") as file:
            table = np.loadtxt(file, delimiter=",")
        pixels, labels = table[:, :-1], table[:, -1]
    else:
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise ConfigError(
                "digits needs scikit-learn, which is not installed; pip install scikit-learn"
            ) from None
        bunch = load_digits()
        pixels, labels = bunch.data, bunch.target
    x = (pixels / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    return x, labels.astype(np.int64)
