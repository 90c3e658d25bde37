"""A scatter plot as text (no Textual): one dot per point in braille, labelled axes, a log x
axis for keys swept on a log scale and a category axis for `choice` keys; the sweep screen's
"swept value against the metric". The best points are drawn in their own colour.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .axes import LABEL_CHARS, round_ticks, y_ticks
from .charts import BRAILLE_BITS, nice_range

Pieces = list[tuple[str, str]]  # one line: (text, Rich style string) in order
POINT = "#4e9af1"
BEST = "bold #f5a623"


def scatter_lines(
    xs: Sequence,
    ys: Sequence[float],
    width: int,
    height: int,
    *,
    log_x: bool = False,
    best: int = 0,
    colour: bool = True,
) -> list[Pieces]:
    """`height` rows of `width` cells: the plot of points (x, y), y ticks on the left, x ticks
    under it. Strings among `xs` make a category axis (one column band per distinct value, in
    first-seen order); `log_x` plots log10 of positive numbers. The first `best` points (the
    caller's best) are drawn in BEST's colour, drawn last so they stay on top.

    Returns:
        The rows; none when there is no room or no finite point.
    """
    plot_w, plot_h = width - LABEL_CHARS - 1, height - 1
    categories = list(dict.fromkeys(x for x in xs if isinstance(x, str)))
    x = np.array([_position(v, categories, log_x) for v in xs], dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    if plot_w < 4 or plot_h < 2 or not keep.any():
        return []
    if categories:
        x_range = (-0.5, len(categories) - 0.5)
    else:
        x_range = nice_range(float(x[keep].min()), float(x[keep].max()))
    y_range = nice_range(float(y[keep].min()), float(y[keep].max()))
    bits = np.zeros((plot_h, plot_w), dtype=np.int32)
    owner = np.zeros((plot_h, plot_w), dtype=np.int32)  # 1: a best point's cell
    order = [*range(best, len(x)), *range(min(best, len(x)))]  # the best last
    for k in order:
        if keep[k]:
            dx = _dot(x[k], x_range, 2 * plot_w, flip=False)
            dy = _dot(y[k], y_range, 4 * plot_h, flip=True)
            bits[dy // 4, dx // 2] |= BRAILLE_BITS[dy % 4, dx % 2]
            owner[dy // 4, dx // 2] = int(k < best)
    ticks = dict(y_ticks(*y_range, plot_h))
    lines = []
    for r in range(plot_h):
        line: Pieces = [(f"{ticks.get(r, '')[:LABEL_CHARS]:>{LABEL_CHARS}}┤", "dim")]
        for c in range(plot_w):
            glyph = chr(0x2800 + bits[r, c]) if bits[r, c] else " "
            line.append((glyph, (BEST if owner[r, c] else POINT) if colour and bits[r, c] else ""))
        lines.append(line)
    lines.append([(" " * (LABEL_CHARS + 1) + _x_labels(x_range, plot_w, categories, log_x), "dim")])
    return lines


def _position(value, categories: list[str], log_x: bool) -> float:
    """Where `value` sits on the x axis (NaN: not drawn)."""
    if isinstance(value, str):
        return float(categories.index(value))
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    if log_x:
        return math.log10(value) if value > 0 else math.nan
    return float(value)


def _dot(value: float, span: tuple[float, float], dots: int, flip: bool) -> int:
    lo, hi = span
    fraction = (value - lo) / (hi - lo) if hi > lo else 0.5
    dot = int(round(fraction * (dots - 1)))
    dot = min(max(dot, 0), dots - 1)
    return dots - 1 - dot if flip else dot


def _x_labels(span: tuple[float, float], columns: int, categories: list[str], log: bool) -> str:
    """The x axis's labels, each centred under its value, at least a column apart."""
    if categories:
        marks = [(float(k), name) for k, name in enumerate(categories)]
    else:
        room = max(2, columns // (LABEL_CHARS + 2))
        marks = round_ticks(*span, room, log)
    row = [" "] * columns
    free = 0  # the first column a label may start at
    for value, label in marks:
        column = _dot(value, span, 2 * columns, flip=False) // 2
        start = min(max(column - len(label) // 2, free), columns - len(label))
        if start < free or start < 0:
            continue
        row[start : start + len(label)] = label
        free = start + len(label) + 1
    return "".join(row).rstrip()
