"""`FilterGrid`: a conv layer's filters as small half-block images (diverging colours, each
filter scaled by its own largest |weight|, so 0 is the middle colour), and the feature maps
it makes of one probe input, shown beside that input."""

from __future__ import annotations

import numpy as np
from rich.text import Text

from ...render.charts import block_average, diverging, gray, quantize, symmetric_levels
from ...session.messages import FeatureMaps, Filters
from .halfblock import compose, levels_to_pixels
from .imageview import ImageView, Pixels

_PALETTE = diverging()
_GRAY = gray()
FILTER_SIDE = 6  # filters smaller than this are enlarged (a 3x3 kernel becomes 6x6 pixels)
MAP_SIDES = (14, 8, 5)  # feature-map sizes tried, largest first, until the panel fits


def tiles(images: np.ndarray, max_side: int, min_side: int = 1) -> list[Pixels]:
    """(K, H, W) signed images to pixel tiles: shrunk to at most `max_side` per side, small
    ones enlarged by a whole factor towards `min_side`."""
    out = []
    for image in images:
        small = block_average(image, max_side)
        factor = max(1, min_side // max(small.shape))
        big = np.kron(small, np.ones((factor, factor)))
        out.append(levels_to_pixels(symmetric_levels(big), _PALETTE))
    return out


def input_tile(image: np.ndarray, max_side: int) -> Pixels:
    """A (C, H, W) input as a gray tile (channels averaged), scaled to its own range."""
    small = block_average(image.mean(axis=0), max_side)
    return levels_to_pixels(quantize(small, small.min(), small.max() + 1e-9), _GRAY)


def filter_title(filters: Filters, maps: FeatureMaps | None) -> str:
    """The panel title: layer, weight shape, which conv layer of how many, and the input."""
    shape = "x".join(str(n) for n in filters.W.shape)
    where = f", {filters.index + 1} of {filters.count}" if filters.count > 1 else ""
    title = f"filters {filters.name} ({shape}{where})"
    if maps is not None:
        title += f" · input #{maps.input}"
        if maps.label is not None:
            title += f" label {maps.label}"
    return title


class FilterGrid(ImageView):
    EMPTY = "filters appear for models with a conv2d layer"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.filters: Filters | None = None
        self.maps: FeatureMaps | None = None

    def set_filters(self, filters: Filters, maps: FeatureMaps | None = None) -> None:
        """Show a probe's filters (input channels averaged) and feature maps (or none)."""
        self.filters, self.maps = filters, maps
        self.redraw()

    def has_data(self) -> bool:
        return self.filters is not None

    def layout_key(self) -> tuple[int, int]:
        return self.size.width, self._room()

    def _room(self) -> int:
        """Rows the enclosing panel offers (0: not known yet)."""
        parent = self.parent
        return parent.scrollable_content_region.height if parent is not None else 0

    def redraw(self) -> None:
        if self.filters is None or not self.size.width:
            return
        width = self.size.width
        W = self.filters.W
        kernels = W.mean(axis=1) if W.ndim == 4 else W
        blocks: list = [_grid(tiles(kernels, 7, FILTER_SIDE), width)]
        maps = self.maps
        if maps is not None and len(maps.maps):
            room = self._room() - _rows(blocks[0]) - 1
            for side in MAP_SIDES:  # the largest maps that fit; else the panel scrolls
                map_tiles = tiles(maps.maps, side)
                fit = max(len(map_tiles[0]), len(map_tiles[0][0]))  # the input, as large
                grid = _grid([input_tile(maps.image, fit), *map_tiles], width)
                if _rows(grid) <= room:
                    break
            caption = f"input #{maps.input} → its {len(maps.maps)} feature maps"
            blocks += [Text(caption, style="dim"), grid]
        self.show(blocks)


def _grid(tile_list: list[Pixels], width: int) -> Pixels:
    """Tiles in as many columns as `width` holds; smaller tiles padded to the largest."""
    th = max(len(tile) for tile in tile_list)
    tw = max(len(tile[0]) for tile in tile_list)
    padded = [
        [row + [None] * (tw - len(row)) for row in tile] + [[None] * tw] * (th - len(tile))
        for tile in tile_list
    ]
    columns = max(1, min(len(padded), (width + 1) // (tw + 1)))
    return compose(padded, columns)


def _rows(pixels: Pixels) -> int:
    return (len(pixels) + 1) // 2
