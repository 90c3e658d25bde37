"""A draft experiment being edited (the build screen's), checked as it changes.

`analyze(document, dataset)` says, for a document that may not be valid yet, each layer's
output shape and parameter count (`model.report_layers`, the same building and messages as
`Sequential.build`), whether the output fits the data (`model.output_problem`, as the trainer
checks it) and what else the experiment's own validation refuses. Training stays blocked
until `Analysis.ok`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError
from .experiment import Experiment
from .layers.base import Shape
from .model import LayerReport, output_problem, report_layers


@dataclass
class Analysis:
    """The layers' reports and the first problem anywhere ('' when ready to train)."""

    rows: list[LayerReport] = field(default_factory=list)
    input_shape: Shape | None = None
    output_shape: Shape | None = None
    total_params: int = 0
    problem: str = ""
    problem_row: int | None = None  # the layer it is on, if any

    @property
    def ok(self) -> bool:
        return not self.problem


def analyze(document: dict[str, Any], dataset=None) -> Analysis:
    """Shapes, parameter counts and problems of a draft experiment's layers.

    Args:
        document: the experiment as a dict (`Experiment.to_dict()` layout), maybe invalid.
        dataset: its loaded data (for the input shape and the output check), or None.
    """
    model = document.get("model", {})
    input_shape = tuple(dataset.input_shape) if dataset is not None else None
    rows = report_layers(model.get("layers", []), input_shape, model.get("init", "he"))
    result = Analysis(rows, input_shape)
    result.total_params = sum(row.params for row in rows)
    bad = next((row for row in rows if row.problem), None)
    if bad is not None:
        result.problem, result.problem_row = bad.problem, bad.index
        return result
    if not rows:
        result.problem = "the model has no layers: press a to add one"
        return result
    result.output_shape = rows[-1].output_shape
    if result.output_shape is not None:
        message = output_problem(result.output_shape, dataset, model.get("loss", "mse"))
        if message:
            rows[-1].problem = result.problem = message
            result.problem_row = rows[-1].index
            return result
    try:
        Experiment.from_dict(document)
    except ConfigError as error:
        result.problem = str(error)
    return result


class DatasetCache:
    """Loaded datasets by their `[data]` table and seed (loading mnist twice is slow)."""

    def __init__(self, data_dir: str | None = None) -> None:
        self.data_dir = data_dir
        self._cache: dict[str, Any] = {}

    @staticmethod
    def key(data: dict[str, Any], seed: int) -> str:
        return json.dumps([data, seed], sort_keys=True, default=str)

    def get(self, data: dict[str, Any], seed: int):
        from .datasets import load_dataset

        key = self.key(data, seed)
        if key not in self._cache:
            params = dict(data)
            name = params.pop("name")
            self._cache[key] = load_dataset(name, data_dir=self.data_dir, seed=seed, **params)
        return self._cache[key]
