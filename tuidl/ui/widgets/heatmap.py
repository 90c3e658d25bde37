"""`GradHeatmap`: gradient norm per layer (rows) over steps (columns), log colour scale.

Dark is small: in deep-sigmoid the first layers visibly go dark while deep-relu stays lit.
The scale is fixed, `LOG_RANGE`, written in the legend row, so two runs' pictures compare
colour for colour. The log norms are kept as means over bins of steps
(`history.BinnedMeans`), at most a few thousand, so memory and a redraw cost the same however
long the run.
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from ...render.charts import GRADIENT_DECADES, LEVELS, bin_means, decade_legend, quantize, ramp
from ..history import BinnedMeans
from .halfblock import legend
from .textstrips import text_strip

NAME_WIDTH = 10
LOG_RANGE = GRADIENT_DECADES  # the darkest and brightest norms, clipped beyond
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
        self.history = BinnedMeans(0)
        self.first_step = self.last_step = 0
        self._strips: list[Strip] = []
        self._built_for: tuple = ()
        self._rows = 0  # layer rows at the last layout

    def reset(self, layers: list[str]) -> None:
        self.layer_names = list(layers)
        self.history = BinnedMeans(len(self.layer_names))
        self._built_for = ()
        self.refresh(layout=True)

    def add(self, step: int, norms: dict[str, float]) -> None:
        self.add_all([{"step": step, "grad_norm": norms}])

    def add_all(self, records: list[dict]) -> None:
        """Append the log10 `grad_norm` of each step record (a norm of 0 has none: NaN)."""
        if not records:
            return
        if not self.layer_names:  # not told: the first record's layers
            self.layer_names = list(records[0].get("grad_norm", {}))
            self.history = BinnedMeans(len(self.layer_names))
        names = self.layer_names
        norms = np.array(
            [[r.get("grad_norm", {}).get(name, 0.0) for name in names] for r in records], float
        ).reshape(len(records), len(names))
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.where(norms > 0, np.log10(np.where(norms > 0, norms, 1.0)), np.nan)
        if not self.history.rows:
            self.first_step = records[0]["step"]
        self.history.extend(logs)
        self.last_step = records[-1]["step"]

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self.layer_names) + 1)

    def _build(self, width: int) -> None:
        plot_w = max(1, width - NAME_WIDTH)
        history = self.history
        if not history.rows:
            self._strips = []
            return
        binned = bin_means(history.sums.T, history.counts.T, plot_w)  # (layers, <= plot_w)
        levels = quantize(binned, *LOG_RANGE, LEVELS)
        strips = []
        for name, row in zip(self.layer_names, levels, strict=True):
            # every segment styled: Textual's NO_COLOR filter reads each one's style
            segments = [Segment(f"{name[: NAME_WIDTH - 1]:<{NAME_WIDTH}}", Style())]
            for v in row.tolist():
                segments.append(Segment(" ", _STYLES[v] if v >= 0 else Style()))
            strips.append(Strip(segments).simplify())
        strips.append(text_strip(self._legend(plot_w), self.app.console))
        self._strips = strips

    def _legend(self, plot_w: int) -> Text:
        """`step first ... step last   ≤1e-7 ██████████ ≥1e+2` under the plot."""
        left = Text(f"{'':<{NAME_WIDTH}}step {self.first_step}", style="dim")
        right = legend([(f"step {self.last_step}   ", None), *decade_legend(*LOG_RANGE, _RAMP)])
        left.append(" " * max(1, plot_w + NAME_WIDTH - len(left) - len(right)))
        return left + right

    def refresh_data(self) -> None:
        self._built_for = ()
        # a layout pass re-composes the whole screen: ask for one only when the height changes
        layout = len(self.layer_names) != self._rows
        self._rows = len(self.layer_names)
        self.refresh(layout=layout)

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        key = (self.history.rows, width)
        if key != self._built_for:
            self._build(width)
            self._built_for = key
        if not self._strips:
            return (
                Strip([Segment("gradient history appears after the first step", Style(dim=True))])
                if y == 0
                else Strip.blank(width, Style())
            )
        if y < len(self._strips):
            return self._strips[y].crop(0, width)
        return Strip.blank(width, Style())
