"""`ImageView`: a widget showing prebuilt half-block strips plus caption lines.

Subclasses turn their data into pixels in `set_*` (on the UI thread, about once a second) and
call `show_pixels`; `render_line` only returns a prebuilt strip.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from .halfblock import image_rows


class ImageView(Widget):
    DEFAULT_CSS = """
    ImageView { height: auto; min-height: 2; }
    """

    EMPTY = "no image yet"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._strips: list[Strip] = []

    def show_pixels(
        self, pixels: list[list[str | None]], before: list[Text] = (), after: list[Text] = ()
    ) -> None:
        console = self.app.console
        strips = [Strip(list(t.render(console))) for t in before]
        strips += [Strip(segments) for segments in image_rows(pixels)]
        strips += [Strip(list(t.render(console))) for t in after]
        self._strips = [s for s in strips]
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self._strips))

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        if not self._strips:
            if y == 0:
                return Strip([Segment(self.EMPTY, Style(dim=True))]).crop(0, width)
            return Strip.blank(width)
        if y < len(self._strips):
            return self._strips[y].crop(0, width)
        return Strip.blank(width)
