"""The surface drawing (`tuidl.render.surface`) and the app's bounded paths, without a terminal:
glyphs land on the cells their positions fall in, nothing is drawn outside width x height."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tuidl.layers.surface import FUNCTIONS
from tuidl.render.surface import (
    BANDS,
    MAX_STRETCH,
    MIN_PLOT_ROWS,
    MINIMUM,
    PATH_GLYPHS,
    plot_size,
    surface_bands,
    surface_lines,
)
from tuidl.ui.widgets.surfaceplot import PathHistory

WIDTH, HEIGHT = 61, 16  # the region and two short labels fit one legend row


def text_rows(lines) -> list[str]:
    return ["".join(text for text, _ in line) for line in lines]


def at_cell(function: str, row: int, column: int, rows: int, width: int) -> tuple[float, float]:
    """A position that falls in cell (row, column) of a plot `rows` x `width`: on the left dot
    column of the cell, the second dot row (2 x 4 braille dots a cell, edges on dot centres)."""
    x0, x1, y0, y1 = FUNCTIONS[function].extent
    x = x0 + 2 * column / (2 * width - 1) * (x1 - x0)
    y = y1 - (4 * row + 1) / (4 * rows - 1) * (y1 - y0)
    return x, y


def test_each_path_ends_in_its_glyph_on_its_cell():
    rows = HEIGHT - 1
    a = at_cell("bowl", 2, 5, rows, WIDTH)
    b = at_cell("bowl", rows - 1, WIDTH - 1, rows, WIDTH)
    paths = {"a": ([a[0]], [a[1]], "red"), "b": ([b[0]], [b[1]], "blue")}
    lines = surface_lines("bowl", paths, WIDTH, HEIGHT, colour=False)
    plot = text_rows(lines)[:rows]
    assert len(lines) == HEIGHT and all(len(row) == WIDTH for row in plot)
    assert plot[2][5] == PATH_GLYPHS[0] and plot[rows - 1][WIDTH - 1] == PATH_GLYPHS[1]
    glyphs = [(r, c) for r, row in enumerate(plot) for c, ch in enumerate(row) if ch in PATH_GLYPHS]
    assert glyphs == [(2, 5), (rows - 1, WIDTH - 1)]
    assert text_rows(lines)[-1].startswith("x -10..10, y -3..3  x a (")


def test_a_path_is_drawn_between_its_positions_in_its_glyph():
    rows = HEIGHT - 1
    start, end = at_cell("bowl", 3, 2, rows, WIDTH), at_cell("bowl", 3, 30, rows, WIDTH)
    paths = {"a": ([start[0], end[0]], [start[1], end[1]], "red")}
    plot = text_rows(surface_lines("bowl", paths, WIDTH, HEIGHT, colour=False))[:rows]
    assert plot[3][2:31] == PATH_GLYPHS[0] * 29
    assert sum(row.count(PATH_GLYPHS[0]) for row in plot) == 29


def test_positions_off_the_region_stay_inside_width_and_height():
    far = [-1e9, 0.0, 1e9, math.nan, math.inf]
    paths = {f"p{k}": (far, far[::-1], "red") for k in range(9)}  # more paths than glyphs
    for colour in (False, True):
        for width, height in [(WIDTH, HEIGHT), (12, 5), (3, 2), (1, 1)]:
            lines = surface_lines("rosenbrock", paths, width, height, colour)
            assert len(lines) <= height
            assert all(sum(len(text) for text, _ in line) <= width for line in lines)
    plot = text_rows(surface_lines("rosenbrock", paths, 60, 40, colour=False))[:MIN_PLOT_ROWS]
    assert plot  # the plot keeps MIN_PLOT_ROWS under a legend that does not fit


def test_colour_marks_ends_and_minima_in_their_styles():
    width, rows = 40, HEIGHT - 1  # the saddle's square region, not stretched past MAX_STRETCH
    a = at_cell("saddle", 4, 7, rows, width)
    lines = surface_lines("saddle", {"a": ([a[0]], [a[1]], "#ff0000")}, width, HEIGHT)
    cells = [[(ch, style) for text, style in line for ch in text] for line in lines[:rows]]
    assert all(len(row) == width for row in cells)
    char, style = cells[4][7]
    assert char == PATH_GLYPHS[0] and style.startswith("bold #ff0000 on #")
    minima = [
        (r, c) for r, row in enumerate(cells) for c, (ch, _) in enumerate(row) if ch == MINIMUM
    ]
    assert len(minima) == 2 and minima[0][1] == minima[1][1]  # (0, 1) above (0, -1)
    assert all(style.startswith(("on #", "bold")) for row in cells for _, style in row)


@pytest.mark.parametrize(
    ("function", "room", "plot"),
    [("bowl", (62, 34), (62, 19)), ("bowl", (78, 9), (78, 9)), ("rosenbrock", (78, 9), (36, 9)),
     ("rosenbrock", (62, 34), (62, 34)), ("saddle", (10, 40), (10, 10))],
)  # fmt: skip
def test_the_plot_stretches_the_region_at_most_max_stretch_times(function, room, plot):
    assert plot_size(FUNCTIONS[function], *room) == plot
    x0, x1, y0, y1 = FUNCTIONS[function].extent
    stretch = (plot[0] / plot[1]) / (2 * (x1 - x0) / (y1 - y0))
    assert 1 / MAX_STRETCH - 0.05 <= stretch <= MAX_STRETCH + 0.05
    lines = surface_lines(function, {}, *room, colour=False)  # the last line: the legend
    assert len(lines) <= room[1] and all(
        len("".join(text_rows([line]))) == room[0] for line in lines[:-1]
    )


def test_bands_rise_from_the_minimum():
    bands = surface_bands(FUNCTIONS["bowl"], 40, 15)
    assert bands[7, 19] == bands.min() and bands.max() == BANDS - 1
    assert np.all(np.diff(bands[7, 20:]) >= 0) and np.all(np.diff(bands[7, :20]) <= 0)


def test_without_colour_the_band_edges_are_contour_dots():
    plot = text_rows(surface_lines("bowl", {}, WIDTH, HEIGHT, colour=False))[: HEIGHT - 1]
    assert set("".join(plot)) <= {".", " ", MINIMUM}
    middle = plot[len(plot) // 2]  # rings around the minimum: dots on both sides of it
    assert "".join(plot).count(MINIMUM) == 1 and MINIMUM in middle
    left, right = middle.split(MINIMUM)
    assert "." in left and "." in right


@pytest.mark.parametrize("limit", [4, 5])
def test_a_path_history_keeps_at_most_limit_points_and_the_latest(limit):
    path = PathHistory(limit=limit)
    path.add([{"step": k, "position": [k, -k], "surface": "bowl"} for k in range(50)])
    path.add([{"step": 50, "position": "damaged"}, {"step": 51}])
    xs, ys = path.points()
    assert path.function == "bowl" and path.count == 50
    assert len(xs) <= limit + 1 and xs[0] == 0 and xs[-1] == 49 and ys[-1] == -49
    assert xs == sorted(xs) and len(set(np.diff(xs[:-1]))) == 1  # evenly thinned
