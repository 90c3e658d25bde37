"""Inverted dropout (Srivastava et al. 2014)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..initializers import InitSpec
from ..validate import number
from .base import Layer, Shape


class Dropout(Layer):
    """In training, zero each unit with probability `rate` and scale the rest by 1/(1-rate).

    At evaluation it is the identity. Masks come from a generator spawned from the model's at
    build time, so a seed fixes every mask and a checkpoint can save where the stream stands.
    """

    type = "dropout"

    def __init__(self, rate: float = 0.5) -> None:
        super().__init__()
        self.rate = number("rate", rate, 0.0, 1.0, high_open=True)

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate}

    def build(
        self, input_shape: Shape, rng: np.random.Generator, init: InitSpec | None = None
    ) -> Shape:
        self.rng = rng.spawn(1)[0]
        return super().build(input_shape, rng, init)

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        if not train or self.rate == 0.0:
            self._mask = None
            return x
        keep = 1.0 - self.rate
        self._mask = (self.rng.random(x.shape, dtype=np.float32) < keep).astype(x.dtype)
        self._mask /= keep
        return x * self._mask

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy if self._mask is None else dy * self._mask
