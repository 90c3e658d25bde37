"""Fully connected layer and flatten."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..initializers import InitSpec, check_init, initialize
from ..kernels import dense
from ..validate import integer
from .base import Layer, Shape


class Dense(Layer):
    """y = x W + b, on `(N, D)` or, time-distributed, on `(N, T, D)` sequences.

    Params: `W (D, units)`, `b (units,)`.
    """

    type = "dense"
    shrink_hint = "use fewer units (or pool before flatten, so fewer features reach it)"

    def __init__(self, units: int, init: InitSpec | None = None) -> None:
        super().__init__()
        self.units = integer("units", units, low=1)
        self.init = None if init is None else check_init(init)
        self._x: np.ndarray | None = None

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"units": self.units}
        if self.init is not None:
            config["init"] = self.init
        return config

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) not in (1, 2):
            raise ValueError(
                f"dense takes (features,) or (steps, features) per sample, got {input_shape}; "
                "add a flatten layer before it"
            )
        return (*input_shape[:-1], self.units)

    def param_count(self, input_shape: Shape) -> int:
        return (input_shape[-1] + 1) * self.units

    def build(
        self, input_shape: Shape, rng: np.random.Generator, init: InitSpec | None = None
    ) -> Shape:
        output_shape = super().build(input_shape, rng, init)
        d = input_shape[-1]
        scheme = self.init or init or "he"
        self.params = {
            "W": initialize(scheme, (d, self.units), d, self.units, rng),
            "b": np.zeros(self.units, np.float32),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        return output_shape

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        self._x = x
        y = dense.forward(x.reshape(-1, x.shape[-1]), self.params["W"], self.params["b"])
        return y.reshape(*x.shape[:-1], self.units)

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        x = self._x
        dx = dense.backward(
            x.reshape(-1, x.shape[-1]),
            self.params["W"],
            dy.reshape(-1, self.units),
            self.grads["W"],
            self.grads["b"],
            need_dx=self.needs_input_grad,
        )
        return None if dx is None else dx.reshape(x.shape)


class Flatten(Layer):
    """`(N, ...)` to `(N, prod(...))`."""

    type = "flatten"

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (int(np.prod(input_shape)),)

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy.reshape(self._shape)
