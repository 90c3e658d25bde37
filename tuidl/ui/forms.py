"""The build screen's form fields as plain functions (no Textual): a layer type's keys, a
layer's keys as text, and typed text as TOML values."""

from __future__ import annotations

import inspect
from typing import Any

from ..errors import ConfigError
from ..experiment import parse_value
from ..layers import LAYERS


def format_keys(spec: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in spec.items() if k != "type")


def layer_fields(kind: str) -> list[tuple[str, Any]]:
    """(key, default) of a layer type's TOML keys; `inspect.Parameter.empty` when required."""
    signature = inspect.signature(LAYERS[kind].__init__)
    return [(name, p.default) for name, p in signature.parameters.items() if name != "self"]


def parse_pairs(text: str) -> dict[str, Any]:
    """`momentum=0.9, weight_decay=1e-4` -> a dict of TOML values.

    Raises:
        ConfigError: a part without `=`.
    """
    pairs = {}
    for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{part!r}: write key=value, e.g. momentum=0.9")
        pairs[key.strip()] = parse_value(value)
    return pairs
