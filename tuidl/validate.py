"""Checks for config values, shared by the layers, optimizers, schedules, experiment and datasets.

Each returns the value or raises a ValueError naming the key, what it must be and the value
given (`units must be a positive integer, got 0`, `adam: beta1 must be a number in [0, 1), got
2`); callers add where the key lives and turn it into a ConfigError. `true` is never taken for a
number, though Python's bool is an int.

Sizes are checked the same way before anything big is allocated or read (`within_memory`,
`file_size`): a MemoryError, or minutes of swapping, is no message a person can act on.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path
from typing import Any

# what a check may claim for one thing (a model's training state, a dataset being loaded): the
# rest is for the other of the two, the interpreter, numba and whatever else runs here
MEMORY_SHARE = 0.5
CGROUP_LIMIT = Path("/sys/fs/cgroup/memory.max")  # a container's own limit (cgroup v2)

# a lower bound alone that has a name: the message asks for it, whatever was wrong
NAMED_INTEGERS = {0: "a non-negative integer", 1: "a positive integer"}


def integer(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """`value` as an int in [low, high] (None: unbounded), or a ValueError quoting it."""
    named = NAMED_INTEGERS.get(low) if high is None else None
    if isinstance(value, bool) or not isinstance(value, int) or (named and value < low):
        raise ValueError(f"{name} must be {named or 'an integer'}, got {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be at least {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be at most {high}, got {value!r}")
    return value


def number(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """`value` (an int or a float, finite) as a float between `low` and `high`, or a ValueError.

    The message names the whole allowed range: `lr must be a number > 0, got -1`,
    `momentum must be a number in [0, 1), got 1.5`.

    Args:
        name: the key, with its owner when that helps (`"adam: beta1"`).
        value: the value given.
        low: the lower bound, or None for none.
        high: the upper bound, or None for none.
        low_open: whether `low` itself is excluded.
        high_open: whether `high` itself is excluded.
    """
    ok = not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
    if ok and low is not None:
        ok = low < value if low_open else low <= value
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        raise ValueError(
            f"{name} must be a number{_range(low, high, low_open, high_open)}, got {value!r}"
        )
    return float(value)


def boolean(name: str, value: Any) -> bool:
    """`value` if it is true or false, or a ValueError quoting it."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def _range(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """` > 0`, ` <= 1`, ` in (0, 1]`, or nothing when unbounded."""
    if low is not None and high is not None:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        return f" in {left}{_bound(low)}, {_bound(high)}{right}"
    if low is not None:
        return f" {'>' if low_open else '>='} {_bound(low)}"
    if high is not None:
        return f" {'<' if high_open else '<='} {_bound(high)}"
    return ""


def _bound(x: float) -> str:
    """A bound as written in a config: `0` not `0.0`, `1e-12`, `0.5`."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def memory_bytes() -> int:
    """This machine's physical memory in bytes, or its container's limit when that is lower."""
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    try:
        limit = CGROUP_LIMIT.read_text().strip()
    except OSError:
        return total
    return min(total, int(limit)) if limit.isdigit() else total


def memory_to_spare() -> float:
    """The bytes one thing may claim: MEMORY_SHARE of `memory_bytes()`."""
    return MEMORY_SHARE * memory_bytes()


def within_memory(what: str, nbytes: float) -> float:
    """`nbytes` if it is at most `memory_to_spare()`, else a ValueError: `<what> needs about
    48.0 GiB, more than the 11.8 GiB this machine can spare (half of its 23.5 GiB)`."""
    if nbytes > memory_to_spare():
        raise ValueError(
            f"{what} needs about {size_text(nbytes)}, more than the "
            f"{size_text(memory_to_spare())} this machine can spare (half of its "
            f"{size_text(memory_bytes())})"
        )
    return nbytes


def size_text(nbytes: float) -> str:
    """Bytes for a person: `512 B`, `3.1 MiB`, `48.0 GiB`, `7.3 TiB`, `218,279 TiB`."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if nbytes < 1024:
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} TiB" if nbytes < 1000 else f"{nbytes:,.0f} TiB"


def file_size(path: str | os.PathLike) -> int:
    """The size in bytes of `path` if it is a regular file (links followed), else a ValueError
    saying what it is: `no such file`, `a folder, not a file`, `not a regular file but a
    device, pipe or socket` (which can be read forever: /dev/zero)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ValueError("no such file") from None
    except OSError as error:
        raise ValueError(f"cannot open it ({error.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ValueError("a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise ValueError("not a regular file but a device, pipe or socket")
    return info.st_size
