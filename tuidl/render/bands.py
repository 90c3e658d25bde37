"""Several seeds of one variant drawn as one: the mean curve inside its min-max band, and a
table value as mean ± half the range (`tuidl compare` and the app's race)."""

from __future__ import annotations

import numpy as np


def seed_band(
    curves: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, lowest and highest of the curves y(x) (x increasing), at the first curve's x up to
    where the shortest ends (in between, each curve is read by linear interpolation).

    Returns:
        x, mean, min, max; empty arrays when a curve is empty.
    """
    if not curves or any(len(x) == 0 for x, _ in curves):
        empty = np.empty(0)
        return empty, empty, empty, empty
    end = min(float(x[-1]) for x, _ in curves)
    first = np.asarray(curves[0][0], dtype=np.float64)
    grid = first[first <= end]
    stack = np.array([np.interp(grid, x, y) for x, y in curves])
    return grid, stack.mean(axis=0), stack.min(axis=0), stack.max(axis=0)


def mean_spread(values: list[float]) -> tuple[float, float]:
    """(mean, half the range) of one value over seeds: what the race table writes as `a ±b`."""
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float((array.max() - array.min()) / 2)
