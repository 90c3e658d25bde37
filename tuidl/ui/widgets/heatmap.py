"""`GradHeatmap`: gradient norm per layer (rows) over steps (columns), log colour scale.

Dark is small: in deep-sigmoid the first layers visibly go dark while deep-relu stays lit.
The norms are kept in a growing numpy array (not one list per step), so a redraw bins them
with a few vectorised calls however long the run.
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from ..charts import LEVELS, bin_columns, log_range, quantize, ramp

NAME_WIDTH = 10
_RAMP = ramp()
_STYLES = [Style(bgcolor=c) for c in _RAMP]


class GradHeatmap(Widget):
    """A layer x step matrix of log10 gradient norms, averaged down to the panel width."""

    DEFAULT_CSS = """
    GradHeatmap { height: auto; min-height: 3; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.layer_names: list[str] = []
        self.steps: list[int] = []
        self._norms = np.zeros((0, 0))  # (capacity, layers): row k is step k's norms
        self._strips: list[Strip] = []
        self._built_for: tuple = ()
        self._rows = 0  # layer rows at the last layout

    def reset(self, layers: list[str]) -> None:
        self.layer_names, self.steps = list(layers), []
        self._norms = np.zeros((0, len(self.layer_names)))
        self._built_for = ()
        self.refresh(layout=True)

    def add(self, step: int, norms: dict[str, float]) -> None:
        self.add_all([{"step": step, "grad_norm": norms}])

    def add_all(self, records: list[dict]) -> None:
        """Append the `grad_norm` of each step record (one numpy write for the batch)."""
        if not records:
            return
        if not self.layer_names:
            self.layer_names = list(records[0].get("grad_norm", {}))
        names = self.layer_names
        rows = [[r.get("grad_norm", {}).get(name, 0.0) for name in names] for r in records]
        n, end = len(self.steps), len(self.steps) + len(rows)
        if end > len(self._norms) or self._norms.shape[1] != len(self.layer_names):
            grown = np.zeros((max(64, 2 * end), len(self.layer_names)))
            if n:
                grown[:n] = self._norms[:n]
            self._norms = grown
        self._norms[n:end] = rows
        self.steps.extend(r["step"] for r in records)

    @property
    def columns(self) -> np.ndarray:
        """(steps, layers) log10 gradient norms; NaN where a norm was 0 or missing."""
        norms = self._norms[: len(self.steps)]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(norms > 0, np.log10(np.where(norms > 0, norms, 1.0)), np.nan)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self.layer_names) + 1)

    def _build(self, width: int) -> None:
        plot_w = max(1, width - NAME_WIDTH)
        if not self.steps:
            self._strips = []
            return
        matrix = self.columns.T  # (layers, steps)
        binned = bin_columns(matrix, plot_w)
        finite = matrix[np.isfinite(matrix)]
        extremes = np.array([finite.min(), finite.max()]) if finite.size else np.array([])
        lo, hi = log_range(10.0**extremes, 2.0)
        levels = quantize(binned, lo, hi, LEVELS)
        strips = []
        for name, row in zip(self.layer_names, levels, strict=True):
            segments = [Segment(f"{name[: NAME_WIDTH - 1]:<{NAME_WIDTH}}")]
            for v in row.tolist():
                segments.append(Segment(" ", _STYLES[v] if v >= 0 else Style()))
            strips.append(Strip(segments).simplify())
        first, last = self.steps[0], self.steps[-1]
        legend = Text(f"{'':<{NAME_WIDTH}}step {first}", style="dim")
        right = f"step {last}   dark 1e{int(lo)} .. bright 1e{int(hi)}"
        legend.append(" " * max(1, plot_w - len(legend.plain) + NAME_WIDTH - len(right)) + right)
        strips.append(Strip(list(legend.render(self.app.console))))
        self._strips = strips

    def refresh_data(self) -> None:
        self._built_for = ()
        # a layout pass re-composes the whole screen: ask for one only when the height changes
        layout = len(self.layer_names) != self._rows
        self._rows = len(self.layer_names)
        self.refresh(layout=layout)

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        key = (len(self.steps), width)
        if key != self._built_for:
            self._build(width)
            self._built_for = key
        if not self._strips:
            return (
                Strip([Segment("gradient history appears after the first step", Style(dim=True))])
                if y == 0
                else Strip.blank(width)
            )
        if y < len(self._strips):
            return self._strips[y].crop(0, width)
        return Strip.blank(width)
