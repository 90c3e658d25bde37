"""`Panel`: a focusable bordered box holding one view; the focused panel's border lights up.
`ScrollPanel` is the same box whose content scrolls (arrow and page keys when focused) when it
is taller than the room the layout gives it."""

from __future__ import annotations

from textual.containers import Vertical, VerticalScroll


class Panel(Vertical, can_focus=True):
    """A titled panel; `tab` moves between panels (and at 80 columns, shows the next one)."""

    DEFAULT_CSS = """
    Panel { border: round $primary-darken-2; height: auto; padding: 0 1; }
    Panel:focus { border: round $accent; }
    """

    def __init__(self, *children, title: str = "", **kwargs) -> None:
        super().__init__(*children, **kwargs)
        self.border_title = title


class ScrollPanel(VerticalScroll):
    """A titled panel that scrolls rather than clipping what does not fit."""

    DEFAULT_CSS = """
    ScrollPanel { border: round $primary-darken-2; height: auto; padding: 0 1;
                  scrollbar-size-vertical: 1; }
    ScrollPanel:focus { border: round $accent; }
    """

    def __init__(self, *children, title: str = "", **kwargs) -> None:
        super().__init__(*children, **kwargs)
        self.border_title = title
