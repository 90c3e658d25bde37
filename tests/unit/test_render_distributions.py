"""The histogram panel's drawing maths without a terminal: rebinning against a slow overlap
sum, bars, the heat strip's levels, labels, and how a panel's rows are shared out."""

import numpy as np
import pytest

from tuidl.histograms import histogram, log_histogram
from tuidl.render.distributions import (
    EIGHTHS,
    GAP,
    MAX_STRIP_ROWS,
    MIN_STRIP_ROWS,
    bar_rows,
    edge_labels,
    outside_marks,
    plan,
    range_text,
    rebin,
    shares,
    stretch,
    strip_levels,
    zeros_text,
)


def slow_rebin(counts: np.ndarray, columns: int) -> np.ndarray:
    """Each old bin's count shared out by the length it overlaps each new bin."""
    n = len(counts)
    out = np.zeros(columns)
    for i, count in enumerate(counts):
        lo, hi = i / n, (i + 1) / n
        for j in range(columns):
            overlap = min(hi, (j + 1) / columns) - max(lo, j / columns)
            if overlap > 0:
                out[j] += count * overlap * n
    return out


@pytest.mark.parametrize("columns", [1, 7, 13, 40, 41, 90])
def test_rebin_shares_counts_by_overlap(seed, columns):
    counts = np.random.default_rng(seed).integers(0, 100, 40)
    got = rebin(counts, columns)
    np.testing.assert_allclose(got, slow_rebin(counts, columns), atol=1e-9, err_msg=f"{seed}")
    assert got.sum() == pytest.approx(counts.sum())


def test_bars_are_root_scaled_and_show_every_nonzero_bin():
    rows = bar_rows(np.array([0, 1, 4, 100]), 4, 2)
    assert len(rows) == 2 and all(len(row) == 4 for row in rows)
    assert [row[0] for row in rows] == [" ", " "]  # nothing: blank
    assert [row[3] for row in rows] == ["█", "█"]  # the largest: full height
    assert rows[0][1] == " " and rows[1][1] != " "  # 1 of 100: √ gives a tenth, not nothing
    heights = [sum(EIGHTHS.index(row[k]) for row in rows) for k in range(4)]
    assert heights == [0, 2, 4, 16]  # √1, √4 of √100 of 16 eighths, rounded up: 1.6, 3.2
    assert bar_rows(np.zeros(5), 5, 1) == ["     "]


def test_strip_levels_put_high_values_on_top_and_skip_missing_epochs():
    columns = np.array([[0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0], [np.nan] * 4])
    levels = strip_levels(columns, 2, 8)
    assert levels.shape == (4, 3)
    assert levels[:, 0].tolist() == [7, 0, 0, 0]  # all in the top bin
    assert levels[:, 1].tolist() == [0, 0, 0, 7]
    assert levels[:, 2].tolist() == [-1] * 4


def test_stretch_widens_few_columns_and_thins_many():
    assert stretch(2, 6).tolist() == [0, 0, 0, 1, 1, 1]
    assert stretch(1, 3).tolist() == [0, 0, 0]
    assert stretch(10, 5).tolist() == [0, 2, 4, 6, 8]


def test_labels_say_the_range_the_zeros_and_what_falls_off():
    act = histogram(np.array([-9.0, 0.0, 0.5], np.float32), -5.0, 5.0, 40)
    assert range_text(act) == "±5" and edge_labels(act) == ("-5", "5")
    assert outside_marks(act) == ("◂", " ")
    sigmoid = histogram(np.array([0.5, 2.0], np.float32), 0.0, 1.0, 40)
    assert range_text(sigmoid) == "0…1" and outside_marks(sigmoid) == (" ", "▸")
    grad = log_histogram(np.array([0.0, 0.0, 1e-3, 1e3], np.float32))
    assert range_text(grad) == "1e-7…1e2" and edge_labels(grad) == ("1e-7", "1e2")
    assert zeros_text(grad) == "0:50%" and outside_marks(grad) == (" ", "▸")
    assert zeros_text(act) == ""
    assert shares(grad).sum() == pytest.approx(0.25)  # 1e-3 of 4 values; the rest off scale


def test_a_plan_fits_the_width_and_keeps_the_selected_layer_in_view():
    for count in (1, 3, 8, 22):
        for width, height in ((76, 9), (60, 13), (40, 30), (20, 4)):
            for selected in range(count):
                p = plan(count, selected, width, height)
                assert p.columns * p.width + GAP * (p.columns - 1) <= width
                used = p.grid_rows * (p.bar_rows + 1) + (p.strip_rows + 2 if p.strip_rows else 0)
                assert used <= height, (count, width, height, p)
                if p.shown:
                    assert p.first <= selected < p.first + p.shown
                if p.strip_rows:
                    assert MIN_STRIP_ROWS <= p.strip_rows <= MAX_STRIP_ROWS


def test_a_low_panel_drops_the_strip_then_shrinks_the_bars():
    assert plan(4, 0, 76, 9).strip_rows == 3  # 80x24: a row of four, a strip under it
    low = plan(4, 0, 76, 3)
    assert (low.strip_rows, low.bar_rows, low.grid_rows) == (0, 2, 1)
    assert plan(4, 0, 76, 0).shown == 0
