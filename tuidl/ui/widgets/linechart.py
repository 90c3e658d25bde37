"""`LineChart`: overlaid series drawn in braille, with a legend and labelled axes (round
values; y turns logarithmic by itself once the values span more than two decades, until `l`
picks a scale); without colour (`NO_COLOR`) each series after the first gets a marker.

About 4x cheaper than plotext (measured per redraw): the series are reduced to at most two points
per dot column (`minmax_downsample`) and rasterised with numpy; the lines are rebuilt only when
the data (`refresh()`) or the size changed, and turned into strips by `pieces_strips`. The
screens send the per-step curves from bounded histories (`history.Envelope`), so a redraw
costs about the same at step 100 or 10 million.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.reactive import reactive
from textual.strip import Strip

from ...render.axes import (
    FIRST_SERIES_SAMPLE,
    mark_series,
    series_marker,
    spans_decades,
    x_ticks,
    y_ticks,
)
from ...render.charts import PALETTE, braille_plot, minmax_downsample, nice_range, short
from ..history import grown
from .textstrips import Pieces, TextStrips, pieces_strips, pieces_text, text_strips

LABEL_WIDTH = 8


class Points:
    """One series: x and y in float arrays grown by doubling."""

    def __init__(self) -> None:
        self.n = 0
        self._x = np.empty(0)
        self._y = np.empty(0)

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.n]

    def append(self, xs, ys) -> None:
        x, y = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
        end = self.n + min(len(x), len(y))
        self._x, self._y = grown(self._x, end), grown(self._y, end)
        self._x[self.n : end] = x[: end - self.n]
        self._y[self.n : end] = y[: end - self.n]
        self.n = end


class LineChart(TextStrips):
    """Series by name, each a growing list of (x, y); drawn in insertion order."""

    DEFAULT_CSS = """
    LineChart { height: 1fr; min-height: 4; }
    """

    log_y: reactive[bool | None] = reactive(None)
    """Plot log10 of the values: True, False, or None to decide by the values (`uses_log`)."""

    def __init__(self, *, empty: str = "no data yet", **kwargs) -> None:
        super().__init__(**kwargs)
        self.empty = empty
        self.points: dict[str, Points] = {}
        self.series_colors: dict[str, str] = {}
        self.unlisted: set[str] = set()  # series drawn but not in the legend (a seed band's)
        self.x_unit = "step"  # what x counts, named on the x axis

    @property
    def uses_log(self) -> bool:
        """Whether y is drawn in log10: as `log_y` says, or when the values span decades."""
        if self.log_y is not None:
            return self.log_y
        ys = [p.y for p in self.points.values()]
        return bool(ys) and spans_decades(np.concatenate(ys))

    @property
    def series(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(x, y) arrays by series name."""
        return {name: (p.x, p.y) for name, p in self.points.items()}

    def clear(self) -> None:
        self.points = {}
        self.series_colors.clear()
        self.unlisted.clear()

    def extend(self, name: str, xs, ys, color: str | None = None, *, legend: bool = True) -> None:
        """Append points to series `name` (created on first use, in the legend unless `legend`
        is False); call `refresh()` to redraw."""
        points = self.points.get(name)
        if points is None:
            points = self.points[name] = Points()
            self.series_colors[name] = color or PALETTE[len(self.series_colors) % len(PALETTE)]
            if not legend:
                self.unlisted.add(name)
        points.append(xs, ys)

    def count(self, name: str) -> int:
        points = self.points.get(name)
        return points.n if points is not None else 0

    def watch_log_y(self) -> None:
        self.refresh()

    def build_text(self) -> Text:
        lines = self._lines(self.content_size.width, self.content_size.height)
        return Text(self.empty, style="dim") if lines is None else pieces_text(lines)

    def build_strips(self, width: int) -> list[Strip]:
        lines = self._lines(self.content_size.width, self.content_size.height)
        if lines is None:
            return text_strips(self, Text(self.empty, style="dim"), width)
        return pieces_strips(self, lines, width)

    def _lines(self, width: int, height: int) -> list[Pieces] | None:
        """The chart as lines of (text, style) pieces; None when there is nothing to draw."""
        plot_w, plot_h = width - LABEL_WIDTH, height - 2  # legend row on top, x labels below
        names = [n for n, p in self.points.items() if p.n]
        if plot_w < 4 or plot_h < 1 or not names:
            return None
        log = self.uses_log
        prepared = []
        for name in names:
            xs, ys = minmax_downsample(self.points[name].x, self.points[name].y, plot_w)
            if log:
                with np.errstate(divide="ignore", invalid="ignore"):
                    ys = np.where(ys > 0, np.log10(np.where(ys > 0, ys, 1)), np.nan)
            prepared.append((xs, ys))
        all_x = np.concatenate([p[0] for p in prepared])
        all_y = np.concatenate([p[1] for p in prepared])
        all_y = all_y[np.isfinite(all_y)]
        if all_y.size == 0:
            return None
        x_range = nice_range(float(all_x.min()), float(all_x.max()))
        y_range = nice_range(float(all_y.min()), float(all_y.max()))
        rows, owner = braille_plot(prepared, plot_w, plot_h, x_range, y_range)
        colored = not self.app.no_color
        if not colored:  # the series told apart by their glyphs
            rows = mark_series(rows, owner)
        legend: Pieces = []
        for k, name in enumerate(names):  # legend with the latest value
            if name in self.unlisted:
                continue
            if colored:
                legend.append(("━━ ", self.series_colors[name]))
            else:
                legend.append((f"{series_marker(k) * 2 if k else FIRST_SERIES_SAMPLE} ", ""))
            legend.append((f"{name} {short(self.points[name].y[-1])}  ", ""))
        lines = [legend]
        colors = [self.series_colors[name] for name in names] + [""]  # owner -1: no style
        ticks = dict(y_ticks(*y_range, plot_h, log))
        for r, row in enumerate(rows):
            tick = ticks.get(r, "")[: LABEL_WIDTH - 1]
            line = [(f"{tick:>{LABEL_WIDTH - 1}}┤", "dim")]
            edges = [0, *(np.flatnonzero(np.diff(owner[r])) + 1).tolist(), plot_w]
            for start, stop in zip(edges[:-1], edges[1:], strict=True):
                line.append((row[start:stop], colors[owner[r, start]]))
            lines.append(line)
        x_row = [" "] * plot_w
        for start, label in x_ticks(*x_range, plot_w):
            x_row[start : start + len(label)] = label
        unit = f"{self.x_unit:>{LABEL_WIDTH - 1}} "
        lines.append([(unit + "".join(x_row).rstrip(), "dim")])
        return lines
