"""A run's model as a plain `.npz`: the weights, and a JSON spec of the layers that numpy alone
reads back (`np.load(path, allow_pickle=False)`, then `json.loads(str(npz["spec"]))`).

Arrays: `<layer>.<key>` as in checkpoints (`conv2d_0.W`, `batchnorm_0.running_mean`) and the
input normalization `normalize.shift`, `normalize.scale`, `normalize.matrix` where it has
them. The spec (a str array, never a pickle) holds `format`, `input_shape`, `output_shape`,
`loss`, `output` (softmax, sigmoid or identity: what turns the last layer's outputs into what
`tuidl predict` prints), `class_names`, `normalize` (method, layout and its array names:
x -> ((x - shift) @ matrix) * scale) and `layers`: per layer its `name`, `type`, TOML keys,
`input_shape`, `output_shape`, `params` (key -> array name) and, for conv2d, `pads` (top,
bottom, left, right) for its input size.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..atomic import atomic_write
from ..errors import ConfigError
from .onnxops import unexportable
from .runmodel import RunModel

FORMAT = "tuidl-model-1"
OUTPUTS = {"softmax_cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}


def model_arrays(run: RunModel) -> dict[str, np.ndarray]:
    """Every array the `.npz` holds, `spec` included.

    Raises:
        ConfigError: a layer that cannot be exported, naming it.
    """
    model = run.model
    problem = unexportable(model.logit_layers)
    if problem:
        raise ConfigError(problem)
    arrays: dict[str, np.ndarray] = {}
    layers = []
    for layer in model.logit_layers:
        entry: dict[str, Any] = {"name": layer.name, "type": layer.type, **layer.get_config()}
        entry |= {"input_shape": list(layer.input_shape), "output_shape": list(layer.output_shape)}
        stored = {**layer.params, **layer.state()}
        entry["params"] = {key: f"{layer.name}.{key}" for key in stored}
        arrays |= {f"{layer.name}.{key}": np.asarray(value) for key, value in stored.items()}
        if hasattr(layer, "pads"):
            entry["pads"] = list(layer.pads(*layer.input_shape[1:]))
        layers.append(entry)
    normalizer = run.dataset.normalizer
    normalize: dict[str, Any] = {"method": "none"}
    if normalizer is not None and normalizer.method != "none":
        normalize = {"method": normalizer.method, "layout": normalizer.layout}
        for key in ("shift", "matrix", "scale"):
            value = getattr(normalizer, key)
            if value is not None:
                arrays[f"normalize.{key}"] = np.asarray(value, np.float64)
                normalize[key] = f"normalize.{key}"
    spec = {
        "format": FORMAT,
        "name": run.experiment.name,
        "input_shape": list(model.input_shape),
        "output_shape": list(model.output_shape),
        "loss": model.loss_name,
        "output": OUTPUTS.get(model.loss_name, "identity"),
        "class_names": run.dataset.class_names,
        "normalize": normalize,
        "layers": layers,
    }
    arrays["spec"] = np.array(json.dumps(spec))
    return arrays


def save_npz(run: RunModel, path) -> None:
    """Write the run's model to `path` atomically."""
    arrays = model_arrays(run)
    with atomic_write(path) as file:
        np.savez(file, **arrays)
