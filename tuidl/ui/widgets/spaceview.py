"""`SpaceView`: the input plane as a hidden layer maps it (ConvNetJS's 2-D demo): the plane's
grid lines bent by the layer, and the training points, coloured by class, where the layer puts
them, on two of its units. A layer is a linear map plus a bend; the classes the boundary panel
separates with a curve become separable by a line here."""

from __future__ import annotations

import numpy as np
from rich.text import Text

from ...render.charts import nice_range, polyline_runs
from ...session.messages import Space
from .boundary import BACKGROUND, POINT_COLORS
from .imageview import ImageView

LINE = "#5a5a66"  # grid lines: dim, under the points


def space_pixels(space: Space, side: int) -> list[list[str | None]]:
    """A `side` x `side` pixel grid: the mapped grid lines, then the points on top."""
    both = np.concatenate([space.lines.reshape(-1, 2), space.points])
    both = both[np.isfinite(both).all(axis=1)]
    if len(both) == 0:
        return [[None] * side for _ in range(side)]
    (x0, x1), (y0, y1) = (nice_range(float(v.min()), float(v.max())) for v in both.T)

    def to_pixels(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cols = np.round((xy[..., 0] - x0) / (x1 - x0) * (side - 1))
        rows = np.round((y1 - xy[..., 1]) / (y1 - y0) * (side - 1))
        return (np.clip(np.nan_to_num(cols), 0, side - 1).astype(np.int64),
                np.clip(np.nan_to_num(rows), 0, side - 1).astype(np.int64))  # fmt: skip

    background = "#{:02x}{:02x}{:02x}".format(*BACKGROUND)
    pixels: list[list[str | None]] = [[background] * side for _ in range(side)]
    for line in space.lines:
        cols, rows = to_pixels(line)
        for col, top, bottom in zip(*(a.tolist() for a in polyline_runs(cols, rows)), strict=True):
            for row in range(top, bottom + 1):
                pixels[row][col] = LINE
    cols, rows = to_pixels(space.points)
    for row, col, label in zip(rows.tolist(), cols.tolist(), space.labels.tolist(), strict=True):
        pixels[row][col] = POINT_COLORS[int(label) % len(POINT_COLORS)]
    return pixels


class SpaceView(ImageView):
    """Square in pixels, as large as the room it is given (beside the decision boundary)."""

    EMPTY = "the space a hidden layer makes is drawn for 2D classification data"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._last: Space | None = None

    def set_space(self, space: Space) -> None:
        self._last = space
        self.redraw()

    def has_data(self) -> bool:
        return self._last is not None

    def layout_key(self) -> tuple[int, int]:
        return self.size.width, self.size.height

    def redraw(self) -> None:
        space = self._last
        if space is None or not self.size.width:
            return
        side = max(8, min(self.size.width, 2 * (self.size.height - 1), 64))
        i, j = space.units
        caption = f"units {i},{j} of {space.width} · layer {space.index + 1}/{space.count}"
        self.show([space_pixels(space, side), Text(caption, style="dim", no_wrap=True)])
