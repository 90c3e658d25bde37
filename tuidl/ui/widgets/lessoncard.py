"""`LessonCard`: what the experiment shows and what to watch (its `lesson`), over the bottom of
the screen. It takes no focus and no room: shown at start, it stays until the first key, which
still does what it does (space starts training under it); `L` shows it again."""

from __future__ import annotations

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static

from ...experiment import Experiment

KEY = "L"


class LessonCard(Static):
    DEFAULT_CSS = """
    LessonCard { overlay: screen; dock: bottom; width: 100%; height: auto; max-height: 60%;
                 margin-bottom: 1; border: round $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, experiment: Experiment) -> None:
        text = Text()
        text.append(f"lesson: {experiment.name}\n", style="bold")
        text.append(experiment.lesson.strip())
        text.append(f"\nany key closes this card · {KEY} shows it again", style="dim")
        super().__init__(text)


def show_card(screen: Screen, experiment: Experiment | None) -> None:
    """Put `experiment`'s lesson card on `screen` (nothing when it has no lesson)."""
    if experiment is not None and experiment.lesson and not screen.query(LessonCard):
        screen.mount(LessonCard(experiment))


def close_card(screen: Screen) -> bool:
    """Take the lesson card off `screen`; whether there was one."""
    cards = screen.query(LessonCard)
    if cards:
        cards.remove()
    return bool(cards)
