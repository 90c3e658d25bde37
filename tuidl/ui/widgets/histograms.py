"""`HistogramView`: the histograms of the epoch records, of activations, gradients or weights.

Above, the latest epoch's histogram of every layer side by side (bars `√count` high, each
layer to its own largest bin; `◂` `▸` under a histogram when values fall off its ends, and a
gradient's share of exact zeros); below, the selected layer's histograms over the epochs as a
heat strip (TensorBoard's "distributions": one column per epoch, high values at the top,
brighter where more of that epoch's values are). The bins are the engine's, fixed for the
whole run (`tuidl.histograms`); this widget only draws what the records hold, laid out by
`tuidl.render.distributions`. Each layer's strip keeps at most STRIP_LIMIT columns of epochs
(`history.BinnedMeans`: neighbouring epochs share one once a run outgrows it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from ...render.charts import bin_means, ramp
from ...render.distributions import (
    bar_rows,
    edge_labels,
    outside_marks,
    plan,
    range_text,
    shares,
    stretch,
    strip_levels,
    zeros_text,
)
from ..history import BinnedMeans
from .halfblock import image_rows, levels_to_pixels

KINDS = ("act", "grad", "weight")
NAMES = {"act": "activations", "grad": "gradients", "weight": "weights"}
COLOURS = {"act": "#5fafd7", "grad": "#d7875f", "weight": "#87af5f"}
STRIP_LIMIT = 256  # epoch columns a layer's strip keeps (a strip is at most a panel wide)
GUTTER = 6  # cells left of the strip for its value labels
_RAMP = ramp()
_PLAIN, _DIM, _PICKED = Style(), Style(dim=True), Style(bold=True, reverse=True)


class HistogramView(Widget):
    """The histogram panel's drawing (see the module); the screen hands it epoch records."""

    DEFAULT_CSS = """
    HistogramView { height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.kind = KINDS[0]
        self.selected = 0  # index of the strip's layer among the kind's layers
        self.reset()

    def reset(self) -> None:
        """Forget every record (a new run)."""
        self.latest: dict[str, dict[str, dict[str, Any]]] = {}
        self.epochs: tuple[int, int] | None = None  # the first and latest epoch seen
        self.history: dict[tuple[str, str], BinnedMeans] = {}
        self.refresh_data()

    def add_epochs(self, records: list[dict[str, Any]]) -> None:
        """Epoch records, in order; those without histograms are passed over."""
        rows: dict[tuple[str, str], list[np.ndarray]] = {}
        for record in records:
            hist = record.get("hist")
            if not hist:
                continue
            for kind, layers in hist.items():
                for layer, histogram in layers.items():
                    rows.setdefault((kind, layer), []).append(shares(histogram))
            self.latest = hist
            first = record["epoch"] if self.epochs is None else self.epochs[0]
            self.epochs = (first, record["epoch"])
        for key, shares_ in rows.items():
            series = self.history.get(key)
            if series is None or series.sums.shape[1:] != shares_[0].shape:
                series = self.history[key] = BinnedMeans(len(shares_[0]), STRIP_LIMIT)
            series.extend(np.array(shares_))

    @property
    def layers(self) -> list[str]:
        """The layers of the shown kind, in the model's order."""
        return list(self.latest.get(self.kind, {}))

    @property
    def title(self) -> str:
        """The panel's title: the kind, the epoch, and the keys."""
        if self.epochs is None:
            return "histograms · d kind · [ ] layer"
        return f"histograms of {NAMES[self.kind]} · epoch {self.epochs[1]} · d kind · [ ] layer"

    def next_kind(self) -> None:
        self.kind = KINDS[(KINDS.index(self.kind) + 1) % len(KINDS)]
        self.refresh_data()

    def move(self, step: int) -> None:
        """Pick the strip's layer `step` layers on (around the ends)."""
        count = len(self.layers)
        if count:
            self.selected = (min(self.selected, count - 1) + step) % count
            self.refresh_data()

    def refresh_data(self) -> None:
        self._built_for: tuple | None = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width, height = self.content_size
        key = (width, height, self.kind, self.selected, self.epochs)
        if key != self._built_for:
            self._strips = self._build(width, height)
            self._built_for = key
        if y < len(self._strips):
            return self._strips[y].crop(0, width)
        return Strip.blank(width, _PLAIN)

    def _build(self, width: int, height: int) -> list[Strip]:
        layers = self.layers
        if not layers:
            text = (
                "histograms appear at epoch 0 (before the first step) and each epoch's end"
                if self.epochs is None
                else f"no {NAMES[self.kind]}: no layer has parameters"
            )
            return [Strip([Segment(text, _DIM)])]
        self.selected = min(self.selected, len(layers) - 1)
        layout = plan(len(layers), self.selected, width, height)
        lines = self._grid(layers, layout)
        if layout.strip_rows:
            lines += self._strip(layers[self.selected], width, layout.strip_rows)
        return [Strip(segments).simplify() for segments in lines]

    def _grid(self, layers: list[str], layout) -> list[list[Segment]]:
        """The shown layers' latest histograms side by side, rows of `layout.columns`."""
        records = self.latest[self.kind]
        colour = Style(color=COLOURS[self.kind])
        gap = Segment("  ", _PLAIN)
        lines = []
        end = layout.first + layout.shown
        for start in range(layout.first, end, layout.columns):
            row = range(start, min(end, start + layout.columns))
            bars = [bar_rows(records[layers[k]]["counts"], layout.width, layout.bar_rows)
                    for k in row]  # fmt: skip
            for r in range(layout.bar_rows):
                lines.append(_joined([[Segment(block[r], colour)] for block in bars], gap))
            labels = [self._label(layers[k], records[layers[k]], layout.width, k) for k in row]
            lines.append(_joined(labels, gap))
        return lines

    def _label(self, name: str, record: dict[str, Any], width: int, index: int) -> list[Segment]:
        """Under a histogram: its layer (reversed when it is the strip's), what it says beyond
        its bars (range, zeros) when there is room, `◂` `▸` at the ends for values off them."""
        left, right = outside_marks(record)
        extra = zeros_text(record) if self.kind == "grad" else range_text(record)
        inner = max(0, width - 2)
        text = name if len(name) + 1 + len(extra) > inner else f"{name} {extra}"
        text = text[:inner]
        style = _PICKED if index == self.selected else _PLAIN
        return [
            Segment(left, _DIM),
            Segment(text, style),
            Segment(" " * (inner - len(text)) + right, _DIM),
        ]

    def _strip(self, name: str, width: int, rows: int) -> list[list[Segment]]:
        """The layer's histograms over the epochs: a title row, `rows` half-block rows, an
        axis row."""
        record = self.latest[self.kind][name]
        first, last = self.epochs
        title = f"{name} over epochs {first}–{last}, {range_text(record)}"
        lines = [[Segment(title[:width], Style(bold=True))]]
        plot = max(1, width - GUTTER)
        series = self.history[(self.kind, name)]
        columns = bin_means(series.sums.T, series.counts.T, plot).T  # (epoch columns, bins)
        columns = columns[stretch(len(columns), plot)]
        levels = strip_levels(columns, rows, len(_RAMP))
        lo, hi = edge_labels(record)
        for r, segments in enumerate(image_rows(levels_to_pixels(levels, _RAMP))):
            label = hi if r == 0 else lo if r == rows - 1 else ""
            lines.append([Segment(f"{label[: GUTTER - 1]:>{GUTTER - 1}} ", _DIM), *segments])
        right = f"epoch {last}"
        middle = "brighter: more values (√)"
        left = f"{'':{GUTTER}}epoch {first}"
        room = width - len(left) - len(right)
        middle = f"{middle:^{room}}" if room >= len(middle) + 2 else " " * max(1, room)
        lines.append([Segment(f"{left}{middle}{right}"[:width], _DIM)])
        return lines


def _joined(cells: list[list[Segment]], gap: Segment) -> list[Segment]:
    """The segments of cells side by side, `gap` between two."""
    segments = []
    for j, cell in enumerate(cells):
        segments += [gap] * bool(j) + cell
    return segments
