"""`ImageView`: a widget showing prebuilt half-block strips plus caption lines.

Subclasses turn their data into pixels in `redraw()` (on the UI thread, about once a second,
and again when a layout of the screen changes what their drawing depends on: their width, the
rows their panel offers, which other panels' contents change too) and call `show`;
`render_line` only returns a prebuilt strip. `show` repaints only this widget, and only when
the drawing changed; a full layout of the screen (~20 ms at 160x48) only when its size did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from .halfblock import image_rows
from .panel import ScrollPanel
from .textstrips import text_strip

Pixels = list[list[str | None]]


class ImageView(Widget):
    DEFAULT_CSS = """
    ImageView { height: auto; min-height: 1; }
    """

    EMPTY = "no image yet"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._strips: list[Strip] = []
        self._blocks: list = []  # what the strips were built from
        self._drawn_for: Any = None  # layout_key() of the current strips

    def layout_key(self) -> Any:
        """What the drawing depends on besides the data (a layout that changes it redraws)."""
        return self.size.width, self.room()

    def room(self) -> int:
        """Rows the enclosing panel offers its content: as many as it may grow to when its
        height follows its content (its max-height), else as many as it has; 0 before the
        first layout."""
        panel = next((node for node in self.ancestors if isinstance(node, ScrollPanel)), None)
        if panel is None or panel.parent is None:
            return self.size.height
        height, limit = panel.styles.height, panel.styles.max_height
        if height is not None and height.is_auto and limit is not None:
            rows = limit.resolve(panel.parent.content_size, self.app.size)
            return max(0, int(rows) - panel.gutter.height)
        return panel.scrollable_content_region.height

    def has_data(self) -> bool:
        return False

    def redraw(self) -> None:
        """Rebuild the strips from the last data (subclasses)."""

    def on_mount(self) -> None:
        self.screen.screen_layout_refresh_signal.subscribe(self, self._laid_out)

    def _laid_out(self, _screen) -> None:
        if self.has_data() and self.size.width and self._drawn_for != self.layout_key():
            self.redraw()

    def show(self, blocks: Sequence[Text | Pixels]) -> None:
        """Caption lines (`Text`) and pixel grids, top to bottom; each grid starts on a new row."""
        self._drawn_for = self.layout_key()
        blocks = list(blocks)
        if blocks == self._blocks:
            return
        console = self.app.console
        strips = []
        for block in blocks:
            if isinstance(block, Text):
                strips.append(text_strip(block, console))
            else:
                strips += [Strip(segments) for segments in image_rows(block)]
        size = self._content_size()
        self._blocks, self._strips = blocks, strips
        self.refresh(layout=self._content_size() != size)

    def _content_size(self) -> tuple[int, int]:
        return self.get_content_width(None, None), self.get_content_height(None, None, 0)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self._strips))

    def get_content_width(self, container, viewport) -> int:
        if not self._strips:
            return len(self.EMPTY)
        return max(strip.cell_length for strip in self._strips)

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        if not self._strips:
            if y == 0:
                return Strip([Segment(self.EMPTY, Style(dim=True))]).crop(0, width)
            return Strip.blank(width, Style())
        if y < len(self._strips):
            return self._strips[y].crop(0, width)
        return Strip.blank(width, Style())
