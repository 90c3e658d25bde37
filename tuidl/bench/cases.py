"""The kernel cases `tuidl bench` times: shapes, inputs, targets, and the three implementations.

Shapes are those of typical small networks (LeNet's convolutions on MNIST, an MLP layer, an
LSTM on the adding problem); `--quick` swaps in tiny shapes
with the same channel counts, so the kernels still pick the same algorithms. Each
implementation builder returns a zero-argument callable doing forward + backward on fixed
inputs (warm caches, as in a training loop) and returning a dict of named tensors in tuidl's
layouts: `y`, `dx`, `dW`/`db` (conv, dense), `dW_x`/`dW_h`/`db` (LSTM).

The tuidl side calls the kernels the way the layers do: the conv workspace and the LSTM cache
of the previous call are passed back in (`reuse=`), and dense is the `Dense` layer itself
(tuidl has no dense kernel: it is numpy's GEMM).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tuidl.kernels import conv2d as conv_kernels
from tuidl.kernels import lstm as lstm_kernels
from tuidl.kernels import pool2d as pool_kernels

from . import numpy_ref

Run = Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class KernelCase:
    """One row of the kernel table.

    Attributes:
        name: the row label.
        group: `conv`, `pool`, `dense` or `lstm` (what `--only` selects).
        kind: which builders run it: `conv`, `maxpool`, `avgpool`, `dense`, `lstm`.
        shape: the sizes, per kind: conv x, W, pad, need_dx; pool x; dense x, units; lstm
            N, T, D, H.
        target: the target for tuidl / best of (numpy, PyTorch), None if there is none.
        anchor_ms: the best time we measured for it on a 2-core VM, for reference.
    """

    name: str
    group: str
    kind: str
    shape: dict[str, Any] = field(hash=False)
    target: float | None = None
    anchor_ms: float | None = None

    @property
    def shapes(self) -> str:
        """The sizes as the table prints them."""
        s = self.shape
        if self.kind == "conv":
            pad = s["pad"][0]
            grads = "" if s["need_dx"] else ", no dx"
            return f"x{_dims(s['x'])} w{_dims(s['W'])} pad {pad}{grads}"
        if self.kind in ("maxpool", "avgpool"):
            return f"x{_dims(s['x'])} 2x2/2"
        if self.kind == "dense":
            return f"x{_dims(s['x'])} @ ({s['x'][1]},{s['units']})"
        return f"T={s['T']} N={s['N']} D={s['D']} H={s['H']}, full BPTT"


def _dims(shape) -> str:
    return "(" + ",".join(str(d) for d in shape) + ")"


def kernel_cases(quick: bool = False) -> list[KernelCase]:
    """The kernel table's rows, full size or tiny (`quick`)."""
    if quick:
        a, b = (4, 1, 12, 12), (4, 16, 6, 6)
        pool, dense, rec = (4, 4, 8, 8), ((8, 64), 32), {"N": 4, "T": 5, "D": 8, "H": 16}
    else:
        a, b = (64, 1, 28, 28), (64, 16, 14, 14)
        pool, dense, rec = (64, 16, 28, 28), ((64, 784), 256), {"N": 64, "T": 50, "D": 32, "H": 128}
    conv_a = {"x": a, "W": (8, 1, 5, 5), "pad": (2, 2, 2, 2)}
    conv_b = {"x": b, "W": (32, 16, 3, 3), "pad": (1, 1, 1, 1)}
    return [
        KernelCase("conv2d A, first layer", "conv", "conv", conv_a | {"need_dx": False}, 0.8),
        KernelCase("conv2d A", "conv", "conv", conv_a | {"need_dx": True}, 0.8, 1.58),
        KernelCase("conv2d B", "conv", "conv", conv_b | {"need_dx": True}, 1.0, 1.00),
        KernelCase("max-pool", "pool", "maxpool", {"x": pool}, 0.5, 1.02),
        KernelCase("avg-pool", "pool", "avgpool", {"x": pool}, 0.5, 1.13),
        KernelCase("dense", "dense", "dense", {"x": dense[0], "units": dense[1]}, 1.0, 0.36),
        KernelCase("LSTM", "lstm", "lstm", rec, 1.0, 5.6),
    ]


def _normal(rng: np.random.Generator, shape, scale: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def make_inputs(case: KernelCase, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """float32 inputs, weights ~ N(0, 1/fan_in) (LSTM: PyTorch's U(-1/sqrt(H), 1/sqrt(H))),
    and an N(0, 1) upstream gradient."""
    s = case.shape
    if case.kind == "conv":
        N, C, H, W = s["x"]
        F, _, KH, KW = s["W"]
        top, bottom, left, right = s["pad"]
        OH, OW = H + top + bottom - KH + 1, W + left + right - KW + 1
        return {
            "x": _normal(rng, s["x"]),
            "W": _normal(rng, s["W"], (C * KH * KW) ** -0.5),
            "b": _normal(rng, F, 0.1),
            "dy": _normal(rng, (N, F, OH, OW)),
        }
    if case.kind in ("maxpool", "avgpool"):
        N, C, H, W = s["x"]
        return {"x": _normal(rng, s["x"]), "dy": _normal(rng, (N, C, H // 2, W // 2))}
    if case.kind == "dense":
        (N, D), U = s["x"], s["units"]
        return {
            "x": _normal(rng, (N, D)),
            "W": _normal(rng, (D, U), D**-0.5),
            "b": _normal(rng, U, 0.1),
            "dy": _normal(rng, (N, U)),
        }
    N, T, D, H = s["N"], s["T"], s["D"], s["H"]
    bound = H**-0.5

    def uniform(shape):
        return rng.uniform(-bound, bound, shape).astype(np.float32)

    return {
        "x": _normal(rng, (N, T, D)),
        "W_x": uniform((D, 4 * H)),
        "W_h": uniform((H, 4 * H)),
        "b": uniform(4 * H),
        "dh": _normal(rng, (N, T, H)),
    }


def numpy_impl(case: KernelCase, a: dict[str, np.ndarray]) -> Run:
    """The plain-numpy reference (`numpy_ref`) on these inputs."""
    if case.kind == "conv":
        need_dx = case.shape["need_dx"]
        return lambda: numpy_ref.conv2d(
            a["x"], a["W"], a["b"], 1, case.shape["pad"], a["dy"], need_dx
        )
    if case.kind == "maxpool":
        return lambda: numpy_ref.maxpool2x2(a["x"], a["dy"])
    if case.kind == "avgpool":
        return lambda: numpy_ref.avgpool2x2(a["x"], a["dy"])
    if case.kind == "dense":
        return lambda: numpy_ref.dense(a["x"], a["W"], a["b"], a["dy"])
    return lambda: numpy_ref.lstm(a["x"], a["W_x"], a["W_h"], a["b"], a["dh"])


def torch_impl(case: KernelCase, a: dict[str, np.ndarray]) -> Run:
    """The PyTorch counterpart (`torch_ref`); imports torch."""
    from . import torch_ref

    if case.kind == "conv":
        return torch_ref.conv2d(
            a["x"], a["W"], a["b"], 1, case.shape["pad"], a["dy"], case.shape["need_dx"]
        )
    if case.kind == "maxpool":
        return torch_ref.maxpool2x2(a["x"], a["dy"])
    if case.kind == "avgpool":
        return torch_ref.avgpool2x2(a["x"], a["dy"])
    if case.kind == "dense":
        return torch_ref.dense(a["x"], a["W"], a["b"], a["dy"])
    return torch_ref.lstm(a["x"], a["W_x"], a["W_h"], a["b"], a["dh"])


def tuidl_impl(case: KernelCase, a: dict[str, np.ndarray]) -> Run:
    """tuidl's kernels, called as its layers call them (workspace and cache reuse)."""
    if case.kind == "conv":
        return _tuidl_conv(a, case.shape["pad"], case.shape["need_dx"])
    if case.kind == "maxpool":
        x, dy = a["x"], a["dy"]

        def maxpool() -> dict[str, Any]:
            y, argmax = pool_kernels.maxpool2d_forward(x, 2, 2)
            return {"y": y, "dx": pool_kernels.maxpool2d_backward(dy, argmax, x.shape)}

        return maxpool
    if case.kind == "avgpool":
        x, dy = a["x"], a["dy"]

        def avgpool() -> dict[str, Any]:
            y = pool_kernels.avgpool2d_forward(x, 2, 2)
            return {"y": y, "dx": pool_kernels.avgpool2d_backward(dy, x.shape, 2, 2)}

        return avgpool
    if case.kind == "dense":
        return _tuidl_dense(a)
    return _tuidl_lstm(a)


def _tuidl_conv(a: dict[str, np.ndarray], pad, need_dx: bool) -> Run:
    x, W, b, dy = a["x"], a["W"], a["b"], a["dy"]
    spare: list = [None]  # the previous call's workspace, recycled as the Conv2D layer does

    def conv() -> dict[str, Any]:
        y, ws = conv_kernels.conv2d_forward_train(x, W, b, 1, pad, reuse=spare[0])
        spare[0] = ws
        dx, dW, db = conv_kernels.conv2d_backward(dy, x, W, 1, pad, need_dx, workspace=ws)
        out = {"y": y, "dW": dW, "db": db}
        if need_dx:
            out["dx"] = dx
        return out

    return conv


def _tuidl_dense(a: dict[str, np.ndarray]) -> Run:
    from tuidl.layers import Dense

    x, dy = a["x"], a["dy"]
    layer = Dense(a["W"].shape[1])
    layer.build((x.shape[1],), np.random.default_rng(0))
    layer.params["W"][...] = a["W"]
    layer.params["b"][...] = a["b"]

    def dense() -> dict[str, Any]:
        y = layer.forward(x, train=True)
        dx = layer.backward(dy)
        return {"y": y, "dx": dx, "dW": layer.grads["W"], "db": layer.grads["b"]}

    return dense


def _tuidl_lstm(a: dict[str, np.ndarray]) -> Run:
    x, W_x, W_h, b, dh = a["x"], a["W_x"], a["W_h"], a["b"], a["dh"]
    cache: list = [None]  # the previous call's cache, overwritten as the LSTM layer does

    def lstm() -> dict[str, Any]:
        h_seq, cache[0] = lstm_kernels.lstm_forward(x, W_x, W_h, b, cache[0])
        dx, dW_x, dW_h, db = lstm_kernels.lstm_backward(dh, x, W_x, W_h, cache[0], True)
        return {"y": h_seq, "dx": dx, "dW_x": dW_x, "dW_h": dW_h, "db": db}

    return lstm


def snapshot(outputs: dict[str, Any]) -> dict[str, np.ndarray]:
    """Copies of a run's tensors as numpy arrays (runs may return views of reused buffers)."""
    copies = {}
    for key, value in outputs.items():
        if hasattr(value, "detach"):  # a torch tensor
            value = value.detach().numpy()
        copies[key] = np.array(value, copy=True)
    return copies
