"""Each layer type as ONNX operators (opset 17), on tensors laid out as tuidl's: (N, ...).

`EMITTERS[layer.type](graph, layer, x)` adds the layer's nodes after tensor `x` and returns
the name of its output. Layers without an ONNX form are not in `EMITTERS`; `unexportable`
names the first of them. The table in the README (Export) lists every mapping.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..layers import (
    ELU,
    LSTM,
    RBM,
    RNN,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Layer,
    LeakyReLU,
    Maxout,
    MaxPool2D,
    PReLU,
)

# tuidl's LSTM gate blocks are i, f, g, o; ONNX's are i, o, f, c (c is tuidl's g)
LSTM_TO_ONNX = (0, 3, 1, 2)


def dense(graph, layer: Dense, x: str) -> str:
    W, b = layer.params["W"], layer.params["b"]
    if len(layer.input_shape) == 1:
        return graph.node(
            "Gemm",
            [x, graph.const(f"{layer.name}.W", W), graph.const(f"{layer.name}.b", b)],
            layer.name,
        )
    # time-distributed over (N, T, D): Gemm takes matrices only
    y = graph.node("MatMul", [x, graph.const(f"{layer.name}.W", W)], f"{layer.name}_xW")
    return graph.node("Add", [y, graph.const(f"{layer.name}.b", b)], layer.name)


def conv2d(graph, layer: Conv2D, x: str) -> str:
    _, height, width = layer.input_shape
    top, bottom, left, right = layer.pads(height, width)  # "same" with even kernels: uneven
    KH, KW = layer.kernel_size
    inputs = [
        x,
        graph.const(f"{layer.name}.W", layer.params["W"]),
        graph.const(f"{layer.name}.b", layer.params["b"]),
    ]
    return graph.node(
        "Conv",
        inputs,
        layer.name,
        kernel_shape=[KH, KW],
        strides=[layer.stride, layer.stride],
        pads=[top, left, bottom, right],  # ONNX: all the begins, then all the ends
    )


def maxpool2d(graph, layer: MaxPool2D, x: str) -> str:
    size, stride = [layer.size] * 2, [layer.stride] * 2
    return graph.node("MaxPool", [x], layer.name, kernel_shape=size, strides=stride)


def avgpool2d(graph, layer: AvgPool2D, x: str) -> str:
    # tuidl pools "valid" windows only: no padding, so every window averages size^2 pixels and
    # count_include_pad (0, pads left out of the count) changes nothing; set it so anyway
    size, stride = [layer.size] * 2, [layer.stride] * 2
    return graph.node(
        "AveragePool", [x], layer.name, kernel_shape=size, strides=stride, count_include_pad=0
    )


def flatten(graph, layer: Layer, x: str) -> str:
    return graph.node("Flatten", [x], layer.name, axis=1)


def identity(graph, layer: Layer, x: str) -> str:
    """Dropout: the identity at inference, so no node at all."""
    return x


def _unary(op: str) -> Callable:
    def emit(graph, layer: Layer, x: str) -> str:
        return graph.node(op, [x], layer.name)

    return emit


def leaky_relu(graph, layer: LeakyReLU, x: str) -> str:
    return graph.node("LeakyRelu", [x], layer.name, alpha=float(layer.alpha))


def elu(graph, layer: ELU, x: str) -> str:
    return graph.node("Elu", [x], layer.name, alpha=float(layer.alpha))


def _per_channel(layer: Layer, values: np.ndarray) -> np.ndarray:
    """A per-channel vector shaped to broadcast against (N, C, H, W) or the last axis."""
    return values.reshape(-1, 1, 1) if len(layer.input_shape) == 3 else values


def prelu(graph, layer: PReLU, x: str) -> str:
    slope = graph.const(f"{layer.name}.alpha", _per_channel(layer, layer.params["alpha"]))
    return graph.node("PRelu", [x, slope], layer.name)


def softmax(graph, layer: Layer, x: str) -> str:
    return graph.node("Softmax", [x], layer.name, axis=-1)


def maxout(graph, layer: Maxout, x: str) -> str:
    """Split the unit axis into (groups, pieces), then the max over the pieces."""
    shape = list(layer.input_shape)
    axis = 0 if len(shape) == 3 else len(shape) - 1
    grouped = [0, *shape[:axis], shape[axis] // layer.pieces, layer.pieces, *shape[axis + 1 :]]
    # 0 in a Reshape shape copies that axis from the input: the batch size stays free
    y = graph.node(
        "Reshape",
        [x, graph.const(f"{layer.name}_shape", grouped, np.int64)],
        f"{layer.name}_grouped",
    )
    return graph.node("ReduceMax", [y], layer.name, axes=[axis + 2], keepdims=0)


def batchnorm(graph, layer: BatchNorm, x: str) -> str:
    """Inference form: the running statistics and tuidl's eps. ONNX normalizes axis 1, so
    sequences (N, T, D) are turned to (N, D, T) and back."""
    name = layer.name
    inputs = [
        graph.const(f"{name}.gamma", layer.params["gamma"]),
        graph.const(f"{name}.beta", layer.params["beta"]),
        graph.const(f"{name}.running_mean", layer.running_mean),
        graph.const(f"{name}.running_var", layer.running_var),
    ]
    sequence = len(layer.input_shape) == 2
    if sequence:
        x = graph.node("Transpose", [x], f"{name}_features_first", perm=[0, 2, 1])
    y = graph.node(
        "BatchNormalization",
        [x, *inputs],
        f"{name}_norm" if sequence else name,
        epsilon=float(layer.eps),
    )
    if sequence:
        y = graph.node("Transpose", [y], name, perm=[0, 2, 1])
    return y


def _gate_blocks(W: np.ndarray, gates: int, order: tuple[int, ...]) -> np.ndarray:
    """Columns of `W (rows, gates * H)` regrouped by gate in `order`, as (1, gates * H, rows)."""
    blocks = np.split(W, gates, axis=-1)
    return np.concatenate([blocks[k] for k in order], axis=-1).T[None]


def _recurrent(graph, layer: LSTM | RNN, x: str, op: str, order: tuple[int, ...]) -> str:
    """ONNX's LSTM/RNN with layout 0 (time-major: onnxruntime refuses layout 1), transposed in
    and out; h_0 (and c_0) are zero in both. ONNX adds an input bias and a recurrent bias: the
    recurrent one is zero."""
    name, p, H = layer.name, layer.params, layer.units
    gates = len(order)
    W = graph.const(f"{name}.W_x", _gate_blocks(p["W_x"], gates, order))
    R = graph.const(f"{name}.W_h", _gate_blocks(p["W_h"], gates, order))
    b = _gate_blocks(p["b"][None], gates, order).reshape(1, -1)
    B = graph.const(f"{name}.b", np.concatenate([b, np.zeros_like(b)], axis=1))
    steps_first = graph.node("Transpose", [x], f"{name}_time_major", perm=[1, 0, 2])
    Y, Y_h = graph.node(op, [steps_first, W, R, B], f"{name}_Y", outputs=2, hidden_size=H, layout=0)
    if layer.return_sequences:  # Y (T, 1, N, H) -> (N, T, H)
        axis = graph.const(f"{name}_direction_axis", [1], np.int64)
        y = graph.node("Squeeze", [Y, axis], f"{name}_steps")
        return graph.node("Transpose", [y], name, perm=[1, 0, 2])
    axis = graph.const(f"{name}_direction_axis", [0], np.int64)  # Y_h (1, N, H) -> (N, H)
    return graph.node("Squeeze", [Y_h, axis], name)


def lstm(graph, layer: LSTM, x: str) -> str:
    return _recurrent(graph, layer, x, "LSTM", LSTM_TO_ONNX)


def rnn(graph, layer: RNN, x: str) -> str:
    return _recurrent(graph, layer, x, "RNN", (0,))  # default activation: Tanh, as tuidl's


def rbm(graph, layer: RBM, x: str) -> str:
    """The deterministic up-pass, sigmoid(x W + b): what the network computes with it (the
    visible biases `c` only serve pretraining)."""
    W, b = (
        graph.const(f"{layer.name}.W", layer.params["W"]),
        graph.const(f"{layer.name}.b", layer.params["b"]),
    )
    z = graph.node("Gemm", [x, W, b], f"{layer.name}_z")
    return graph.node("Sigmoid", [z], layer.name)


EMITTERS: dict[str, Callable] = {
    "dense": dense,
    "conv2d": conv2d,
    "maxpool2d": maxpool2d,
    "avgpool2d": avgpool2d,
    "flatten": flatten,
    "dropout": identity,
    "batchnorm": batchnorm,
    "relu": _unary("Relu"),
    "leaky_relu": leaky_relu,
    "prelu": prelu,
    "elu": elu,
    "sigmoid": _unary("Sigmoid"),
    "tanh": _unary("Tanh"),
    "maxout": maxout,
    "softmax": softmax,
    "lstm": lstm,
    "rnn": rnn,
    "rbm": rbm,
}


def unexportable(layers: list[Layer]) -> str:
    """The one-line reason the first layer without an ONNX (or npz) form stops an export,
    or '' when every layer has one."""
    for index, layer in enumerate(layers):
        if layer.type not in EMITTERS:
            return (
                f"layer {index} ({layer.name}) cannot be exported: {layer.type} layers have no "
                f"ONNX or npz form (exportable: {', '.join(EMITTERS)})"
            )
    return ""
