"""Terminal SVGs (Rich's `Console.export_svg`, Textual's screenshots) that keep every glyph
in its cell, whatever font the viewer draws them with.

Rich writes each run of same-style text as one `<text>` element, positioned at its first cell
and stretched to its cells by `textLength`. A viewer without the export's font (Fira Code,
fetched from the web) draws braille, blocks and box drawing from a fallback font with another
advance width, and one that ignores `textLength` (librsvg) lets the run grow past its cells: a
chart's curve ran over its frame into the next panel, and cells of spaces shrank (`&#160;`
runs). `pin_cells` splits every run at its spaces and gives each glyph outside ASCII an
element of its own at its cell's x, squeezed into that cell (`lengthAdjust`): ASCII words are
placed at their first cell, and nothing depends on the width of a space.
"""

from __future__ import annotations

import html
import re

from rich.cells import cell_len

_TEXT = re.compile(r"<text ([^>]*)>([^<]*)</text>")
_ATTRIBUTE = re.compile(r'([\w:-]+)="([^"]*)"')
_WORD = re.compile(r"[!-~]+|[^\s\xa0]")  # a run of printable ASCII, or any other one glyph


def pin_cells(svg: str) -> str:
    """`svg` with every cell-stretched `<text>` element (one with `x` and `textLength`) split
    into one element per ASCII word and per other glyph, each at its own cell's x.

    Args:
        svg: a terminal SVG as Rich's `Console.export_svg` writes it.

    Returns:
        The same picture, its text pinned to the grid of cells.
    """
    return _TEXT.sub(_pinned_element, svg)


def text_elements(svg: str) -> list[tuple[dict[str, str], str]]:
    """The `<text>` elements of `svg` in order: (attributes by name, unescaped text)."""
    return [_parsed(match) for match in _TEXT.finditer(svg)]


def _parsed(match: re.Match[str]) -> tuple[dict[str, str], str]:
    return dict(_ATTRIBUTE.findall(match.group(1))), html.unescape(match.group(2))


def _pinned_element(match: re.Match[str]) -> str:
    attributes, text = _parsed(match)
    if "x" not in attributes or "textLength" not in attributes or not text:
        return match.group(0)
    # Rich stretches a run over len(text) cells (textLength), whatever their width
    cell_width = float(attributes["textLength"]) / len(text)
    x0 = float(attributes["x"])
    elements = []
    for word in _WORD.finditer(text):
        glyph = word.group()
        pinned = dict(attributes)
        pinned["x"] = _number(x0 + cell_len(text[: word.start()]) * cell_width)
        pinned["textLength"] = _number(cell_len(glyph) * cell_width)
        if not glyph.isascii():  # drawn from whichever font has it: squeezed into its cells
            pinned["lengthAdjust"] = "spacingAndGlyphs"
        tag = " ".join(f'{name}="{value}"' for name, value in pinned.items())
        elements.append(f"<text {tag}>{html.escape(glyph)}</text>")
    return "".join(elements)


def _number(value: float) -> str:
    return format(round(value, 4), "g")  # as Rich writes its numbers, without float noise
