"""`FilterGrid`: a conv layer's filters as small half-block images (diverging colours, each
filter scaled by its own largest |weight|, so 0 is the middle colour), and the feature maps
one input produces."""

from __future__ import annotations

import numpy as np
from rich.text import Text

from ..charts import block_average, diverging, symmetric_levels
from .halfblock import compose, levels_to_pixels
from .imageview import ImageView

_PALETTE = diverging()


def tiles(images: np.ndarray, max_side: int) -> list[list[list[str | None]]]:
    """(K, H, W) signed images to pixel tiles of at most `max_side` per side."""
    return [
        levels_to_pixels(symmetric_levels(block_average(image, max_side)), _PALETTE)
        for image in images
    ]


class FilterGrid(ImageView):
    EMPTY = "filters appear for models with a conv2d layer"

    def set_filters(self, name: str, W: np.ndarray, maps: np.ndarray | None = None) -> None:
        """Show the filters (and the feature maps of one input).

        Args:
            name: the conv layer's name.
            W: (out_channels, in_channels, KH, KW) weights; input channels are averaged.
            maps: (C, H, W) feature maps of one input, or None.
        """
        width = max(8, self.size.width or 40)
        filters = W.mean(axis=1) if W.ndim == 4 else W
        pixels = _grid(tiles(filters, 7), width)
        caption = Text(f"{name}: {len(filters)} filters {W.shape[-2]}x{W.shape[-1]}", style="dim")
        after: list[Text] = []
        if maps is not None and len(maps):
            after.append(Text(f"feature maps of one input ({maps.shape[0]})", style="dim"))
            maps_pixels = _grid(tiles(maps[: len(filters)], 8), width)
            # one image: filters, a blank pixel row pair, then the maps
            pixels = pixels + [[None] * len(pixels[0])] * 2 + _pad(maps_pixels, len(pixels[0]))
        self.show_pixels(_pad(pixels, max(len(row) for row in pixels)), before=[caption],
                         after=after)  # fmt: skip


def _grid(tile_list: list, width: int) -> list[list[str | None]]:
    columns = max(1, min(len(tile_list), (width + 1) // (len(tile_list[0][0]) + 1)))
    return compose(tile_list, columns)


def _pad(pixels: list[list[str | None]], width: int) -> list[list[str | None]]:
    return [row + [None] * (width - len(row)) for row in pixels]
