"""The help screen (`?`): every key of the app and of the screen it was opened from; and a
yes/no confirmation (quit while training)."""

from __future__ import annotations

from rich.table import Table
from textual.actions import parse
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

KEY_NAMES = {
    "question_mark": "?",
    "space": "space",
    "plus": "+",
    "equals_sign": "=",
    "minus": "-",
    "shift+tab": "shift+tab",
    "delete": "del",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
}


def key_text(keys: str) -> str:
    return " ".join(KEY_NAMES.get(k, k) for k in keys.split(","))


def binding_rows(screen: Screen) -> list[tuple[str, str, str]]:
    """(where, keys, what) for every binding of the app and of `screen` that applies there
    (`check_action`: no training keys in `tuidl view`)."""
    rows = []
    for where, owner in (("app", screen.app), (screen.__class__.__name__, screen)):
        for binding in getattr(owner, "BINDINGS", []):
            if not isinstance(binding, Binding):
                binding = Binding(*binding)
            _, action, parameters = parse(binding.action)
            if owner.check_action(action, parameters) is False:
                continue
            rows.append((where, key_text(binding.key), binding.description or binding.action))
    return rows


class HelpScreen(ModalScreen[None]):
    """Lists every key; any of escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close help")]

    def __init__(self, origin: Screen) -> None:
        super().__init__()
        self.origin = origin

    def compose(self) -> ComposeResult:
        table = Table("where", "key", "what", box=None, padding=(0, 1), header_style="bold")
        for where, keys, what in binding_rows(self.origin):
            table.add_row(where.removesuffix("Screen").lower(), keys, what)
        with Vertical(id="help-box"):
            yield Static("[b]tuidl keys[/b]  (escape closes)", id="help-title")
            help_table = Static(table, id="help-table")
            help_table.renderable = table  # what the tests read back
            yield help_table


class ConfirmScreen(ModalScreen[bool]):
    """A question answered with y (yes) or n / escape (no)."""

    BINDINGS = [
        Binding("y", "answer(True)", "yes"),
        Binding("n,escape", "answer(False)", "no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.question)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
