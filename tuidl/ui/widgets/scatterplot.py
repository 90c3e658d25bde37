"""`ScatterPlot`: points drawn by `tuidl.render.scatter` (the sweep screen's swept value
against the metric), as large as the room it is given."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.strip import Strip

from ...render.scatter import scatter_lines
from .textstrips import TextStrips, pieces_strips, pieces_text, text_strips


class ScatterPlot(TextStrips):
    DEFAULT_CSS = """
    ScatterPlot { height: 1fr; min-height: 4; }
    """

    EMPTY = "no trial has ended yet"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.xs: Sequence = []
        self.ys: Sequence[float] = []
        self.log_x = False
        self.best = 0

    def set_points(self, xs: Sequence, ys: Sequence[float], log_x: bool, best: int) -> None:
        """Draw (x, y) points, the first `best` in the best points' colour."""
        self.xs, self.ys, self.log_x, self.best = list(xs), list(ys), log_x, best
        self.refresh()

    def _lines(self):
        size = self.content_size
        colour = not self.app.no_color
        lines = scatter_lines(
            self.xs, self.ys, size.width, size.height, log_x=self.log_x, best=self.best,
            colour=colour,
        )  # fmt: skip
        return lines or None

    def build_text(self) -> Text:
        lines = self._lines()
        return Text(self.EMPTY, style="dim") if lines is None else pieces_text(lines)

    def build_strips(self, width: int) -> list[Strip]:
        lines = self._lines()
        if lines is None:
            return text_strips(self, Text(self.EMPTY, style="dim"), width)
        return pieces_strips(self, lines, width)
