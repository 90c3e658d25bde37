"""What the build screen shows about a draft experiment, as plain functions (no Textual).

`analyze(document, input_shape)` builds the draft's layers one by one, so every layer gets
its output shape and parameter count, and the first layer that does not fit gets the message
(naming the shapes involved) instead; training stays blocked until no row has a problem.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..experiment import Experiment
from ..layers import LAYERS, make_layer


@dataclass
class LayerRow:
    index: int
    type: str
    keys: str
    shape: str = ""
    params: int = 0
    problem: str = ""


@dataclass
class Analysis:
    rows: list[LayerRow] = field(default_factory=list)
    input_shape: tuple[int, ...] | None = None
    output_shape: tuple[int, ...] | None = None
    total_params: int = 0
    problem: str = ""  # the first problem anywhere (empty: ready to train)
    problem_row: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problem


def format_keys(spec: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in spec.items() if k != "type")


def layer_fields(kind: str) -> list[tuple[str, Any]]:
    """(key, default) of a layer type's TOML keys; `inspect.Parameter.empty` when required."""
    signature = inspect.signature(LAYERS[kind].__init__)
    return [(name, p.default) for name, p in signature.parameters.items() if name != "self"]


def analyze(document: dict[str, Any], dataset=None) -> Analysis:
    """Shapes, parameter counts and problems of a draft experiment's layers.

    Args:
        document: the experiment as a dict (`Experiment.to_dict()` layout), maybe invalid.
        dataset: its loaded data (for the input shape and the output check), or None.
    """
    result = Analysis()
    model = document.get("model", {})
    specs = model.get("layers", [])
    init = model.get("init", "he")
    shape = tuple(dataset.input_shape) if dataset is not None else None
    result.input_shape = shape
    rng = np.random.default_rng(0)
    built = []

    def fail(row: LayerRow | None, message: str) -> None:
        if not result.problem:
            result.problem = message
            result.problem_row = row.index if row is not None else None
        if row is not None and not row.problem:
            row.problem = message

    for index, spec in enumerate(specs):
        row = LayerRow(index, str(spec.get("type", "?")), format_keys(spec))
        result.rows.append(row)
        try:
            layer = make_layer(spec, index)
        except ConfigError as error:
            fail(row, str(error))
            shape = None
            continue
        if shape is None:
            continue
        try:
            out = layer.build(shape, rng, init)
        except ValueError as error:
            fail(row, f"layer {index} ({layer.type}) with input shape {shape}: {error}")
            shape = None
            continue
        except ConfigError as error:
            fail(row, str(error))
            shape = None
            continue
        if any(size < 1 for size in out):
            fail(row, f"layer {index} ({layer.type}) turns {shape} into {out}, which is empty")
            shape = None
            continue
        row.shape = str(tuple(out))
        row.params = int(sum(v.size for v in layer.params.values()))
        result.total_params += row.params
        built.append(layer)
        shape = tuple(out)
    if not specs:
        fail(None, "the model has no layers: press a to add one")
    result.output_shape = shape
    if shape is not None and dataset is not None and result.rows and not result.problem:
        message = output_problem(shape, dataset)
        if message:
            fail(result.rows[-1], message)
    if not result.problem:
        try:
            Experiment.from_dict(document)
        except ConfigError as error:
            fail(None, str(error))
    return result


def output_problem(shape: tuple[int, ...], dataset) -> str:
    """Why the last layer's output does not fit the data's targets ('' when it does)."""
    integer = np.issubdtype(dataset.y_train.dtype, np.integer)
    if dataset.task in ("classification", "sequence") and integer:
        if shape[-1] != dataset.num_outputs:
            return (
                f"the last layer gives shape {shape} but {dataset.name} has "
                f"{dataset.num_outputs} classes; make the last dense layer units = "
                f"{dataset.num_outputs}"
            )
    elif shape != dataset.y_train.shape[1:]:
        return (
            f"the last layer gives shape {shape} but {dataset.name}'s targets have shape "
            f"{dataset.y_train.shape[1:]}; make the last layer match"
        )
    return ""


def parse_value(raw: str) -> Any:
    """A form field as a TOML value (`3`, `0.5`, `true`, `"same"`); a bare word is a string."""
    import tomllib

    raw = raw.strip()
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


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


class DatasetCache:
    """Loaded datasets by their `[data]` table and seed (loading mnist twice is slow)."""

    def __init__(self, data_dir: str | None = None) -> None:
        self.data_dir = data_dir
        self._cache: dict[str, Any] = {}

    def get(self, data: dict[str, Any], seed: int):
        from ..datasets import load_dataset

        key = json.dumps([data, seed], sort_keys=True, default=str)
        if key not in self._cache:
            params = dict(data)
            name = params.pop("name")
            self._cache[key] = load_dataset(name, data_dir=self.data_dir, seed=seed, **params)
        return self._cache[key]
