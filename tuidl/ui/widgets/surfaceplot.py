"""`SurfacePlot`: a surface's contours with optimizers' paths on it (`render.surface`), and
`PathHistory`, the bounded path of one run that a screen keeps from its step records.

The widget draws what it is handed: `set_function(name)` picks the surface, `set_paths({label:
(xs, ys, colour)})` the paths, each replacing what was there. The rows are rebuilt only when
either changed or the size did, and turned into strips by `pieces_strips`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...layers.surface import FUNCTIONS
from ...render.surface import surface_lines
from ..history import LIMIT
from .textstrips import Pieces, PiecesStrips


class PathHistory:
    """A surface run's path: the `position` of each step record, in at most `limit` points.

    Once full, every other kept point goes and from then on only every `stride`-th position
    is kept (the stride doubles each time); the latest position is always drawn. A position
    that is not two numbers (a damaged line in `tuidl view`) is passed over. `function` is the
    surface's name from the records (None until one says it).
    """

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self.stride = 1
        self.count = 0  # positions added
        self.function: str | None = None
        self.latest: tuple[float, float] | None = None
        self._xs: list[float] = []
        self._ys: list[float] = []

    def add(self, records: list[dict[str, Any]]) -> None:
        """Step records, in order; those without a position are passed over."""
        for record in records:
            position = record.get("position")
            if not _is_point(position):
                continue
            if isinstance(record.get("surface"), str):
                self.function = record["surface"]
            if self.count % self.stride == 0:
                self._xs.append(float(position[0]))
                self._ys.append(float(position[1]))
            self.count += 1
            self.latest = float(position[0]), float(position[1])
            if len(self._xs) > self.limit:
                self._xs, self._ys = self._xs[::2], self._ys[::2]
                self.stride *= 2

    def points(self) -> tuple[list[float], list[float]]:
        """xs and ys to draw: the kept positions, then the latest if it was not kept."""
        if self.latest is None or (self._xs[-1], self._ys[-1]) == self.latest:
            return list(self._xs), list(self._ys)
        return [*self._xs, self.latest[0]], [*self._ys, self.latest[1]]


def _is_point(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )


class SurfacePlot(PiecesStrips):
    """The function named by `set_function` and the paths of `set_paths`, as large as the
    room it is given; paths keep the order given (a later one wins a shared cell)."""

    DEFAULT_CSS = """
    SurfacePlot { height: 1fr; min-height: 6; }
    """

    EMPTY = "no surface: this panel draws the path of a surface experiment's point"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.function: str | None = None
        self.paths: dict[str, tuple[Sequence[float], Sequence[float], str]] = {}

    def set_function(self, name: str | None) -> None:
        """Draw the surface `name` (of `tuidl.layers.surface.FUNCTIONS`), or none."""
        if name != self.function:
            self.function = name
            self.refresh()

    def set_paths(self, paths: dict[str, tuple[Sequence[float], Sequence[float], str]]) -> None:
        """Draw these paths, label -> (xs, ys, colour), instead of the previous ones."""
        self.paths = dict(paths)
        self.refresh()

    def lines(self) -> list[Pieces] | None:
        width, height = self.content_size.width, self.content_size.height
        if self.function not in FUNCTIONS or width < 1 or height < 1:  # none, or a damaged name
            return None
        colour = not self.app.no_color
        return surface_lines(self.function, self.paths, width, height, colour)
