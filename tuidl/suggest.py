"""Did-you-mean hints for unknown names in configs."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: object, choices: Iterable[str], *, list_choices: bool = True) -> str:
    """A hint to append to an "unknown name" message.

    Args:
        name: the unknown name.
        choices: the names that would be accepted.
        list_choices: without a close choice, list them all (`"; choose one of a, b"`); False
            gives "" instead, for messages that list the choices themselves.

    Returns:
        `"; did you mean 'x'?"` for the closest choice, else the list or "".
    """
    choices = list(choices)
    close = difflib.get_close_matches(str(name), choices, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; choose one of {', '.join(choices)}" if list_choices else ""
