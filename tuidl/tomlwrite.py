"""A small TOML writer for experiment files (the standard library only reads TOML).

Top-level scalars first, then one `[table]` per section; nested tables and lists of tables are
written inline, one list item per line, as in PRODUCT.md's example.
"""

from __future__ import annotations

import json
import math
from typing import Any


def value_to_toml(value: Any) -> str:
    """One TOML value: strings, bools, numbers, lists and (inline) tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a valid TOML basic string
    if isinstance(value, dict):
        items = ", ".join(f"{_key(k)} = {value_to_toml(v)}" for k, v in value.items())
        return f"{{ {items} }}" if items else "{}"
    if isinstance(value, list | tuple):
        if value and all(isinstance(item, dict) for item in value):
            return "[\n" + "".join(f"  {value_to_toml(item)},\n" for item in value) + "]"
        return "[" + ", ".join(value_to_toml(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} to TOML")


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def dumps(document: dict[str, Any]) -> str:
    """A whole document: scalars at the top, then a `[section]` per dict-valued key."""
    scalars = {k: v for k, v in document.items() if not isinstance(v, dict)}
    lines = [f"{_key(k)} = {value_to_toml(v)}" for k, v in scalars.items()]
    for section, table in document.items():
        if isinstance(table, dict):
            lines.append(f"\n[{_key(section)}]")
            lines.extend(f"{_key(k)} = {value_to_toml(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"
