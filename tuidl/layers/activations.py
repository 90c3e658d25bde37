"""Elementwise activations, softmax and maxout.

Each caches the one array its backward needs: the input, the output or a mask.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..initializers import InitSpec
from ..kernels.elementwise import relu_backward, relu_forward
from ..validate import integer, number
from .base import Layer, Shape


class ReLU(Layer):
    """y = max(x, 0)."""

    type = "relu"

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        self._x = x
        return relu_forward(x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return relu_backward(dy, self._x)


class LeakyReLU(Layer):
    """y = x for x > 0, alpha * x otherwise (Maas et al. 2013)."""

    type = "leaky_relu"

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = number("alpha", alpha, 0.0, 1.0)

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        self._slope = np.where(x > 0, 1.0, self.alpha).astype(x.dtype)
        return x * self._slope

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * self._slope


class PReLU(Layer):
    """Leaky ReLU with a learned slope per channel (He et al. 2015), initialised to 0.25.

    The channel axis is C for images `(C, H, W)` and the feature axis otherwise. Param: `alpha`.
    """

    type = "prelu"
    INITIAL_SLOPE = 0.25

    def param_count(self, input_shape: Shape) -> int:
        return input_shape[0] if len(input_shape) == 3 else input_shape[-1]

    def build(
        self, input_shape: Shape, rng: np.random.Generator, init: InitSpec | None = None
    ) -> Shape:
        output_shape = super().build(input_shape, rng, init)
        channels = input_shape[0] if len(input_shape) == 3 else input_shape[-1]
        self.params = {"alpha": np.full(channels, self.INITIAL_SLOPE, np.float32)}
        self.grads = {"alpha": np.zeros(channels, np.float32)}
        return output_shape

    def _broadcast(self, ndim: int) -> tuple[int, ...]:
        """Shape that lines `alpha` up with the channel axis of an `ndim`-array."""
        if ndim == 4:
            return (1, -1, 1, 1)
        return (1,) * (ndim - 1) + (-1,)

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        self._x = x
        alpha = self.params["alpha"].reshape(self._broadcast(x.ndim))
        return np.where(x > 0, x, alpha * x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x = self._x
        negative = x <= 0
        axes = tuple(i for i in range(x.ndim) if i != (1 if x.ndim == 4 else x.ndim - 1))
        self.grads["alpha"][...] = np.sum(dy * x * negative, axis=axes)
        alpha = self.params["alpha"].reshape(self._broadcast(x.ndim))
        return np.where(negative, alpha * dy, dy)


class ELU(Layer):
    """y = x for x > 0, alpha * (exp(x) - 1) otherwise (Clevert et al. 2016)."""

    type = "elu"

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = number("alpha", alpha, 0.0, 100.0)

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        self._x = x
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x = self._x
        return np.where(x > 0, dy, dy * self.alpha * np.exp(np.minimum(x, 0)))


class Sigmoid(Layer):
    """y = 1 / (1 + exp(-x)), computed without overflow for large |x|."""

    type = "sigmoid"

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        self._y = sigmoid(x)
        return self._y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        y = self._y
        return dy * y * (1 - y)


class Tanh(Layer):
    """y = tanh(x)."""

    type = "tanh"

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        self._y = np.tanh(x)
        return self._y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * (1 - self._y * self._y)


class Softmax(Layer):
    """y = exp(x - max x) / sum(exp(x - max x)) over the last axis (the max keeps exp finite).

    Backward is the Jacobian-vector product dx = y * (dy - sum(dy * y)). As the last layer with
    loss = "softmax_cross_entropy" the model fuses it with the loss (`Sequential.logit_layers`):
    training feeds the loss this layer's input and never calls its backward, so softmax is not
    applied twice, while `forward` and `predict` still return probabilities.
    """

    type = "softmax"

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if input_shape[-1] < 2:
            raise ValueError(
                f"softmax of {input_shape[-1]} unit is always 1 and learns nothing; give the "
                "layer before it at least 2 units, or use one unit with binary_cross_entropy"
            )
        return input_shape

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        y = np.exp(x - x.max(axis=-1, keepdims=True))
        y /= y.sum(axis=-1, keepdims=True)
        self._y = y
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        y = self._y
        return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))


class Maxout(Layer):
    """Max over groups of `pieces` consecutive units (Goodfellow et al. 2013).

    Groups run along the channel axis of images `(C, H, W)` -> `(C / pieces, H, W)` and along
    the feature axis otherwise `(D,)` -> `(D / pieces,)`.
    """

    type = "maxout"

    def __init__(self, pieces: int = 2) -> None:
        super().__init__()
        self.pieces = integer("pieces", pieces, low=1)

    def get_config(self) -> dict[str, Any]:
        return {"pieces": self.pieces}

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        axis = 0 if len(input_shape) == 3 else len(input_shape) - 1
        units = input_shape[axis]
        if units % self.pieces:
            raise ValueError(
                f"maxout with pieces={self.pieces} needs a unit count divisible by it, "
                f"got {units} in input shape {input_shape}"
            )
        shape = list(input_shape)
        shape[axis] = units // self.pieces
        return tuple(shape)

    def _grouped(self, x: np.ndarray) -> tuple[np.ndarray, int]:
        """`x` with its unit axis split into (groups, pieces), and the pieces axis index."""
        axis = 1 if x.ndim == 4 else x.ndim - 1
        shape = (*x.shape[:axis], x.shape[axis] // self.pieces, self.pieces, *x.shape[axis + 1 :])
        return x.reshape(shape), axis + 1

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        grouped, axis = self._grouped(x)
        self._x_shape = x.shape
        self._argmax = np.argmax(grouped, axis=axis)
        return np.take_along_axis(grouped, np.expand_dims(self._argmax, axis), axis).squeeze(axis)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx = np.zeros(self._x_shape, dy.dtype)
        grouped, axis = self._grouped(dx)
        np.put_along_axis(
            grouped, np.expand_dims(self._argmax, axis), np.expand_dims(dy, axis), axis
        )
        return dx


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function; exp only of non-positive numbers, so it never overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
