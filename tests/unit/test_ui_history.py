"""The bounded histories behind the loss curve and the gradient heatmap (`tuidl.ui.history`),
against brute force over the whole series."""

from __future__ import annotations

import numpy as np
import pytest

from tuidl.ui.history import BinnedMeans, Envelope


def batches(rng: np.random.Generator, n: int) -> list[slice]:
    """[0, n) cut at random places, as the records of a run arrive tick by tick."""
    cuts = np.sort(rng.choice(np.arange(1, n), size=min(n - 1, 40), replace=False))
    edges = [0, *cuts.tolist(), n]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def extremes(x: np.ndarray, y: np.ndarray, width: float) -> tuple[list, list]:
    """Brute force: the first lowest and first highest finite point of each range of x."""
    want_x, want_y = [], []
    ranges = np.floor(x / width)
    for r in np.unique(ranges):
        inside = (ranges == r) & np.isfinite(y)
        if inside.any():
            xs, ys = x[inside], y[inside]
            picks = sorted({int(np.argmin(ys)), int(np.argmax(ys))})
            want_x += xs[picks].tolist()
            want_y += ys[picks].tolist()
    return want_x, want_y


@pytest.mark.parametrize("seed", range(6))
def test_envelope_keeps_each_ranges_lowest_and_highest_point(seed):
    rng = np.random.default_rng(seed)
    n, limit = int(rng.integers(300, 3000)), int(rng.choice([16, 64, 100]))
    x = np.arange(1, n + 1, dtype=float) + (seed % 2) * 1000  # steps; a resumed run starts late
    y = rng.standard_normal(n).cumsum()
    y[rng.random(n) < 0.02] = np.nan  # dropped, never kept
    y[rng.integers(n)] = 1e6  # one spike: always on the curve
    envelope = Envelope(limit)
    for part in batches(rng, n):
        envelope.extend(x[part].tolist(), y[part].tolist())
    width = envelope.width
    assert len(envelope.x) <= limit and envelope.count == n
    assert width == 1 or len(extremes(x, y, width / 2)[0]) > limit  # as fine as fits
    want_x, want_y = extremes(x, y, width)
    np.testing.assert_array_equal(envelope.x, want_x)
    np.testing.assert_array_equal(envelope.y, want_y)
    assert 1e6 in envelope.y
    assert envelope.last_x == x[-1] and (envelope.last == y[-1] or np.isnan(y[-1]))


def test_envelope_keeps_every_point_while_they_fit():
    envelope = Envelope(10)
    envelope.extend([1, 2, 3], [0.5, 0.25, 0.75])
    envelope.extend([4], [0.1])
    assert envelope.x.tolist() == [1, 2, 3, 4] and envelope.y.tolist() == [0.5, 0.25, 0.75, 0.1]
    assert envelope.width == 1 and envelope.last == 0.1


@pytest.mark.parametrize("seed", range(6))
def test_binned_means_match_the_means_of_each_bins_rows(seed):
    rng = np.random.default_rng(seed)
    n, limit, layers = int(rng.integers(100, 2500)), int(rng.choice([8, 50, 64])), 3
    rows = rng.standard_normal((n, layers))
    rows[rng.random(rows.shape) < 0.1] = np.nan
    rows[:, 2] = np.nan  # a layer with no finite norm at all
    binned = BinnedMeans(layers, limit)
    for part in batches(rng, n):
        binned.extend(rows[part])
    width = binned.width
    assert binned.rows == n and binned.bins <= limit
    assert width == 1 or -(-n // (width // 2)) > limit
    for k in range(binned.bins):
        chunk = rows[k * width : (k + 1) * width]
        finite = np.isfinite(chunk)
        np.testing.assert_allclose(binned.sums[k], np.where(finite, chunk, 0).sum(0), atol=1e-9)
        np.testing.assert_array_equal(binned.counts[k], finite.sum(0))
