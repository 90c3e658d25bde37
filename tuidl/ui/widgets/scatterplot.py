"""`ScatterPlot`: points drawn by `tuidl.render.scatter` (the sweep screen's swept value
against the metric), as large as the room it is given."""

from __future__ import annotations

from collections.abc import Sequence

from ...render.scatter import scatter_lines
from .textstrips import Pieces, PiecesStrips


class ScatterPlot(PiecesStrips):
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

    def lines(self) -> list[Pieces] | None:
        size = self.content_size
        colour = not self.app.no_color
        lines = scatter_lines(
            self.xs, self.ys, size.width, size.height, log_x=self.log_x, best=self.best,
            colour=colour,
        )  # fmt: skip
        return lines or None
