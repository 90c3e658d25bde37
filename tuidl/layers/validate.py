"""Checks for layer keys, shared by every layer's `__init__`."""

from __future__ import annotations

from typing import Any


def positive_int(name: str, value: Any) -> int:
    """`value` as an int >= 1, or a ValueError quoting it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def number_in(name: str, value: Any, low: float, high: float, *, closed_high: bool = True) -> float:
    """`value` as a float in [low, high] (or [low, high)), or a ValueError quoting it."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok:
        ok = low <= value <= high if closed_high else low <= value < high
    if not ok:
        bracket = "]" if closed_high else ")"
        raise ValueError(f"{name} must be a number in [{low}, {high}{bracket}, got {value!r}")
    return float(value)


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value
