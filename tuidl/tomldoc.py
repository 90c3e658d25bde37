"""TOML documents for experiment files, through tomlkit: a fresh layout, or a user's file updated.

A fresh document has the top-level scalars first, then one `[table]` per dict-valued key; nested
tables are inline and a list of tables is written one item per line, as in PRODUCT.md's example.
`update` writes values into a parsed document in place, so what the user wrote around them
(comments, blank lines, key order, number spellings) survives a save.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, MutableMapping
from typing import Any

import tomlkit
from tomlkit.items import InlineTable, Item, Table


def new_document(values: Mapping[str, Any]) -> tomlkit.TOMLDocument:
    """A document holding `values`: scalars at the top, then a `[section]` per dict-valued key.

    Raises:
        ConvertError: a value TOML cannot hold (None, an object); tomlkit's error names it.
    """
    document = tomlkit.document()
    for key, value in values.items():
        if not isinstance(value, Mapping):
            document.add(key, _item(value))
    for key, value in values.items():
        if isinstance(value, Mapping):
            document.add(key, _table(value))
    return document


def update(document: tomlkit.TOMLDocument, values: Mapping[str, Any]) -> None:
    """Make `document` hold `values`, changing only what differs.

    A changed value is replaced where it stands (its end-of-line comment stays), a key missing
    from `values` is removed, a new key is appended to its table; a list of the same length is
    updated item by item, so one changed layer leaves the other lines of `layers` alone.
    """
    _update_table(document, values, top=True)


def _update_table(table: MutableMapping[str, Any], values: Mapping[str, Any], top: bool) -> None:
    for key in [key for key in table if key not in values]:
        del table[key]
    for key, value in values.items():
        if key not in table:
            table[key] = _table(value) if top and isinstance(value, Mapping) else _item(value)
        elif not _same(_plain(table[key]), value):
            _update_value(table, key, value)


def _update_value(container: Any, key: str | int, value: Any) -> None:
    """Set `container[key]` (a table key or an array index) to `value`, keeping what it can."""
    current = container[key]
    if isinstance(value, Mapping) and isinstance(current, MutableMapping):
        # tomlkit spaces keys added to or removed from an inline table oddly (`{ a = 1,b = 2}`);
        # a new one reads better and loses nothing, since an inline table holds no comments
        if not isinstance(current, InlineTable) or current.keys() == value.keys():
            _update_table(current, value, top=False)
            return
    elif isinstance(value, list | tuple) and isinstance(current, list):
        if len(current) == len(value):
            for index, item in enumerate(value):
                if not _same(_plain(current[index]), item):
                    _update_value(current, index, item)
            return
    container[key] = _item(value)


def _table(values: Mapping[str, Any]) -> Table:
    table = tomlkit.table()
    for key, value in values.items():
        table.add(key, _item(value))
    return table


def _item(value: Any) -> Item:
    """One value: a mapping as an inline table `{ a = 1 }`, a list of mappings one per line."""
    if isinstance(value, Mapping):
        table = tomlkit.inline_table()
        entries = [_item(entry) for entry in value.values()]
        for key, entry in zip(value, entries, strict=True):
            table.append(key, entry)
        if entries:  # tomlkit writes {a = 1}; people (and PRODUCT.md) pad the braces
            entries[0].trivia.indent = " "
            entries[-1].trivia.trail = " "
        return table
    if isinstance(value, list | tuple):
        array = tomlkit.array()
        if value and all(isinstance(entry, Mapping) for entry in value):
            for entry in value:
                array.add_line(_item(entry), indent="  ")
            array.add_line(indent="")  # the closing bracket on a line of its own
        else:
            array.extend(_item(entry) for entry in value)
        return array
    return tomlkit.item(value)


def _plain(value: Any) -> Any:
    """A tomlkit value as plain Python (dict, list, int, ...)."""
    return value.unwrap() if hasattr(value, "unwrap") else value


def _same(a: Any, b: Any) -> bool:
    """Equal values of equal types (1, 1.0 and true read differently); nan is the same as nan."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b
