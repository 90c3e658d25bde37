"""`Panel`: a focusable bordered box holding one view; the focused panel's border lights up."""

from __future__ import annotations

from textual.containers import Vertical


class Panel(Vertical, can_focus=True):
    """A titled panel; `tab` moves between panels (and at 80 columns, shows the next one)."""

    DEFAULT_CSS = """
    Panel { border: round $primary-darken-2; height: auto; padding: 0 1; }
    Panel:focus { border: round $accent; }
    """

    def __init__(self, *children, title: str = "", **kwargs) -> None:
        super().__init__(*children, **kwargs)
        self.border_title = title
