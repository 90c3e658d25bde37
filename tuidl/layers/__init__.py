"""Layers by TOML type name: `LAYERS["conv2d"] is Conv2D`, and `make_layer` for one table."""

from __future__ import annotations

import inspect
from typing import Any

from ..errors import ConfigError
from ..suggest import did_you_mean
from .activations import ELU, LeakyReLU, Maxout, PReLU, ReLU, Sigmoid, Softmax, Tanh
from .base import Layer
from .batchnorm import BatchNorm
from .conv import Conv2D
from .dense import Dense, Flatten
from .dropout import Dropout
from .pool import AvgPool2D, MaxPool2D
from .rbm import RBM
from .recurrent import LSTM, RNN
from .surface import Surface

__all__ = [
    "LAYERS",
    "ELU",
    "LSTM",
    "RBM",
    "RNN",
    "AvgPool2D",
    "BatchNorm",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "Layer",
    "LeakyReLU",
    "MaxPool2D",
    "Maxout",
    "PReLU",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Surface",
    "Tanh",
    "make_layer",
]

LAYERS: dict[str, type[Layer]] = {
    cls.type: cls
    for cls in (
        Dense,
        Conv2D,
        MaxPool2D,
        AvgPool2D,
        Flatten,
        Dropout,
        BatchNorm,
        ReLU,
        LeakyReLU,
        PReLU,
        ELU,
        Sigmoid,
        Tanh,
        Maxout,
        Softmax,
        RNN,
        LSTM,
        RBM,
        Surface,
    )
}


def make_layer(spec: dict[str, Any], index: int) -> Layer:
    """Make layer number `index` from its table, e.g. `{type = "dense", units = 10}`.

    Raises:
        ConfigError: unknown type or key (with a did-you-mean), or a bad value, naming the layer.
    """
    where = f"layer {index}"
    if not isinstance(spec, dict) or "type" not in spec:
        raise ConfigError(
            f'{where}: needs a table with a type, like {{ type = "dense", units = 10 }}'
        )
    kind = spec["type"]
    if kind not in LAYERS:
        raise ConfigError(f"{where}: unknown layer type {kind!r}{did_you_mean(kind, LAYERS)}")
    cls = LAYERS[kind]
    signature = inspect.signature(cls.__init__)
    allowed = [name for name in signature.parameters if name != "self"]
    keys = {key: value for key, value in spec.items() if key != "type"}
    for key in keys:
        if key not in allowed:
            hint = did_you_mean(key, allowed) if allowed else f"; {kind} takes no keys"
            raise ConfigError(f"{where} ({kind}): unknown key {key!r}{hint}")
    missing = [
        name
        for name, param in signature.parameters.items()
        if name != "self" and param.default is inspect.Parameter.empty and name not in keys
    ]
    if missing:
        raise ConfigError(f"{where} ({kind}): missing key {missing[0]!r}")
    try:
        return cls(**keys)
    except ValueError as error:
        raise ConfigError(f"{where} ({kind}): {error}") from None
