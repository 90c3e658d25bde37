"""Samples as character grids for `tuidl data show` (no terminal library here).

A grid is a list of rows; each cell is `(char, fg, bg)` with colours as (r, g, b) tuples or
None. The CLI turns grids into rich text on a colour terminal, or keeps only the characters.
Images use half blocks: one `▀` per two pixels stacked, fg = top pixel, bg = bottom pixel.
Without colour they use `ascii_image`, a shade ramp with one character per pixel column and
each text row averaging two pixel rows (so the aspect ratio stays about right).
"""

from __future__ import annotations

import numpy as np

RGB = tuple[int, int, int]
Cell = tuple[str, RGB | None, RGB | None]
Grid = list[list[Cell]]

HALF_BLOCK = "▀"
SHADES = " .:-=+*#%@"
MARKERS = "ox+*#@%&=~$^"
PALETTE: list[RGB] = [
    (230, 90, 70), (70, 140, 230), (90, 200, 90), (240, 190, 50), (180, 100, 220),
    (60, 200, 200), (240, 130, 180), (160, 160, 160), (200, 140, 70), (130, 200, 30),
    (250, 250, 250), (120, 120, 250),
]  # fmt: skip


def to_display(image: np.ndarray) -> np.ndarray:
    """(C, H, W) or (H, W) sample -> (H, W) or (H, W, 3) values in [0, 1].

    Values already in [0, 1] are kept (pixels stay comparable across samples); anything else
    is min-max scaled per image.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3:
        image = image.transpose(1, 2, 0) if image.shape[0] == 3 else image[0]
    low, high = image.min(), image.max()
    if low < 0 or high > 1:
        image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    return image


def scale_up(image: np.ndarray, factor: int) -> np.ndarray:
    """Each pixel repeated `factor` times in both directions (small images stay readable)."""
    return image.repeat(factor, axis=0).repeat(factor, axis=1) if factor > 1 else image


def _rgb(value: np.ndarray) -> RGB:
    value = np.clip(value, 0, 1) * 255
    if np.ndim(value) == 0:
        v = int(round(float(value)))
        return v, v, v
    r, g, b = (int(round(float(c))) for c in value)
    return r, g, b


def block_image(image: np.ndarray) -> Grid:
    """Half-block cells for an (H, W) or (H, W, 3) image in [0, 1]; an odd last row pads black."""
    if len(image) % 2:
        image = np.concatenate([image, np.zeros_like(image[:1])])
    return [
        [(HALF_BLOCK, _rgb(image[r, c]), _rgb(image[r + 1, c])) for c in range(image.shape[1])]
        for r in range(0, len(image), 2)
    ]


def ascii_image(image: np.ndarray) -> Grid:
    """Shade-ramp cells for an (H, W) or (H, W, 3) image in [0, 1], two pixel rows per line."""
    if image.ndim == 3:
        image = image.mean(axis=2)
    if len(image) % 2:
        image = np.concatenate([image, np.zeros_like(image[:1])])
    pairs = (image[0::2] + image[1::2]) / 2
    index = np.clip((pairs * len(SHADES)).astype(int), 0, len(SHADES) - 1)
    return [[(SHADES[i], None, None) for i in row] for row in index]


def text_cells(text: str, width: int, fg: RGB | None = None) -> list[Cell]:
    """`text` cut or padded to `width` cells."""
    text = text[:width].ljust(width)
    return [(ch, fg, None) for ch in text]


def tile(grids: list[Grid], labels: list[str], gap: int = 2) -> Grid:
    """Grids side by side, each under its label, bottoms padded with blank rows."""
    height = max(len(g) for g in grids) + 1
    widths = [max(len(g[0]) if g else 0, 1) for g in grids]
    rows: Grid = [[] for _ in range(height)]
    for k, (grid, label, width) in enumerate(zip(grids, labels, widths, strict=True)):
        block = [text_cells(label, width)] + grid
        block += [text_cells("", width)] * (height - len(block))
        for r in range(height):
            rows[r].extend(block[r])
            if k < len(grids) - 1:
                rows[r].extend(text_cells("", gap))
    return rows


def image_rows(images: np.ndarray, labels: list[str], width: int, colour: bool) -> list[Grid]:
    """Images (N, C, H, W) as rows of labelled tiles that fit in `width` columns.

    Images under 16 pixels high are scaled up by whole factors (digits' 8x8 become 16x16).
    """
    factor = max(1, 16 // images.shape[2])
    tile_width = images.shape[3] * factor
    per_row = max(1, (width + 2) // (tile_width + 2))
    render = block_image if colour else ascii_image
    rows = []
    for start in range(0, len(images), per_row):
        chunk = range(start, min(start + per_row, len(images)))
        grids = [render(scale_up(to_display(images[i]), factor)) for i in chunk]
        rows.append(tile(grids, [labels[i] for i in chunk]))
    return rows


def symbol_lines(x: np.ndarray, y: np.ndarray, names: list[str], count: int, tail: int = 40):
    """One-hot samples (N, T, V) with next-symbol labels (N, T) as text: input, then next.

    Padding steps (all-zero rows) are dropped; only the last `tail` steps are shown; spaces,
    newlines and other invisible characters get visible stand-ins.
    """
    lines = []
    for i in range(min(count, len(x))):
        present = x[i].max(axis=-1) > 0
        shown = [names[j] for j in x[i][present].argmax(axis=-1)][-tail:]
        nexts = [names[j] for j in y[i][present]][-tail:]
        lines += [f"sample {i}:", f"  input  {_visible(shown)}", f"  next   {_visible(nexts)}"]
    return lines


def _visible(symbols: list[str]) -> str:
    special = {"\n": "⏎", "\t": "⇥", " ": "·", "\r": "␍"}
    return "".join(special.get(s, s if s.isprintable() else "?") for s in symbols)


def scatter(
    x: np.ndarray, y: np.ndarray, width: int = 60, height: int = 22, colour: bool = True
) -> Grid:
    """2D points (N, 2) with integer labels (N,) in a framed grid; one marker per class.

    Classes keep their marker without colour, so the plain version reads as well.
    """
    x = np.asarray(x, dtype=np.float64)
    low, high = x.min(axis=0), x.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    cols = np.clip(((x[:, 0] - low[0]) / span[0] * (width - 1)).round().astype(int), 0, width - 1)
    rows = np.clip(
        ((high[1] - x[:, 1]) / span[1] * (height - 1)).round().astype(int), 0, height - 1
    )
    grid: Grid = [[(" ", None, None) for _ in range(width)] for _ in range(height)]
    for r, c, label in zip(rows, cols, y, strict=True):
        label = int(label)
        fg = PALETTE[label % len(PALETTE)] if colour else None
        grid[r][c] = (MARKERS[label % len(MARKERS)], fg, None)
    return frame(grid, f"x1 {low[0]:.2f} .. {high[0]:.2f}", f"x2 {low[1]:.2f} .. {high[1]:.2f}")


def frame(grid: Grid, bottom: str, top: str) -> Grid:
    """A box around a grid, with captions on its top and bottom edges."""
    width = len(grid[0])

    def edge(left: str, right: str, caption: str) -> list[Cell]:
        line = (f"─ {caption} " if caption else "").ljust(width, "─")[:width]
        return [(left, None, None)] + [(ch, None, None) for ch in line] + [(right, None, None)]

    body = [[("│", None, None)] + row + [("│", None, None)] for row in grid]
    return [edge("┌", "┐", top)] + body + [edge("└", "┘", bottom)]


def line_chart(
    values: np.ndarray,
    width: int = 60,
    height: int = 8,
    colour: bool = True,
    marks: np.ndarray | None = None,
    extra: float | None = None,
) -> Grid:
    """One series (T,) as points in a framed grid, `extra` (the target) drawn after it as `@`.

    Short series are stretched to fill `width`; long ones are averaged into `width` columns.
    `marks` (T,) of booleans puts `^` under the marked steps (the adding problem's numbers).
    """
    data = np.asarray(values, dtype=np.float64)
    if extra is not None:
        data = np.append(data, extra)
    T = len(data)
    columns = T * max(1, width // T) if T <= width else width
    starts = np.arange(columns) * T // columns
    stops = np.maximum((np.arange(columns) + 1) * T // columns, starts + 1)
    low, high = float(data.min()), float(data.max())
    span = high - low if high > low else 1.0
    grid: Grid = [[(" ", None, None) for _ in range(columns)] for _ in range(height)]
    under: list[Cell] = [(" ", None, None)] * columns
    for c, (start, stop) in enumerate(zip(starts, stops, strict=True)):
        value = float(data[start:stop].mean())
        r = int(round((high - value) / span * (height - 1)))
        if extra is not None and stop == T and start == T - 1:
            grid[r][c] = ("@", PALETTE[0] if colour else None, None)
        else:
            grid[r][c] = ("•" if colour else "*", PALETTE[1] if colour else None, None)
        if marks is not None and np.any(marks[start : min(stop, len(marks))]):
            under[c] = ("^", PALETTE[0] if colour else None, None)
    if marks is not None:
        grid.append(under)
    return frame(grid, f"{len(values)} steps", f"{low:.2f} .. {high:.2f}")
