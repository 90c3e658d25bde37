"""Chart axes as plain functions (no Textual): where ticks go and what they say, when a y axis
turns logarithmic, and the glyphs that tell series apart without colour.

- `y_ticks`, `round_ticks`, `x_ticks`: ticks at round values (1, 2, 2.5 or 5 times a power
  of ten; on a log axis decades, then their 2 and 5 multiples) on a chart's rows and columns.
- `spans_decades`: whether values call for a log axis by themselves.
- `MARKERS`, `mark_series`: a glyph per series for charts drawn without colour.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

LEAST_Y_TICKS = 4
LABEL_CHARS = 7  # the widest tick label (the chart's label column, less its axis line)
AUTO_LOG_DECADES = 2.0  # values spanning more than this many decades get a log axis
MARKERS = ["x", "o", "+", "*", "#", "%", "@"]  # ASCII: one cell wide in every terminal
FIRST_SERIES_SAMPLE = "⠒⠒"  # the legend's sample of the first series, drawn in braille


def y_ticks(lo: float, hi: float, rows: int, log: bool = False) -> list[tuple[int, str]]:
    """Ticks of a y axis from `lo` (bottom) to `hi` (top) over `rows` text rows of a braille
    chart (4 dots a row), as (row from the top, label), each on a row of its own: the
    coarsest round values giving at least `LEAST_Y_TICKS` where the rows allow, else the most.

    Args:
        lo, hi: the data range drawn; log10 of it on a `log` axis.
        rows: the chart's height in cells.
    """
    return [(_row(lo, hi, rows, v), label) for v, label in round_ticks(lo, hi, rows, log)]


def round_ticks(lo: float, hi: float, rows: int, log: bool = False) -> list[tuple[float, str]]:
    """The values and labels of `y_ticks` (log10 values on a `log` axis)."""
    best: list[float] = []
    for ticks in _log_candidates(lo, hi) if log else _linear_candidates(lo, hi):
        if len(ticks) > rows:
            break  # finer ones share rows too
        if len({_row(lo, hi, rows, v) for v in ticks}) < len(ticks):
            continue
        best = ticks if len(ticks) > len(best) else best
        if len(best) >= LEAST_Y_TICKS:
            break
    labels = _log_labels(best) if log else _linear_labels(best)
    return list(zip(best, labels, strict=True))


def _row(lo: float, hi: float, rows: int, value: float) -> int:
    """The row (from the top) of `rows` on which `braille_plot` draws `value`."""
    dots = 4 * rows - 1
    return int(round((hi - value) / (hi - lo) * dots)) // 4 if hi > lo else 0


def x_ticks(lo: float, hi: float, columns: int) -> list[tuple[int, str]]:
    """Ticks of an x axis of whole numbers (steps, epochs) from `lo` to `hi` over `columns`
    cells of a braille chart (2 dots a cell): (first column of the label, label), each label
    centred on its tick, inside the columns, and at least two columns from the next."""
    dots = 2 * columns - 1
    per_dot = (hi - lo) / dots if hi > lo and dots > 0 else 1.0
    width = max(len(str(int(lo))), len(str(int(hi)))) + 4  # a label and its room
    step = max(1.0, _round_step(width * 2 * per_dot))
    placed: list[tuple[int, str]] = []
    for value in _multiples(lo, hi, step):
        label = str(int(round(value)))
        column = int(round((value - lo) / per_dot)) // 2
        start = min(max(0, column - len(label) // 2), columns - len(label))
        if start >= 0 and (not placed or start >= placed[-1][0] + len(placed[-1][1]) + 2):
            placed.append((start, label))
    return placed


def spans_decades(values: np.ndarray) -> bool:
    """True when the finite `values` are all positive and span more than `AUTO_LOG_DECADES`
    decades: a linear axis would flatten all but the largest into its bottom rows."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0 or values.min() <= 0:
        return False
    return math.log10(values.max() / values.min()) > AUTO_LOG_DECADES


def mark_series(rows: list[str], owner: np.ndarray, braille_series: int = 0) -> list[str]:
    """Braille `rows` with the cells of each series but `braille_series` drawn with its
    marker (`MARKERS`, in series order): the series can be told apart without colour.

    Args:
        rows: the chart's rows of characters; owner: (rows, columns) series index of each cell
            (-1 empty), as `braille_plot` returns them.
    """
    glyphs = np.array([list(row) for row in rows], dtype="<U1").reshape(owner.shape)
    for index in np.unique(owner[owner >= 0]).tolist():
        if index != braille_series:
            glyphs[owner == index] = series_marker(index, braille_series)
    return ["".join(row) for row in glyphs]


def series_marker(index: int, braille_series: int = 0) -> str:
    """The marker of series `index` when `braille_series` keeps its braille line."""
    return MARKERS[(index - (index > braille_series)) % len(MARKERS)]


def _linear_candidates(lo: float, hi: float) -> Iterator[list[float]]:
    """Multiples in [lo, hi] of 1, 2, 2.5 and 5 times powers of ten, coarse to fine (ten
    decades)."""
    if not hi > lo:
        return
    power = 10.0 ** math.ceil(math.log10(hi - lo))
    for _ in range(10):
        for mantissa in (1.0, 0.5, 0.25, 0.2):
            yield _multiples(lo, hi, power * mantissa)
        power /= 10


def _log_candidates(lo: float, hi: float) -> Iterator[list[float]]:
    """Ticks of a log10 axis, coarse to fine: every n-th decade, the decades with their 2 and 5
    multiples, with all nine multiples, then round values in between (below a decade)."""
    decades = range(math.floor(lo), math.ceil(hi) + 1)
    for every in (10, 5, 2, 1):
        yield [float(d) for d in decades if lo <= d <= hi and d % every == 0]
    for mantissas in ((1, 2, 5), range(1, 10)):
        yield sorted(d + math.log10(m) for d in decades for m in mantissas
                     if lo <= d + math.log10(m) <= hi)  # fmt: skip
    for ticks in _linear_candidates(10**lo, 10**hi):
        yield [math.log10(v) for v in ticks if v > 0]


def _round_step(least: float) -> float:
    """The smallest step of 1, 2 or 5 times a power of ten that is at least `least`."""
    if not (math.isfinite(least) and least > 0):
        return 1.0
    power = 10.0 ** math.floor(math.log10(least))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= least * (1 - 1e-9))


def _multiples(lo: float, hi: float, step: float) -> list[float]:
    """The multiples of `step` from `lo` to `hi` (a little tolerance for rounding)."""
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return [k * step for k in range(first, last + 1)] if last - first < 1000 else []


def _linear_labels(values: list[float]) -> list[str]:
    """Labels as alike as the ticks: the decimals their step needs, or a power of ten for
    all of them when they are tiny or huge (`2.5e-5`); at most `LABEL_CHARS` characters."""
    if not values:
        return []
    step = values[1] - values[0] if len(values) > 1 else abs(values[0]) or 1.0
    largest = max(abs(v) for v in values)
    if 1e-3 <= largest < 1e5 and step >= 1e-3:
        decimals = next(d for d in range(12) if abs(round(step, d) - step) <= step * 1e-6)
        labels = [f"{v:.{decimals}f}" for v in values]
        if all(len(label) <= LABEL_CHARS for label in labels):
            return labels
    for digits in range(4):  # the fewest that say each tick's value
        labels = [_power_label(v, digits) for v in values]
        if all(
            abs(float(label) - v) <= step * 1e-6 for v, label in zip(values, labels, strict=True)
        ):
            break
    return labels


def _log_labels(values: list[float]) -> list[str]:
    """Labels of log10 ticks: `0.02`, `1`, `500` in plain numbers, `1e-5`, `2.5e4` beyond."""
    labels = []
    for value in values:
        number = float(f"{10**value:.2g}")
        labels.append(f"{number:g}" if 1e-3 <= number < 1e4 else _power_label(number, 1))
    return labels


def _power_label(value: float, digits: int) -> str:
    """`value` as `2.5e-5`: at most `digits` decimals (no trailing zeros), no exponent padding."""
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.{digits}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"
