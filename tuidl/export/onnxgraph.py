"""An ONNX model of a run: its normalization, its layers (`onnxops`) and the loss's link.

The graph takes raw inputs `input (N, *input_shape)` float32 in the units of the run's dataset
and starts with the dataset's normalization, so it answers what `tuidl predict` answers for the
same samples: probabilities for the cross-entropies (softmax, sigmoid), the outputs for mse.
Opset 17 with IR version 8, the pair the ONNX versioning table gives for it: onnxruntime loads
IR versions up to the one it was built with, so the lowest that carries opset 17 loads in the
most of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..datasets.normalize import Normalizer
from ..errors import ConfigError
from ..model import Sequential
from .inputs import INSTALL_HINT
from .onnxops import EMITTERS, unexportable
from .runmodel import RunModel

OPSET = 17
IR_VERSION = 8  # ONNX 1.12's: the first IR version of opset 17 (onnx/docs/Versioning.md)
INPUT, OUTPUT = "input", "output"
LINKS = {"softmax_cross_entropy": "Softmax", "binary_cross_entropy": "Sigmoid"}


def require_onnx() -> Any:
    """The `onnx` package, or a ConfigError saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise ConfigError(f"ONNX export needs the onnx package: {INSTALL_HINT}") from None
    return onnx


class Graph:
    """The nodes and initializers of a graph being built; every name made unique here.

    Tensors flow by name: `node` returns the name of its (first) output, which the next
    node takes as an input.
    """

    def __init__(self, onnx: Any) -> None:
        self.onnx = onnx
        self.nodes: list = []
        self.initializers: list = []
        self._taken: set[str] = {INPUT, OUTPUT}

    def _name(self, hint: str) -> str:
        name, k = hint, 1
        while name in self._taken:
            name, k = f"{hint}_{k}", k + 1
        self._taken.add(name)
        return name

    def const(self, hint: str, value: Any, dtype: type = np.float32) -> str:
        """An initializer holding `value` (float32 weights, int64 shapes and axes)."""
        name = self._name(hint)
        array = np.ascontiguousarray(np.asarray(value, dtype=dtype))
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], hint: str, outputs: int = 1, **attrs: Any):
        """Add an `op` node; its output name, or a list of them when `outputs` > 1."""
        names = [self._name(hint if i == 0 else f"{hint}_out{i}") for i in range(outputs)]
        self.nodes.append(
            self.onnx.helper.make_node(op, inputs, names, name=self._name(f"{hint}_node"), **attrs)
        )
        return names[0] if outputs == 1 else names


def build_onnx(run: RunModel) -> Any:
    """The `onnx.ModelProto` of a run's model (see `onnx_model`)."""
    return onnx_model(run.model, run.dataset.normalizer, run.experiment.name)


def onnx_model(model: Sequential, normalizer: Normalizer | None, name: str) -> Any:
    """The `onnx.ModelProto` of a built model behind `normalizer`, checked with
    `onnx.checker` (full check).

    Raises:
        ConfigError: onnx is not installed, or a layer has no ONNX form (naming it).
    """
    onnx = require_onnx()
    problem = unexportable(model.logit_layers)
    if problem:
        raise ConfigError(problem)
    graph = Graph(onnx)
    x = normalization(graph, normalizer, INPUT)
    for layer in model.logit_layers:
        x = EMITTERS[layer.type](graph, layer, x)
    link = LINKS.get(model.loss_name)
    if link == "Softmax":
        x = graph.node("Softmax", [x], "probabilities", axis=-1)
    elif link:
        x = graph.node(link, [x], "probabilities")
    graph.nodes.append(onnx.helper.make_node("Identity", [x], [OUTPUT], name="output_node"))
    float32 = onnx.TensorProto.FLOAT
    proto = onnx.helper.make_model(
        onnx.helper.make_graph(
            graph.nodes,
            f"tuidl {name}",
            [onnx.helper.make_tensor_value_info(INPUT, float32, ["N", *model.input_shape])],
            [onnx.helper.make_tensor_value_info(OUTPUT, float32, ["N", *model.output_shape])],
            graph.initializers,
        ),
        opset_imports=[onnx.helper.make_opsetid("", OPSET)],
        producer_name="tuidl",
        ir_version=IR_VERSION,
    )
    proto.doc_string = (
        f"{name}: raw inputs, normalized inside the graph as the training data was; "
        f"output: {OUTPUT_DOC.get(model.loss_name, 'the last layer')}"
    )
    onnx.checker.check_model(proto, full_check=True)
    return proto


OUTPUT_DOC = {
    "softmax_cross_entropy": "class probabilities (softmax)",
    "binary_cross_entropy": "probabilities (sigmoid)",
}


def normalization(graph: Graph, normalizer: Normalizer | None, x: str) -> str:
    """The nodes of `Normalizer.apply`: subtract the shift, rotate (pca-whiten), scale.

    The whitening matrix runs in float32 here (numpy's `apply` uses float64): the outputs
    differ by float32 rounding.
    """
    if normalizer is None or normalizer.method == "none":
        return x
    if normalizer.shift is not None:
        x = graph.node("Sub", [x, graph.const("norm_shift", normalizer.shift)], "normalized")
    if normalizer.matrix is not None:
        if normalizer.layout == "image":  # the matrix acts on a whole flattened image
            shape = graph.node("Shape", [x], "image_shape")
            flat = graph.node("Flatten", [x], "image_flat", axis=1)
            rotated = graph.node(
                "MatMul", [flat, graph.const("norm_matrix", normalizer.matrix)], "whitened"
            )
            x = graph.node("Reshape", [rotated, shape], "whitened_image")
        else:  # per sample (flat) or per step (sequence): the last axis holds the features
            x = graph.node("MatMul", [x, graph.const("norm_matrix", normalizer.matrix)], "whitened")
    if normalizer.scale is not None:
        x = graph.node("Mul", [x, graph.const("norm_scale", normalizer.scale)], "scaled")
    return x


def save_onnx(proto: Any, path) -> None:
    """Write `proto` to `path` atomically (a temporary file renamed)."""
    from ..atomic import atomic_write

    with atomic_write(path) as file:
        file.write(proto.SerializeToString())
