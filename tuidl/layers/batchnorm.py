"""Batch normalization (Ioffe & Szegedy 2015)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..initializers import InitSpec
from ..validate import number
from .base import Layer, Shape


class BatchNorm(Layer):
    """Normalize each feature over the batch, then scale by `gamma` and shift by `beta`.

    Features are channels for images `(C, H, W)` (statistics over N, H, W) and the last axis
    otherwise (over N, or N and T for sequences). Training uses batch statistics and updates
    running ones: running = momentum * running + (1 - momentum) * batch; evaluation uses the
    running statistics. Params: `gamma`, `beta`; state: `running_mean`, `running_var`.
    """

    type = "batchnorm"

    def __init__(self, momentum: float = 0.9, eps: float = 1e-5) -> None:
        super().__init__()
        self.momentum = number("momentum", momentum, 0.0, 1.0, high_open=True)
        self.eps = number("eps", eps, 1e-12, 1.0)

    def get_config(self) -> dict[str, Any]:
        return {"momentum": self.momentum, "eps": self.eps}

    def param_count(self, input_shape: Shape) -> int:
        return 2 * (input_shape[0] if len(input_shape) == 3 else input_shape[-1])

    def build(
        self, input_shape: Shape, rng: np.random.Generator, init: InitSpec | None = None
    ) -> Shape:
        output_shape = super().build(input_shape, rng, init)
        features = input_shape[0] if len(input_shape) == 3 else input_shape[-1]
        self.params = {
            "gamma": np.ones(features, np.float32),
            "beta": np.zeros(features, np.float32),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        self.running_mean = np.zeros(features, np.float32)
        self.running_var = np.ones(features, np.float32)
        return output_shape

    def astype(self, dtype: np.dtype) -> None:
        super().astype(dtype)
        self.running_mean = self.running_mean.astype(dtype)
        self.running_var = self.running_var.astype(dtype)

    def state(self) -> dict[str, np.ndarray]:
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    @staticmethod
    def _layout(ndim: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Axes reduced over, and the shape that broadcasts per-feature vectors, for `ndim`."""
        if ndim == 4:
            return (0, 2, 3), (1, -1, 1, 1)
        return tuple(range(ndim - 1)), (1,) * (ndim - 1) + (-1,)

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        axes, shape = self._layout(x.ndim)
        if train:
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            m = self.momentum
            self.running_mean *= m
            self.running_mean += (1 - m) * mean
            self.running_var *= m
            self.running_var += (1 - m) * var
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype)
        x_hat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
        self._x_hat, self._inv_std, self._train = x_hat, inv_std, train
        return x_hat * self.params["gamma"].reshape(shape) + self.params["beta"].reshape(shape)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        axes, shape = self._layout(dy.ndim)
        x_hat = self._x_hat
        self.grads["beta"][...] = dy.sum(axis=axes)
        self.grads["gamma"][...] = (dy * x_hat).sum(axis=axes)
        scale = (self.params["gamma"] * self._inv_std).reshape(shape)
        if not self._train:  # fixed statistics: an affine map per feature
            return scale * dy
        # dx = gamma * inv_std * (dy - mean(dy) - x_hat * mean(dy * x_hat)), means per feature.
        count = dy.size // dy.shape[1 if dy.ndim == 4 else -1]
        mean_dy = self.grads["beta"].reshape(shape) / count
        mean_dy_xhat = self.grads["gamma"].reshape(shape) / count
        return scale * (dy - mean_dy - x_hat * mean_dy_xhat)
