"""2-D convolution layer over `(N, C, H, W)` images."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..initializers import InitSpec, check_init, initialize
from ..kernels.conv2d import conv2d_backward, conv2d_forward, conv2d_forward_train
from ..validate import integer
from .base import Layer, Shape

PADDINGS = ("valid", "same")


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) zero padding so that out = ceil(size / stride), TensorFlow's "same".

    The odd pixel goes after (bottom/right), as in TensorFlow's `conv2d`.
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _kernel_size(kernel: Any) -> tuple[int, int]:
    if isinstance(kernel, list | tuple):
        if len(kernel) == 2 and all(
            isinstance(k, int) and not isinstance(k, bool) and k >= 1 for k in kernel
        ):
            return int(kernel[0]), int(kernel[1])
        raise ValueError(
            f"kernel must be a positive integer or [height, width] of positive integers, "
            f"got {kernel!r}"
        )
    k = integer("kernel", kernel, low=1)
    return k, k


def _padding(padding: Any) -> str | int:
    if isinstance(padding, str) and padding in PADDINGS:
        return padding
    if isinstance(padding, int) and not isinstance(padding, bool) and padding >= 0:
        return padding
    raise ValueError(f'padding must be "valid", "same" or an integer >= 0, got {padding!r}')


class Conv2D(Layer):
    """y[n, f] = b[f] + sum over channels c of W[f, c] cross-correlated with x[n, c].

    Input `(C, H, W)` per sample, output `(filters, OH, OW)`. Params: `W (filters, C, KH, KW)`,
    `b (filters,)`. Padding "valid" adds none, "same" gives OH = ceil(H / stride) with any odd
    pixel at the bottom/right (TensorFlow), an int pads every side by that much.
    """

    type = "conv2d"
    shrink_hint = "use fewer filters or a smaller kernel"

    def __init__(
        self,
        filters: int,
        kernel: int | list[int],
        stride: int = 1,
        padding: str | int = "valid",
        init: InitSpec | None = None,
    ) -> None:
        super().__init__()
        self.filters = integer("filters", filters, low=1)
        self.kernel_size = _kernel_size(kernel)
        self.kernel = kernel if isinstance(kernel, int) else list(self.kernel_size)
        self.stride = integer("stride", stride, low=1)
        self.padding = _padding(padding)
        self.init = None if init is None else check_init(init)
        self._x: np.ndarray | None = None
        self._workspace = None  # what backward reuses (padded input, or gemm buffers)
        self._spare = None  # an old workspace whose buffers the next forward recycles

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "filters": self.filters,
            "kernel": self.kernel,
            "stride": self.stride,
            "padding": self.padding,
        }
        if self.init is not None:
            config["init"] = self.init
        return config

    def pads(self, height: int, width: int) -> tuple[int, int, int, int]:
        """Zero padding (top, bottom, left, right) for an input of `height` x `width`."""
        if self.padding == "valid":
            return (0, 0, 0, 0)
        if self.padding == "same":
            KH, KW = self.kernel_size
            return (*same_padding(height, KH, self.stride), *same_padding(width, KW, self.stride))
        return (self.padding,) * 4

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3 or min(input_shape) < 1:
            raise ValueError(
                f"conv2d takes images (channels, height, width) per sample, got {input_shape}"
            )
        _, H, W = input_shape
        top, bottom, left, right = self.pads(H, W)
        KH, KW = self.kernel_size
        OH = (H + top + bottom - KH) // self.stride + 1
        OW = (W + left + right - KW) // self.stride + 1
        if OH < 1 or OW < 1:
            raise ValueError(
                f"conv2d kernel {KH}x{KW} does not fit input {input_shape} with padding "
                f"{self.padding!r} (padded {H + top + bottom}x{W + left + right}): output would "
                f"be {(self.filters, OH, OW)}"
            )
        return (self.filters, OH, OW)

    def param_count(self, input_shape: Shape) -> int:
        KH, KW = self.kernel_size
        return self.filters * (input_shape[0] * KH * KW + 1)

    def activation_floats(self, input_shape: Shape) -> int:
        """Output and its gradient, and the im2col matrix (C*KH*KW per output pixel) that
        training keeps for backward."""
        _, OH, OW = self.compute_output_shape(input_shape)
        KH, KW = self.kernel_size
        return super().activation_floats(input_shape) + input_shape[0] * KH * KW * OH * OW

    def build(
        self, input_shape: Shape, rng: np.random.Generator, init: InitSpec | None = None
    ) -> Shape:
        output_shape = super().build(input_shape, rng, init)
        C = input_shape[0]
        KH, KW = self.kernel_size
        shape = (self.filters, C, KH, KW)
        scheme = self.init or init or "he"
        self.params = {
            "W": initialize(scheme, shape, C * KH * KW, self.filters * KH * KW, rng),
            "b": np.zeros(self.filters, np.float32),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        return output_shape

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        pad = self.pads(*x.shape[2:])
        W, b = self.params["W"], self.params["b"]
        self._x = x
        old = self._workspace or self._spare
        if train:  # keep the padded input or im2col matrix: backward reuses it
            y, self._workspace = conv2d_forward_train(x, W, b, self.stride, pad, reuse=old)
            self._spare = None
        else:
            self._workspace, self._spare = None, old
            y = conv2d_forward(x, W, b, self.stride, pad)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        x = self._x
        dx, dW, db = conv2d_backward(
            dy,
            x,
            self.params["W"],
            self.stride,
            self.pads(*x.shape[2:]),
            self.needs_input_grad,
            workspace=self._workspace,
        )
        self.grads["W"][...] = dW
        self.grads["b"][...] = db
        return dx
