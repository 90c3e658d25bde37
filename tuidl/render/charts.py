"""Drawing maths for the widgets, as plain functions (no Textual): tested without Pilot.

- `minmax_downsample`: a long series to at most 2 points per bin, spikes kept.
- `braille_plot`: polylines rasterised onto a braille canvas (2x4 dots per cell).
- `log_fraction`, `log_range`: log scales for gradient bars and heatmaps.
- `bin_means`: a layer x step matrix (its sums and counts) averaged down to a number of columns.
- `ramp`, `diverging`, `quantize`: colour maps as hex strings, quantised to cached levels.
- `zoom_steps`, `rescale`, `grid_height`, `strip_zoom`, `filter_zooms`: images at whole-number
  scales (each value an n x n block of pixels, or n x n values averaged into one) as large as
  the room allows, laid out in grids of half-block cells (two pixel rows per text row).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

# log10 of the smallest and largest gradient norm the heatmap and the bars draw, the same for
# every run so two runs' pictures compare: the presets' whole runs stay inside (deep-sigmoid's
# first layer from 7e-7, adding-rnn up to 93); exploding-rnn clips at the top
GRADIENT_DECADES = (-7, 2)

# braille dot bits by (row, column) inside a cell: U+2800 + sum of bits
BRAILLE_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.int32)
LEVELS = 32  # colour levels of heatmaps and images (styles are cached per level)

# the colours of series (curves, paths, a race's variants), in order
PALETTE = ["#4e9af1", "#f5a623", "#7ed321", "#e8456b", "#bd7af5", "#50e3c2", "#f8e71c", "#ffffff"]


def minmax_downsample(x: np.ndarray, y: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """At most `2 * bins` points: per bin of equal index width, its min and its max in order.

    Args:
        x: (N,) increasing x values.
        y: (N,) values; non-finite ones are dropped first.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) <= 2 * bins or bins < 1:
        return x, y
    edges = np.linspace(0, len(x), bins + 1).astype(np.int64)  # len(x) > 2 bins: none empty
    keep = extreme_picks(y, edges[:-1])
    return x[keep], y[keep]


def extreme_picks(y: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Indices of the first min and first max of each group of finite `y`, in order, each once;
    groups are consecutive and non-empty, beginning at the increasing indices `starts`."""
    group = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(y))))
    picks = []
    for extreme in (np.minimum, np.maximum):
        hits = np.flatnonzero(y == extreme.reduceat(y, starts)[group])
        hit_groups = group[hits]  # non-decreasing; every group has a hit
        picks.append(hits[np.concatenate([[True], hit_groups[1:] != hit_groups[:-1]])])
    return np.unique(np.concatenate(picks))  # sorted: in order; a min that is the max once


def nice_range(lo: float, hi: float) -> tuple[float, float]:
    """A non-empty range around [lo, hi] (a flat series gets a margin)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return 0.0, 1.0
    if hi - lo < 1e-12:
        pad = abs(lo) * 0.1 or 1.0
        return lo - pad, hi + pad
    return lo, hi


def braille_plot(
    series: list[tuple[np.ndarray, np.ndarray]],
    width: int,
    height: int,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
) -> tuple[list[str], np.ndarray]:
    """Rasterise polylines onto `width` x `height` cells of braille dots.

    Args:
        series: (x, y) arrays per series, drawn in order (later ones win a shared cell's colour).
        width, height: canvas size in cells (2 x 4 dots each).
        x_range, y_range: the data ranges mapped to the canvas edges.

    Returns:
        (rows of `width` characters, owner (height, width) int array: the index of the series
        coloring each cell, -1 where empty).
    """
    dots_w, dots_h = 2 * width, 4 * height
    bits = np.zeros((height, width), dtype=np.int32)
    owner = np.full((height, width), -1, dtype=np.int32)
    x0, x1 = x_range
    y0, y1 = y_range
    for index, (x, y) in enumerate(series):
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        if len(x) == 0 or width < 1 or height < 1:
            continue
        px = np.clip(np.round((x - x0) / (x1 - x0 or 1.0) * (dots_w - 1)), 0, dots_w - 1)
        py = np.clip(np.round((y1 - y) / (y1 - y0 or 1.0) * (dots_h - 1)), 0, dots_h - 1)
        column, top, bottom = polyline_runs(px.astype(np.int64), py.astype(np.int64))
        # fill each run [top, bottom] of its column: +1 at top, -1 below bottom, cumulative sum
        flat = dots_w * (dots_h + 1)
        marks = np.bincount(top * dots_w + column, minlength=flat)
        marks -= np.bincount((bottom + 1) * dots_w + column, minlength=flat)
        canvas = np.cumsum(marks.reshape(dots_h + 1, dots_w)[:dots_h], axis=0) > 0
        cells = canvas.reshape(height, 4, width, 2)
        mine = np.einsum("hrwc,rc->hw", cells.astype(np.int32), BRAILLE_BITS)
        bits |= mine
        owner[mine > 0] = index
    codes = np.where(bits > 0, 0x2800 + bits, 0x20).astype("<u4")
    rows = [row.tobytes().decode("utf-32-le") for row in codes]
    return rows, owner


def polyline_runs(px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The dots of a polyline through integer points, as vertical runs (column, top, bottom).

    The first point is a dot. A vertical segment covers its column between its ends. Any other
    segment puts one dot per column it spans, at its rounded interpolated y, and a column whose
    dot is more than one row from the previous column's is joined to it by a vertical run (so
    steep segments stay connected). Vectorised over all segments at once.
    """
    xa, xb, ya, yb = px[:-1], px[1:], py[:-1], py[1:]
    vertical = xb == xa
    runs_col = [px[:1], xa[vertical]]
    runs_top = [py[:1], np.minimum(ya, yb)[vertical]]
    runs_bottom = [py[:1], np.maximum(ya, yb)[vertical]]
    sloped = ~vertical
    xa, xb, ya, yb = xa[sloped], xb[sloped], ya[sloped], yb[sloped]
    if len(xa):
        lengths = np.abs(xb - xa) + 1
        segment = np.repeat(np.arange(len(xa)), lengths)
        offset = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        cols = np.minimum(xa, xb)[segment] + offset
        xa, xb, ya, yb = xa[segment], xb[segment], ya[segment], yb[segment]
        ys = np.round(ya + (yb - ya) * (cols - xa) / (xb - xa)).astype(np.int64)
        previous = np.concatenate([ys[:1], ys[:-1]])
        joined = (offset > 0) & (np.abs(ys - previous) > 1)
        runs_col.append(cols)
        runs_top.append(np.where(joined, np.minimum(ys, previous), ys))
        runs_bottom.append(np.where(joined, np.maximum(ys, previous), ys))
    return np.concatenate(runs_col), np.concatenate(runs_top), np.concatenate(runs_bottom)


def log_range(values: np.ndarray, min_decades: float = 2.0) -> tuple[float, float]:
    """(lo, hi) in log10 covering the positive finite `values`, whole decades, at least
    `min_decades` wide; (-3, 0) when there are none."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return -3.0, 0.0
    lo = math.floor(math.log10(values.min()))
    hi = math.ceil(math.log10(values.max()))
    if hi - lo < min_decades:
        lo = hi - min_decades
    return float(lo), float(hi)


def log_fraction(value: float, lo: float, hi: float) -> float:
    """Where `value` sits on a log10 axis from 10**lo to 10**hi, clipped to [0, 1]."""
    if not math.isfinite(value):
        return 1.0
    if value <= 0:
        return 0.0
    return min(1.0, max(0.0, (math.log10(value) - lo) / ((hi - lo) or 1.0)))


def bin_means(sums: np.ndarray, counts: np.ndarray, columns: int) -> np.ndarray:
    """Means of (rows, steps) sums over counts (NaN where a count is 0), the steps first added
    up in <= `columns` equal-width bins."""
    steps = sums.shape[1]
    if steps > columns >= 1:
        starts = np.linspace(0, steps, columns + 1).astype(np.int64)[:-1]  # none empty
        sums = np.add.reduceat(sums, starts, axis=1)
        counts = np.add.reduceat(counts, starts, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def quantize(values: np.ndarray, lo: float, hi: float, levels: int = LEVELS) -> np.ndarray:
    """Map values in [lo, hi] to ints 0..levels-1 (clipped); NaN maps to -1."""
    values = np.asarray(values, dtype=np.float64)
    scaled = (values - lo) / ((hi - lo) or 1.0)
    out = np.clip(np.floor(scaled * levels), 0, levels - 1)
    return np.where(np.isfinite(values), out, -1).astype(np.int64)


def _mix(stops: list[tuple[int, int, int]], levels: int) -> list[str]:
    colours = []
    for k in range(levels):
        t = k / (levels - 1) * (len(stops) - 1)
        i = min(int(t), len(stops) - 2)
        f = t - i
        a, b = stops[i], stops[i + 1]
        rgb = [round(a[c] + (b[c] - a[c]) * f) for c in range(3)]
        colours.append("#{:02x}{:02x}{:02x}".format(*rgb))
    return colours


def ramp(levels: int = LEVELS) -> list[str]:
    """A dark-to-bright sequential map (inferno-like) for magnitudes: dark = small."""
    stops = [(0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66),
             (245, 125, 21), (250, 193, 39), (252, 255, 164)]  # fmt: skip
    return _mix(stops, levels)


def diverging(levels: int = LEVELS - 1) -> list[str]:
    """Blue (negative) - near white - red (positive), for signed values such as weights.

    An odd number of levels gives zero a level of its own, the neutral middle one, with `v` and
    `-v` as far from it on either side. The colours are far enough apart that 256-colour
    terminals keep about eight distinct shades a side (blues and reds, not grays).
    """
    return _mix([(33, 102, 172), (146, 197, 222), (240, 240, 240), (244, 165, 130),
                 (178, 24, 43)], levels)  # fmt: skip


def gray(levels: int = LEVELS) -> list[str]:
    """Black to white, for input images."""
    return _mix([(0, 0, 0), (255, 255, 255)], levels)


def symmetric_levels(
    image: np.ndarray, scale: float | None = None, levels: int = LEVELS
) -> np.ndarray:
    """Quantise a signed image so 0 is the middle level and -`scale`, `scale` the two ends
    (values beyond them are clipped); `scale` defaults to the image's largest |value|."""
    image = np.asarray(image, dtype=np.float64)
    if scale is None:
        scale = signed_scale(image)
    if scale == 0 or not math.isfinite(scale):
        return np.full(image.shape, levels // 2, dtype=np.int64)
    return quantize(image, -scale, scale, levels)


def signed_scale(values: np.ndarray, quantile: float = 1.0) -> float:
    """The ends of a diverging scale centred on 0 for `values`: the `quantile` of their finite
    |values| (1: the largest; a little less keeps a few outliers from washing the rest out);
    0 for none."""
    values = np.abs(np.asarray(values, dtype=np.float64))
    values = values[np.isfinite(values)]
    return float(np.quantile(values, quantile)) if values.size else 0.0


def scale_legend(scale: float, palette: list[str], cells: int = 3) -> list[tuple[str, str | None]]:
    """A diverging scale's legend, `-0.31 ◀███ 0 ███▶ +0.31`, as (text, colour) pieces: `cells`
    swatches a side from the palette's ends towards its neutral middle (colour None: plain)."""
    number = f"{scale:.2f}" if 0.01 <= scale < 100 else f"{scale:.1e}"
    middle = len(palette) // 2
    picks = np.linspace(0, middle, cells + 1).round().astype(int)[:-1]  # ends first, no middle
    pieces: list[tuple[str, str | None]] = [(f"−{number} ", None), ("◀", palette[0])]
    pieces += [("█", palette[k]) for k in picks]
    pieces += [(" 0 ", None)]
    pieces += [("█", palette[-1 - k]) for k in picks[::-1]]
    pieces += [("▶", palette[-1]), (f" +{number}", None)]
    return pieces


def decade_legend(lo: int, hi: int, palette: list[str]) -> list[tuple[str, str | None]]:
    """A log colour scale's legend, `≤1e-7 ██████████ ≥1e+2`, as (text, colour) pieces: one
    swatch per decade from 10**lo to 10**hi, the colour `quantize` gives it (None: plain)."""
    levels = quantize(np.arange(lo, hi + 1), lo, hi, len(palette))
    swatches = [("█", palette[k]) for k in levels.tolist()]
    return [(f"≤1e{lo:+d} ", None), *swatches, (f" ≥1e{hi:+d}", None)]


def block_average(image: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink a (H, W) image by an integer factor so both sides are <= `max_side`."""
    h, w = image.shape
    factor = max(1, math.ceil(max(h, w) / max_side))
    if factor == 1:
        return image
    hh, ww = -(-h // factor) * factor, -(-w // factor) * factor
    padded = np.zeros((hh, ww), dtype=np.float64)
    padded[:h, :w] = image
    return padded.reshape(hh // factor, factor, ww // factor, factor).mean(axis=(1, 3))


MAX_ZOOM = 8  # the largest enlargement: a 3x3 filter at most 24 pixels a side
FILTER_TARGET = 12  # pixels a side at which a filter reads well (a 3x3 one at 4x, 5x5 at 2x)
MAP_TARGET = 14  # the same for a feature map: larger maps need not be shown whole


def zoom_steps(side: int) -> list[Fraction]:
    """The scales for an image whose longer side is `side`, largest first: n (each value an
    n x n block of pixels) down to 1, then 1/n (n x n values averaged into one pixel) for the
    factors that give distinct sizes, down to one pixel."""
    ups = [Fraction(n) for n in range(MAX_ZOOM, 0, -1)]
    factors = sorted({-(-side // s) for s in range(1, side)})  # block_average's factors
    return ups + [Fraction(1, f) for f in factors]


def scaled_shape(shape: tuple[int, int], zoom: Fraction) -> tuple[int, int]:
    """(height, width) in pixels of an image of `shape` drawn at `zoom`."""
    h, w = shape
    if zoom >= 1:
        return h * int(zoom), w * int(zoom)
    f = zoom.denominator
    return -(-h // f), -(-w // f)


def rescale(image: np.ndarray, zoom: Fraction) -> np.ndarray:
    """A (H, W) image at `zoom`: each value repeated into an n x n block, or blocks averaged."""
    image = np.asarray(image, dtype=np.float64)
    if zoom >= 1:
        n = int(zoom)
        return np.repeat(np.repeat(image, n, axis=0), n, axis=1)
    return block_average(image, max(scaled_shape(image.shape, zoom)))


def fit_zoom(shape: tuple[int, int], side: int) -> Fraction:
    """The largest scale at which an image of `shape` is at most `side` pixels a side."""
    steps = zoom_steps(max(shape))
    return next((z for z in steps if max(scaled_shape(shape, z)) <= side), steps[-1])


def grid_columns(count: int, tile_width: int, width: int, gap: int = 1) -> int:
    """How many tiles `tile_width` pixels wide a row of `width` columns holds, `gap` apart
    (at least one, at most `count`): as `halfblock.compose` lays them out."""
    return max(1, min(count, (width + gap) // (tile_width + gap)))


def grid_height(count: int, tile: tuple[int, int], width: int, gap: int = 1) -> int:
    """Text rows of `count` tiles of `tile` (height, width) pixels laid out in `width` columns,
    rows of tiles `gap` text rows apart, two pixel rows per text row."""
    rows = -(-count // grid_columns(count, tile[1], width, gap))
    return -(-(rows * tile[0] + (rows - 1) * 2 * gap) // 2)


def strip_zoom(shape: tuple[int, int], count: int, width: int, rows: int) -> Fraction:
    """The scale for `count` images of `shape` in rows of images, each row of them followed by
    a text row (their labels), in `width` x `rows` cells.

    The largest enlargement (or their own size) at which all of them fit; failing that their
    own size, when one row of them fits (the rest scroll into view); failing that, the
    largest reduction at which one row fits; failing that, the smallest.
    """
    steps = zoom_steps(max(shape))

    def fits(zoom: Fraction, images: int) -> bool:
        h, w = scaled_shape(shape, zoom)
        image_rows = -(-images // grid_columns(images, w, width))
        return w <= width and image_rows * (-(-h // 2) + 1) <= rows

    enlarged = [z for z in steps if z >= 1 and fits(z, count)]
    if enlarged:
        return enlarged[0]
    return next((z for z in steps if z <= 1 and fits(z, 1)), steps[-1])


def filter_zooms(
    kernel: tuple[int, int],
    kernels: int,
    maps: tuple[tuple[int, int], int] | None,
    width: int,
    rows: int,
) -> tuple[Fraction, Fraction | None]:
    """Scales for a conv layer's filters and (if any) its feature maps in `width` x `rows`
    cells: a legend row, the filters' grid, then a caption row and the maps' grid.

    Filters are never averaged down (unless wider than the panel), maps not below half their
    target (the map's own size up to `MAP_TARGET` pixels a side). Of the pairs that fit, the
    one whose smaller part is the largest relative to its target (`FILTER_TARGET` for a
    filter), then the largest overall: filters are not enlarged at the cost of maps shrunk
    below their target, nor the other way round. When no pair fits: the filters as large as
    fit on their own, and below them, scrolled to, the maps at up to their target.

    Args:
        kernel: (height, width) of one filter; kernels: how many.
        maps: ((height, width) of one map tile, how many tiles), or None.
    """

    def grid(shape: tuple[int, int], count: int, zoom: Fraction) -> tuple[int, int, int]:
        """(text rows, pixels a side, pixel width) of `count` tiles of `shape` at `zoom`."""
        h, w = scaled_shape(shape, zoom)
        return grid_height(count, (h, w), width), max(h, w), w

    filter_steps = [z for z in zoom_steps(max(kernel)) if z >= 1 or kernel[1] > width]
    fitting = [z for z in filter_steps if grid(kernel, kernels, z)[2] <= width]
    alone = next((z for z in fitting if 1 + grid(kernel, kernels, z)[0] <= rows), filter_steps[-1])
    if maps is None:
        return alone, None
    map_shape, map_count = maps
    all_map_steps = zoom_steps(max(map_shape))
    map_steps = [z for z in all_map_steps if grid(map_shape, map_count, z)[2] <= width]
    target = min(max(map_shape), MAP_TARGET)
    best, best_key = None, None
    for fz in fitting:
        filter_rows, filter_side, _ = grid(kernel, kernels, fz)
        for mz in map_steps:
            map_rows, map_side, _ = grid(map_shape, map_count, mz)
            if 1 + filter_rows + 1 + map_rows > rows or 2 * map_side < target:
                continue
            relative = (filter_side / FILTER_TARGET, map_side / target)
            key = (min(relative), sum(relative), relative[1])  # a tie: the larger maps
            if best_key is None or key > best_key:
                best, best_key = (fz, mz), key
    if best is not None:
        return best
    small = (z for z in map_steps if grid(map_shape, map_count, z)[1] <= target)
    return alone, next(small, all_map_steps[-1])


def format_eta(seconds: float) -> str:
    """`1:02:03`, `4:05` or `--` for an unknown time."""
    if not math.isfinite(seconds) or seconds < 0:
        return "--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def short(value: float) -> str:
    """A number in at most 7 characters: `0.0123`, `1.2e-05`, `nan`."""
    if value is None or not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if 1e-2 <= abs(value) < 1e4:
        return f"{value:.4g}"
    return f"{value:.1e}"
