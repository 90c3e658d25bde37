"""Max and average pooling over square windows of `(N, C, H, W)` images."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels.pool2d import (
    avgpool2d_backward,
    avgpool2d_forward,
    maxpool2d_backward,
    maxpool2d_forward,
)
from ..validate import integer
from .base import Layer, Shape


class _Pool2D(Layer):
    """Shared keys and shapes: a `size` x `size` window every `stride` pixels (default: size).

    "Valid" pooling: OH = (H - size) // stride + 1; rows and columns that do not fill a window
    are dropped (and get zero gradient).
    """

    def __init__(self, size: int = 2, stride: int | None = None) -> None:
        super().__init__()
        self.size = integer("size", size, low=1)
        self.stride = self.size if stride is None else integer("stride", stride, low=1)
        self._stride_given = stride is not None
        self._x_shape: tuple[int, ...] | None = None
        self._argmax: np.ndarray | None = None  # max pooling only

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"size": self.size}
        if self._stride_given:
            config["stride"] = self.stride
        return config

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3 or min(input_shape) < 1:
            raise ValueError(
                f"{self.type} takes images (channels, height, width) per sample, got {input_shape}"
            )
        C, H, W = input_shape
        OH = (H - self.size) // self.stride + 1
        OW = (W - self.size) // self.stride + 1
        if OH < 1 or OW < 1:
            raise ValueError(
                f"{self.type} window {self.size}x{self.size} does not fit input {input_shape}: "
                f"output would be {(C, OH, OW)}"
            )
        return (C, OH, OW)


class MaxPool2D(_Pool2D):
    """Maximum of each window; its gradient goes to the first maximal input (row-major)."""

    type = "maxpool2d"

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        y, self._argmax = maxpool2d_forward(x, self.size, self.stride)
        self._x_shape = x.shape
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        if not self.needs_input_grad:
            return None
        return maxpool2d_backward(dy, self._argmax, self._x_shape)


class AvgPool2D(_Pool2D):
    """Mean of each window; its gradient is spread evenly over the window."""

    type = "avgpool2d"

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        self._x_shape = x.shape
        return avgpool2d_forward(x, self.size, self.stride)

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        if not self.needs_input_grad:
            return None
        return avgpool2d_backward(dy, self._x_shape, self.size, self.stride)
