"""`FilterGrid`: a conv layer's filters as half-block images, and the feature maps it makes
of one probe input, shown beside that input.

Filters and maps are each drawn on one diverging colour scale centred on 0 (blue negative,
red positive, up to the largest |value| shown), named in a legend above them, so filters can
be compared with each other; they are enlarged (each weight an n x n block of pixels) or
averaged down to whole-number scales as large as the panel fits (`charts.filter_zooms`).
"""

from __future__ import annotations

from ...render.charts import filter_zooms, fit_zoom, grid_columns, scale_legend, signed_scale
from ...session.messages import FeatureMaps, Filters
from .halfblock import DIVERGING, compose, gray_tile, legend, signed_tile
from .imageview import ImageView, Pixels

MAP_QUANTILE = 0.99  # the maps' scale ends there: a few strong responses clip, the rest show


def filter_title(filters: Filters, maps: FeatureMaps | None) -> str:
    """The panel title: layer, weight shape, which conv layer of how many, and the input."""
    shape = "x".join(str(n) for n in filters.W.shape)
    where = f", {filters.index + 1} of {filters.count}" if filters.count > 1 else ""
    title = f"filters {filters.name} ({shape}{where})"
    if filters.per_unit:
        units, picture = filters.W.shape[0], "x".join(str(n) for n in filters.W.shape[1:])
        title = f"weights {filters.name}: a {picture} picture per unit ({units}{where})"
    if maps is not None:
        title += f" · input #{maps.input}"
        if maps.label is not None:
            title += f" label {maps.label}"
    return title


class FilterGrid(ImageView):
    EMPTY = "filters appear for models with a conv2d layer (or a dense layer on images)"

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

    def redraw(self) -> None:
        if self.filters is None or not self.size.width:
            return
        width = self.size.width
        W = self.filters.W
        kernels = W.mean(axis=1) if W.ndim == 4 else W  # input channels averaged
        maps = self.maps if self.maps is not None and len(self.maps.maps) else None
        map_tiles = None if maps is None else (maps.maps.shape[1:], len(maps.maps) + 1)
        fz, mz = filter_zooms(kernels.shape[1:], len(kernels), map_tiles, width, self.room())
        scale = signed_scale(kernels)
        blocks: list = [
            legend([("weights ", None), *scale_legend(scale, DIVERGING)]),
            _grid([signed_tile(k, fz, scale) for k in kernels], width),
        ]
        if maps is not None and mz is not None:
            scale = signed_scale(maps.maps, MAP_QUANTILE)
            tiles = [signed_tile(m, mz, scale) for m in maps.maps]
            side = max(len(tiles[0]), len(tiles[0][0]))  # the input, as large
            image = maps.image.mean(axis=0)
            caption = f"input #{maps.input} → maps "  # short: all of it fits at 120 columns
            blocks += [
                legend([(caption, None), *scale_legend(scale, DIVERGING)]),
                _grid([gray_tile(image, fit_zoom(image.shape, side)), *tiles], width),
            ]
        self.show(blocks)


def _grid(tile_list: list[Pixels], width: int) -> Pixels:
    """Tiles in as many columns as `width` holds; smaller tiles padded to the largest."""
    th = max(len(tile) for tile in tile_list)
    tw = max(len(tile[0]) for tile in tile_list)
    padded = [
        [row + [None] * (tw - len(row)) for row in tile] + [[None] * tw] * (th - len(tile))
        for tile in tile_list
    ]
    return compose(padded, grid_columns(len(padded), tw, width))
