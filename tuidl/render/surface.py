"""A surface's contours with optimizers' paths on it, as rows of text (no terminal library).

`surface_lines(function, paths, width, height, colour)` draws a function of
`tuidl.layers.surface.FUNCTIONS` over its region, shaded in bands of f spaced on a log scale
(each band a fixed fraction of a decade of f above its lowest value, so the rings crowd where
the surface is flat as well as where it is steep), with one path per optimizer on top:
a braille line in the path's colour ending in the path's glyph, and `+` on each minimum.
Without colour the band edges are drawn as `.` contour lines and every cell a path crosses
holds its glyph. Under the plot, a legend gives each path's glyph, label and last position.

Rows are lists of (text, style) pieces (a Rich style string, "" for none): a Textual widget
turns them into strips, a Rich console prints `Text.assemble(*row)` for each.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..layers.surface import FUNCTIONS, Function
from .charts import braille_plot

Pieces = list[tuple[str, str]]
Path = tuple[Sequence[float], Sequence[float], str]  # xs, ys, colour (a Rich colour)

PATH_GLYPHS = "xo*#%@&"  # one per path, in order (ASCII: one cell in every terminal)
MINIMUM = "+"
CONTOUR = "."  # a band edge, without colour
BANDS = 8
DECADES = 4.0  # of f - lowest the bands cover, below the largest value drawn
# band colours, dark (low f) to light: dim enough under coloured paths
BAND_LOW, BAND_HIGH = (14, 18, 28), (70, 88, 120)
MIN_PLOT_ROWS = 3
# how far the plot may stretch the region's shape (a cell is about twice as tall as wide) to
# fill its room: more, and a tall panel turns the bowl's zig-zags into vertical strokes
MAX_STRETCH = 2.0


def band_colours(count: int = BANDS) -> list[str]:
    """`count` hex colours from BAND_LOW to BAND_HIGH."""
    steps = np.linspace(0.0, 1.0, count)[:, None]
    rgb = np.round(np.array(BAND_LOW) + steps * (np.subtract(BAND_HIGH, BAND_LOW)))
    return ["#{:02x}{:02x}{:02x}".format(*row) for row in rgb.astype(int).tolist()]


_BAND_COLOURS = band_colours()


def surface_bands(function: Function, width: int, height: int) -> np.ndarray:
    """(height, width) band of each cell (0 = lowest) from f at the cell's centre, top row at
    the region's largest y: log10(f - lowest) in BANDS equal steps over the top DECADES."""
    x0, x1, y0, y1 = function.extent
    xs = x0 + (np.arange(width) + 0.5) * (x1 - x0) / width
    ys = y1 - (np.arange(height) + 0.5) * (y1 - y0) / height
    above = function.value(*np.meshgrid(xs, ys)) - function.lowest
    logs = np.log10(np.maximum(above, 1e-12))
    top = float(logs.max())
    scaled = (logs - (top - DECADES)) / DECADES * BANDS
    return np.clip(np.floor(scaled), 0, BANDS - 1).astype(np.int64)


def plot_size(function: Function, width: int, rows: int) -> tuple[int, int]:
    """(columns, rows) of the plot inside `width` x `rows` cells: all of it, unless that would
    stretch the region's shape more than MAX_STRETCH times one way or the other."""
    x0, x1, y0, y1 = function.extent
    true_ratio = 2 * (x1 - x0) / (y1 - y0)  # columns per row that keep the shape
    if width > rows * true_ratio * MAX_STRETCH:
        return max(1, round(rows * true_ratio * MAX_STRETCH)), rows
    if width < rows * true_ratio / MAX_STRETCH:
        return width, max(min(rows, MIN_PLOT_ROWS), round(width * MAX_STRETCH / true_ratio))
    return width, rows


def cell_of(function: Function, x: float, y: float, width: int, height: int) -> tuple[int, int]:
    """(row, column) of the cell holding (x, y), as `braille_plot` places its dots (clipped
    to the canvas: a point off the region sits on its edge)."""
    x0, x1, y0, y1 = function.extent
    px = min(max(round((x - x0) / (x1 - x0) * (2 * width - 1)), 0), 2 * width - 1)
    py = min(max(round((y1 - y) / (y1 - y0) * (4 * height - 1)), 0), 4 * height - 1)
    return py // 4, px // 2


def legend(paths: dict[str, Path], colour: bool) -> list[tuple[str, str]]:
    """One piece per path: its glyph, label and last position, in its colour."""
    pieces = []
    for k, (label, (xs, ys, tint)) in enumerate(paths.items()):
        last = _last_finite(xs, ys)
        where = f"({last[0]:.2f}, {last[1]:.2f})" if last is not None else "(-)"
        pieces.append(
            (f"{PATH_GLYPHS[k % len(PATH_GLYPHS)]} {label} {where}", tint if colour else "")
        )
    return pieces


def _last_finite(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    for x, y in zip(reversed(list(xs)), reversed(list(ys)), strict=True):
        if math.isfinite(x) and math.isfinite(y):
            return x, y
    return None


def _wrap(pieces: list[tuple[str, str]], width: int) -> list[Pieces]:
    """Pieces laid out in lines of at most `width` cells, two spaces apart (a piece too long
    for a line is cut)."""
    lines: list[Pieces] = []
    used = width + 1  # no line yet
    for text, style in pieces:
        text = text[:width]
        if used + 2 + len(text) > width:
            lines.append([])
            used = -2
        if lines[-1]:
            lines[-1].append(("  ", ""))
        lines[-1].append((text, style))
        used += 2 + len(text)
    return lines


def surface_lines(
    function: str, paths: dict[str, Path], width: int, height: int, colour: bool = True
) -> list[Pieces]:
    """The surface `function` with `paths` on it, in `height` rows of `width` cells: the plot,
    then the legend (as many rows as it needs, the plot keeping MIN_PLOT_ROWS at least). A
    plot narrower than `width` is padded with blanks; one shorter than the room leaves the
    rows under the legend out.

    Args:
        function: a name in `FUNCTIONS`.
        paths: label -> (xs, ys, colour), in drawing order (a later path wins a shared cell);
            positions off the region are drawn on its edge, non-finite ones left out.
        colour: shaded bands and coloured paths; without, contour dots and a glyph per path.
    """
    spec = FUNCTIONS[function]
    x0, x1, y0, y1 = spec.extent
    region = f"x {x0:g}..{x1:g}, y {y0:g}..{y1:g}"
    notes = _wrap([(region, "dim" if colour else ""), *legend(paths, colour)], width)
    rows = height - len(notes)
    if rows < MIN_PLOT_ROWS:
        notes, rows = notes[: max(0, height - MIN_PLOT_ROWS)], min(height, MIN_PLOT_ROWS)
    if width < 1 or rows < 1:
        return []
    columns, rows = plot_size(spec, width, rows)
    bands = surface_bands(spec, columns, rows)
    series = [
        (np.asarray(xs, np.float64), np.asarray(ys, np.float64)) for xs, ys, _ in paths.values()
    ]
    braille, owner = braille_plot(series, columns, rows, (x0, x1), (y0, y1))
    glyphs = [list(row) for row in braille]
    marks: dict[tuple[int, int], int] = {}  # cell -> the path ending there (-1: a minimum)
    for x, y in spec.minima:
        marks[cell_of(spec, x, y, columns, rows)] = -1
    for k, (xs, ys) in enumerate(series):
        last = _last_finite(xs, ys)
        if last is not None:
            marks[cell_of(spec, *last, columns, rows)] = k
    tints = [tint for _, _, tint in paths.values()]
    cells = _colour_cells if colour else _plain_cells
    plot = cells(glyphs, owner, bands, marks, tints)
    if columns < width:
        plot = [[*line, (" " * (width - columns), "")] for line in plot]
    return plot + notes


def _colour_cells(glyphs, owner, bands, marks, tints) -> list[Pieces]:
    """Braille in the paths' colours on band shades; glyphs where paths end, `+` on minima."""
    lines = []
    for r, row in enumerate(glyphs):
        line: Pieces = []
        for c, char in enumerate(row):
            background = _BAND_COLOURS[bands[r, c]]
            mark = marks.get((r, c))
            if mark is not None:
                char = MINIMUM if mark < 0 else PATH_GLYPHS[mark % len(PATH_GLYPHS)]
                style = f"bold {'white' if mark < 0 else tints[mark]} on {background}"
            elif owner[r, c] >= 0:
                style = f"{tints[owner[r, c]]} on {background}"
            else:
                style = f"on {background}"
            if line and line[-1][1] == style:
                line[-1] = (line[-1][0] + char, style)
            else:
                line.append((char, style))
        lines.append(line)
    return lines


def _plain_cells(glyphs, owner, bands, marks, tints) -> list[Pieces]:
    """Each path's cells in its glyph over `.` contour lines (where the band changes to the
    right or below), `+` on minima that no path covers."""
    edge = np.zeros(bands.shape, dtype=bool)
    edge[:, :-1] |= bands[:, 1:] != bands[:, :-1]
    edge[:-1, :] |= bands[1:, :] != bands[:-1, :]
    lines = []
    for r in range(len(glyphs)):
        chars = []
        for c in range(len(glyphs[r])):
            k = owner[r, c]
            mark = marks.get((r, c))
            if k >= 0:
                chars.append(PATH_GLYPHS[k % len(PATH_GLYPHS)])
            elif mark is not None:
                chars.append(MINIMUM if mark < 0 else PATH_GLYPHS[mark % len(PATH_GLYPHS)])
            else:
                chars.append(CONTOUR if edge[r, c] else " ")
        lines.append([("".join(chars), "")])
    return lines
