"""`GradHeatmap`: gradient norm per layer (rows) over steps (columns), log colour scale.

Dark is small: in deep-sigmoid the first layers visibly go dark while deep-relu stays lit.
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
        self.columns: list[list[float]] = []  # one list of log10 norms per step
        self._strips: list[Strip] = []
        self._built_for: tuple = ()

    def reset(self, layers: list[str]) -> None:
        self.layer_names, self.steps, self.columns = list(layers), [], []
        self._built_for = ()
        self.refresh(layout=True)

    def add(self, step: int, norms: dict[str, float]) -> None:
        if not self.layer_names:
            self.layer_names = list(norms)
        with np.errstate(divide="ignore", invalid="ignore"):
            column = [
                float(np.log10(norms[n])) if norms.get(n, 0) > 0 else np.nan
                for n in self.layer_names
            ]
        self.steps.append(step)
        self.columns.append(column)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self.layer_names) + 1)

    def _build(self, width: int) -> None:
        plot_w = max(1, width - NAME_WIDTH)
        if not self.columns:
            self._strips = []
            return
        matrix = np.array(self.columns, dtype=np.float64).T  # (layers, steps)
        binned = bin_columns(matrix, plot_w)
        finite = matrix[np.isfinite(matrix)]
        lo, hi = log_range(10.0**finite if finite.size else np.array([]), 2.0)
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
        self.refresh(layout=True)

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
