"""`DecisionBoundary`: for 2D classification, the predicted class over the input plane
(paler where the model is less sure) with the training points on top, as in Playground."""

from __future__ import annotations

import numpy as np
from rich.text import Text

from ...session.messages import Boundary
from .imageview import ImageView

CLASS_RGB = [(78, 154, 241), (245, 166, 35), (126, 211, 33), (232, 69, 107), (189, 122, 245),
             (80, 227, 194), (248, 231, 28), (200, 200, 200)]  # fmt: skip
BACKGROUND = (24, 24, 28)
SHADES = 6


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in rgb))


def _shade(k: int, t: float) -> str:
    base = CLASS_RGB[k % len(CLASS_RGB)]
    return _hex([BACKGROUND[c] + (base[c] - BACKGROUND[c]) * t for c in range(3)])


_REGION = [[_shade(k, 0.12 + 0.4 * s / (SHADES - 1)) for s in range(SHADES)] for k in range(8)]
POINT_COLORS = [_hex(rgb) for rgb in CLASS_RGB]


def boundary_pixels(
    cls: np.ndarray, conf: np.ndarray, points: np.ndarray, labels: np.ndarray,
    extent: tuple[float, float, float, float], side: int,
) -> list[list[str | None]]:  # fmt: skip
    """A `side` x `side` pixel grid: region colour by class and confidence, points on top.

    Args:
        cls, conf: (G, G) predicted class and its probability, top row = largest y.
        points: (N, 2) inputs; labels: (N,) their classes.
        extent: (x0, x1, y0, y1) of the grid.
    """
    g = cls.shape[0]
    index = np.minimum((np.arange(side) * g) // side, g - 1)
    c = cls[np.ix_(index, index)]
    k = max(2, int(cls.max()) + 1)
    chance = 1.0 / k
    shade = np.clip(((conf[np.ix_(index, index)] - chance) / (1 - chance)) * SHADES, 0, SHADES - 1)
    shade = shade.astype(np.int64)
    pixels = [[_REGION[a % 8][s] for a, s in zip(cr, sr, strict=True)]
              for cr, sr in zip(c.tolist(), shade.tolist(), strict=True)]  # fmt: skip
    x0, x1, y0, y1 = extent
    cols = np.clip(np.round((points[:, 0] - x0) / (x1 - x0) * (side - 1)), 0, side - 1)
    rows = np.clip(np.round((y1 - points[:, 1]) / (y1 - y0) * (side - 1)), 0, side - 1)
    for r, col, label in zip(rows.astype(int), cols.astype(int), labels.tolist(), strict=True):
        pixels[r][col] = POINT_COLORS[label % 8]
    return pixels


class DecisionBoundary(ImageView):
    """Square in pixels, as large as the room it is given (`height: 1fr` in the layout)."""

    EMPTY = "the decision boundary is drawn for 2D classification data"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._last: tuple[Boundary, int] | None = None

    def set_boundary(self, boundary: Boundary, step: int) -> None:
        self._last = boundary, step
        self.redraw()

    def has_data(self) -> bool:
        return self._last is not None

    def layout_key(self) -> tuple[int, int]:
        return self.size.width, self.size.height

    def redraw(self) -> None:
        if self._last is None or not self.size.width:
            return
        b, step = self._last
        side = max(8, min(self.size.width, 2 * (self.size.height - 1), 64))
        pixels = boundary_pixels(b.cls, b.conf, b.points, b.labels, b.extent, side)
        self.show([pixels, Text(f"step {step}: regions = prediction", style="dim")])
