"""The histogram panel's drawing maths (no Textual): tested without Pilot.

The engine hands over histograms on fixed bins (`tuidl.histograms`); here they become cells:

- `plan`: how a panel of a given size is shared between the layers' histograms side by side
  (small multiples, in a window of layers that holds the selected one) and the selected
  layer's heat strip over epochs (TensorBoard's "distributions").
- `rebin`: a histogram's counts over fewer (or more) equal bins of the same range, each count
  shared by overlap, so a 40-bin histogram fits the columns there are.
- `bar_rows`: bars of eighth blocks, `√count` high (so the tails show beside a spike, such as
  a relu layer's zeros), each histogram scaled to its own largest bin.
- `strip_levels`: the heat strip's colour levels, a column per epoch, a half-block cell per
  value bin (high values at the top), `√share` of the epoch's values over the column's largest.
- `range_text`, `shares`: what a histogram record says, as a label and as fractions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .charts import short

EIGHTHS = " ▁▂▃▄▅▆▇█"
MIN_WIDTH = 12  # cells of one layer's histogram: its bars, and a name under them
MAX_WIDTH = 40  # one cell per bin of the engine's 40-bin histograms at most
GAP = 2  # cells between two histograms side by side
MAX_BAR_ROWS = 3
MIN_STRIP_ROWS = 2  # half-block rows of the heat strip (4 value levels), under a title row
MAX_STRIP_ROWS = 8  # and above an axis row


@dataclass(frozen=True)
class Plan:
    """Where a histogram panel's parts go.

    Attributes:
        first: index of the first layer shown side by side; `shown` of them from there.
        columns: histograms per row; `width` cells each, `GAP` apart; `grid_rows` rows of them.
        bar_rows: text rows of each histogram's bars (its name under them).
        strip_rows: half-block rows of the heat strip (0: no strip: too little room).
    """

    first: int
    shown: int
    columns: int
    width: int
    grid_rows: int
    bar_rows: int
    strip_rows: int


def plan(count: int, selected: int, width: int, height: int) -> Plan:
    """Share `height` rows of `width` cells between `count` layers' histograms and a heat strip
    of the layer at index `selected`: the histograms take whole rows of them (a window of
    rows that holds the selected layer when not all fit), the strip what they leave, from
    MIN_STRIP_ROWS to MAX_STRIP_ROWS rows of half blocks under a title row and above an axis
    row; no strip when the panel is too low for it and a row of histograms."""
    columns = max(1, min(count, (width + GAP) // (MIN_WIDTH + GAP)))
    cell = max(1, min(MAX_WIDTH, (width - GAP * (columns - 1)) // columns))
    strip = MIN_STRIP_ROWS + 2 if height >= MIN_STRIP_ROWS + 2 + 2 else 0
    bar_rows = max(1, min(MAX_BAR_ROWS, height - strip - 1))
    layer_rows = -(-count // columns)
    grid_rows = max(0, min(layer_rows, (height - strip) // (bar_rows + 1)))
    top = (
        max(0, min(selected // columns - grid_rows + 1, layer_rows - grid_rows)) if grid_rows else 0
    )
    first = top * columns
    shown = min(count - first, grid_rows * columns)
    if strip:
        strip = min(MAX_STRIP_ROWS, height - grid_rows * (bar_rows + 1) - 2)
    return Plan(first, shown, columns, cell, grid_rows, bar_rows, strip)


def shares(record: dict[str, Any]) -> np.ndarray:
    """Each bin's fraction of all the values a histogram record counted (those outside its
    range, zeros and NaNs too), so histograms of different sizes compare."""
    counts = np.asarray(record["counts"], dtype=np.float64)
    total = counts.sum() + sum(record.get(k, 0) for k in ("below", "above", "zeros", "nan"))
    return counts / total if total > 0 else counts


def rebin(counts: np.ndarray, columns: int) -> np.ndarray:
    """`counts` of equal bins over a range as `columns` equal bins over the same range, each
    bin's count spread evenly over it and shared by overlap: the total is kept."""
    counts = np.asarray(counts, dtype=np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(counts)])
    at = np.interp(np.linspace(0, 1, columns + 1), np.linspace(0, 1, len(counts) + 1), cumulative)
    return np.diff(at)


def root_scale(values: np.ndarray) -> np.ndarray:
    """√values over the √ of the largest: 0..1 (all 0 when there is nothing)."""
    roots = np.sqrt(np.maximum(np.asarray(values, dtype=np.float64), 0.0))
    top = roots.max() if roots.size else 0.0
    return roots / top if top > 0 else roots


def bar_rows(counts: np.ndarray, columns: int, rows: int) -> list[str]:
    """`counts` rebinned to `columns` bars, `rows` text rows tall (top row first); bar height
    `root_scale`, and any bin with a count shows at least its lowest eighth."""
    heights = root_scale(rebin(counts, columns))
    units = np.ceil(heights * rows * 8 - 1e-9).astype(np.int64)
    lines = []
    for row in range(rows):
        level = np.clip(units - (rows - 1 - row) * 8, 0, 8)
        lines.append("".join(EIGHTHS[v] for v in level.tolist()))
    return lines


def strip_levels(columns: np.ndarray, rows: int, levels: int) -> np.ndarray:
    """The heat strip's colour levels.

    Args:
        columns: (epochs, bins) shares of each epoch's values per bin; a row of NaN has none.
        rows: half-block text rows: 2 * rows value cells per epoch.
        levels: colour levels.

    Returns:
        (2 * rows, epochs) ints in 0..levels-1, the highest values' cell first; -1 where an
        epoch has no histogram.
    """
    cells = 2 * rows
    out = np.full((cells, len(columns)), -1, dtype=np.int64)
    for k, column in enumerate(np.asarray(columns, dtype=np.float64)):
        if not np.all(np.isfinite(column)):
            continue
        heights = root_scale(rebin(column, cells))[::-1]
        out[:, k] = np.minimum(levels - 1, np.floor(heights * levels)).astype(np.int64)
    return out


def stretch(count: int, width: int) -> np.ndarray:
    """For each of `width` cells, which of `count` columns it shows: all of them, each over
    an equal share of the cells (fewer columns than cells are widened)."""
    return np.minimum(count - 1, np.arange(width) * count // max(1, width))


def edge_labels(record: dict[str, Any]) -> tuple[str, str]:
    """A histogram's two ends as labels: `-5`, `5`; `1e-7`, `1e2` for log10 bins."""
    lo, hi = record["edges"]
    if record.get("scale") == "log10":
        return f"1e{lo:g}", f"1e{hi:g}"
    return short(lo), short(hi)


def range_text(record: dict[str, Any]) -> str:
    """A histogram's range as a label: `±0.5`, `0…1`, `1e-7…1e2` (log10 bins)."""
    lo, hi = record["edges"]
    if lo == -hi and record.get("scale") != "log10":
        return f"±{short(hi)}"
    return "…".join(edge_labels(record))


def outside_marks(record: dict[str, Any]) -> tuple[str, str]:
    """(left, right) marks of a histogram's values outside its range: `◂` below, `▸` above
    (a NaN counts as above: it is off every scale), blank when there are none."""
    above = record.get("above", 0) + record.get("nan", 0)
    return ("◂" if record.get("below", 0) else " "), ("▸" if above else " ")


def zeros_text(record: dict[str, Any]) -> str:
    """`0:12%`, the share of exact zeros of a log10 histogram (off its scale), or ``."""
    zeros = record.get("zeros", 0)
    if not zeros:
        return ""
    total = sum(record["counts"]) + zeros + record.get("below", 0) + record.get("above", 0)
    return f"0:{zeros / total:.0%}" if math.isfinite(zeros / total) else ""
