"""Did-you-mean hints for unknown names in configs."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: object, choices: Iterable[str]) -> str:
    """`"; did you mean 'x'?"` for the closest choice, or a list of the choices."""
    choices = list(choices)
    close = difflib.get_close_matches(str(name), choices, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; choose one of {', '.join(choices)}"
