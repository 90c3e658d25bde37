"""Half-block images: two pixels per cell with `▀` (fg = top pixel, bg = bottom pixel).

Styles are cached per (top, bottom) colour pair and runs of equal style merged into one
segment; strips are built when data arrives, never in `render_line`.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from ...render.charts import diverging, gray, quantize, rescale, symmetric_levels

GRAY = gray()
DIVERGING = diverging()
_STYLES: dict[tuple[str | None, str | None], Style] = {}


def _style(top: str | None, bottom: str | None) -> Style:
    key = (top, bottom)
    style = _STYLES.get(key)
    if style is None:
        style = _STYLES[key] = Style(color=top, bgcolor=bottom)
    return style


def image_rows(pixels: list[list[str | None]]) -> list[list[Segment]]:
    """Segments per text row for a grid of colours (`None` = blank), two pixel rows per line."""
    lines = []
    for r in range(0, len(pixels), 2):
        top = pixels[r]
        bottom = pixels[r + 1] if r + 1 < len(pixels) else [None] * len(top)
        segments: list[Segment] = []
        run_style, run = None, 0
        for t, b in zip(top, bottom, strict=True):
            char_style = _style(t, b) if t or b else None
            if char_style is run_style:
                run += 1
                continue
            if run:
                segments.append(_segment(run, run_style))
            run_style, run = char_style, 1
        if run:
            segments.append(_segment(run, run_style))
        lines.append(segments)
    return lines


def _segment(run: int, style: Style | None) -> Segment:
    if style is None:  # styled all the same: Textual's NO_COLOR filter reads every style
        return Segment(" " * run, Style())
    if style.color is None:  # only the bottom pixel: draw the lower half block in its colour
        return Segment("▄" * run, Style(color=style.bgcolor))
    return Segment("▀" * run, style)


def levels_to_pixels(levels: np.ndarray, palette: list[str]) -> list[list[str | None]]:
    """(H, W) ints (-1 = blank) to colour names."""
    return [[palette[v] if v >= 0 else None for v in row] for row in levels.tolist()]


def gray_tile(image: np.ndarray, zoom: Fraction) -> list[list[str | None]]:
    """A (H, W) image at `zoom` in gray, black to white over its own range."""
    image = rescale(image, zoom)
    return levels_to_pixels(quantize(image, image.min(), image.max(), len(GRAY)), GRAY)


def signed_tile(image: np.ndarray, zoom: Fraction, scale: float) -> list[list[str | None]]:
    """A (H, W) signed image at `zoom` in diverging colours: 0 neutral, -`scale` and `scale`
    the deepest blue and red."""
    levels = symmetric_levels(rescale(image, zoom), scale, len(DIVERGING))
    return levels_to_pixels(levels, DIVERGING)


def legend(pieces: list[tuple[str, str | None]], style: str = "dim") -> Text:
    """(text, colour) pieces as one line: plain pieces in `style`, coloured ones in theirs."""
    line = Text(no_wrap=True)
    for text, colour in pieces:
        line.append(text, style=colour or style)
    return line


def compose(
    tiles: list[list[list[str | None]]], columns: int, gap: int = 1
) -> list[list[str | None]]:
    """Lay equally sized pixel tiles out in a grid, `gap` blank pixels between them."""
    if not tiles:
        return []
    th, tw = len(tiles[0]), len(tiles[0][0])
    rows = -(-len(tiles) // columns)
    height = rows * th + (rows - 1) * gap * 2
    width = columns * tw + (columns - 1) * gap
    canvas: list[list[str | None]] = [[None] * width for _ in range(height)]
    for k, tile in enumerate(tiles):
        r0 = (k // columns) * (th + gap * 2)
        c0 = (k % columns) * (tw + gap)
        for r in range(th):
            canvas[r0 + r][c0 : c0 + tw] = tile[r]
    return canvas


def to_strips(lines: list[list[Segment]]) -> list[Strip]:
    return [Strip(segments) for segments in lines]
