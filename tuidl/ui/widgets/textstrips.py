"""`TextStrips`: a widget drawn from a rich `Text`, converted to strips once per change.

Textual turns the `Text` a widget's `render()` returns into strips on every refresh, giving each
segment its own style object (with a text-selection offset): 20-25 ms for a 150x20 chart, the
largest single cost of the UI thread while training. Lines that fit the width (all of them,
nearly always) are converted here with the same styles and segments, each distinct style built
once; a line that does not fit goes through Textual's own wrapping. The strips are cached until
the next `refresh()` or a change of size. What differs: the text cannot be mouse-selected.

`pieces_strips` does the same from lines given as (text, style) pieces, skipping the `Text`.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style as RichStyle
from rich.text import Text
from textual.content import Content
from textual.strip import Strip
from textual.style import Style
from textual.visual import Visual
from textual.widget import Widget

Pieces = list[tuple[str, str]]  # one line: (text, Rich style string, "" for none) in order


class TextStrips(Widget):
    """Subclasses implement `build_text()` (instead of `render()`) and call `refresh()` when
    it would change."""

    def build_text(self) -> Text:
        raise NotImplementedError

    def render(self) -> Text:
        return self.build_text()  # what is drawn (render_line does the drawing)

    def build_strips(self, width: int) -> list[Strip]:
        return text_strips(self, self.build_text(), width)

    def refresh(self, *args, **kwargs) -> Widget:
        self._strips_key = None  # rebuild at the next render_line
        return super().refresh(*args, **kwargs)

    def render_line(self, y: int) -> Strip:
        width = self.size.width  # as Widget.render_line: the text is laid out to the full size
        key = (self.size, self.visual_style)
        if getattr(self, "_strips_key", None) != key:
            self._strips = self.build_strips(width)
            self._strips_key = key
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self.visual_style.rich_style)


class PiecesStrips(TextStrips):
    """A `TextStrips` drawn from lines of pieces: subclasses implement `lines()` (None when
    there is nothing to draw: `EMPTY` shows, dim)."""

    EMPTY = "nothing to draw yet"

    def lines(self) -> list[Pieces] | None:
        raise NotImplementedError

    def build_text(self) -> Text:
        lines = self.lines()
        return Text(self.EMPTY, style="dim") if lines is None else pieces_text(lines)

    def build_strips(self, width: int) -> list[Strip]:
        lines = self.lines()
        if lines is None:
            return text_strips(self, Text(self.EMPTY, style="dim"), width)
        return pieces_strips(self, lines, width)


def text_strips(widget: Widget, text: Text, width: int) -> list[Strip]:
    """`text` as Textual draws it in `widget` (`Visual.to_strips`, left/top aligned, no text
    selected), without the per-segment selection offsets."""
    if width <= 0:
        return []
    base = widget.visual_style
    get_style = widget._get_style
    rich_styles = {}
    strips: list[Strip] = []
    content = Content.from_rich_text(text, console=widget.app.console)
    for line in content.split(allow_blank=True):
        if line.cell_length > width or "\t" in line.plain:  # wrapped (or tabs): as Textual does
            strips.extend(Visual.to_strips(widget, line, width, None, base))
            continue
        segments = []
        for piece, style in line.render(base, end="", parse_style=get_style):
            rich = rich_styles.get(style)
            if rich is None:
                rich = rich_styles[style] = (base + style).rich_style
            segments.append(Segment(piece, rich))
        strips.append(Strip(segments, line.cell_length))
    return strips


def pieces_text(lines: list[Pieces]) -> Text:
    """The `Text` of lines of pieces (one append per piece, a newline between lines)."""
    text = Text(no_wrap=True, overflow="crop")
    for k, pieces in enumerate(lines):
        if k:
            text.append("\n")
        for piece, style in pieces:
            text.append(piece, style=style)
    return text


def pieces_strips(widget: Widget, lines: list[Pieces], width: int) -> list[Strip]:
    """`text_strips(widget, pieces_text(lines), width)`, built from the pieces directly: each
    styled piece is a segment, adjacent unstyled pieces make one (as Textual splits a line)."""
    base = widget.visual_style
    console, theme = widget.app.console, widget.app.ansi_theme
    rich_styles: dict[str, RichStyle] = {"": (base + base).rich_style}
    strips: list[Strip] = []
    for pieces in lines:
        plain = "".join(piece for piece, _ in pieces)
        length = cell_len(plain)
        if length > width or "\t" in plain or "\n" in plain:
            strips.extend(text_strips(widget, pieces_text([pieces]), width))
            continue
        segments = []
        unstyled = ""
        for piece, style in pieces:
            if not style:
                unstyled += piece
                continue
            if unstyled:
                segments.append(Segment(unstyled, rich_styles[""]))
                unstyled = ""
            if piece:
                rich = rich_styles.get(style)
                if rich is None:  # as Textual combines a span's style with the base twice
                    span = Style.from_rich_style(console.get_style(style), theme)
                    rich = rich_styles[style] = (base + (base + span)).rich_style
                segments.append(Segment(piece, rich))
        if unstyled:
            segments.append(Segment(unstyled, rich_styles[""]))
        strips.append(Strip(segments, length))
    return strips


def text_strip(text: Text, console) -> Strip:
    """One line of rich `text` as a strip, every segment with a style: Textual's NO_COLOR
    filter reads each segment's style, and a console without colour leaves some unset."""
    blank = RichStyle()
    segments = text.render(console, end="")
    return Strip([Segment(piece, style or blank, control) for piece, style, control in segments])
