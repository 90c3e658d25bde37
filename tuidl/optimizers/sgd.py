"""Plain stochastic gradient descent."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent (Robbins & Monro, 1951).

    Update rule for parameter `w` with gradient `g`:

        w = w - lr * g

    Reference: https://doi.org/10.1214/aoms/1177729586

    Args:
        lr: learning rate, > 0. Defaults to 0.01.
        **kwargs: `weight_decay`, `l1`, `clip_norm`, `clip_value` (see `Optimizer`).
    """

    name = "sgd"

    def __init__(self, lr: float = 0.01, **kwargs: Any) -> None:
        super().__init__(lr, **kwargs)

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        p -= self.lr * g
