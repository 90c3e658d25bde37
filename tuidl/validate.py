"""Checks for config values, shared by the layers, the schedules, the experiment and the datasets.

Each returns the value or raises a ValueError naming the key, what it must be and the value
given (`units must be a positive integer, got 0`); callers add where the key lives and turn it
into a ConfigError. `true` is never taken for a number, though Python's bool is an int.
"""

from __future__ import annotations

from typing import Any

# a lower bound alone that has a name: the message asks for it, whatever was wrong
NAMED_INTEGERS = {0: "a non-negative integer", 1: "a positive integer"}


def integer(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """`value` as an int in [low, high] (None: unbounded), or a ValueError quoting it."""
    named = NAMED_INTEGERS.get(low) if high is None else None
    if isinstance(value, bool) or not isinstance(value, int) or (named and value < low):
        raise ValueError(f"{name} must be {named or 'an integer'}, got {value!r}")
    _check_bounds(name, value, low, high)
    return value


def number(name: str, value: Any, low: float | None = None, high: float | None = None) -> float:
    """`value` (an int or a float, not nan) as a float in [low, high], or a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValueError(f"{name} must be a number, got {value!r}")
    _check_bounds(name, value, low, high)
    return float(value)


def number_in(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    closed_low: bool = True,
    closed_high: bool = True,
) -> float:
    """`value` as a float in [low, high] (or with an open end), or a ValueError quoting it.

    Unlike `number`, the message names the whole interval, open ends included.
    """
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok:
        ok = (low <= value if closed_low else low < value) and (
            value <= high if closed_high else value < high
        )
    if not ok:
        left, right = "[" if closed_low else "(", "]" if closed_high else ")"
        raise ValueError(f"{name} must be a number in {left}{low}, {high}{right}, got {value!r}")
    return float(value)


def boolean(name: str, value: Any) -> bool:
    """`value` if it is true or false, or a ValueError quoting it."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def _check_bounds(name: str, value: float, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        raise ValueError(f"{name} must be at least {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be at most {high}, got {value!r}")
