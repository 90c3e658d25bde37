"""Checks for layer keys, shared by every layer's `__init__`."""

from __future__ import annotations

from typing import Any


def positive_int(name: str, value: Any) -> int:
    """`value` as an int >= 1, or a ValueError quoting it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def count(name: str, value: Any) -> int:
    """`value` as an int >= 0, or a ValueError quoting it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return value


def number_in(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    closed_low: bool = True,
    closed_high: bool = True,
) -> float:
    """`value` as a float in [low, high] (or with an open end), or a ValueError quoting it."""
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
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value
