"""Gradient descent with momentum: Momentum (Polyak) and Nesterov."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..validate import number
from .base import Optimizer


class _WithVelocity(Optimizer):
    """The `momentum` key and the velocity slot `v` that Momentum and Nesterov share."""

    HYPER = ("momentum",)
    SLOTS = ("v",)

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, **kwargs: Any) -> None:
        super().__init__(lr, **kwargs)
        self.momentum = number(f"{self.name}: momentum", momentum, 0.0, 1.0, high_open=True)


class Momentum(_WithVelocity):
    """Gradient descent with (heavy-ball) momentum (Polyak, 1964), as DLFS writes it.

    Update rule, with velocity `v` starting at 0:

        v = momentum * v - lr * g
        w = w + v

    Reference: https://doi.org/10.1016/0041-5553(64)90137-5

    Args:
        lr: learning rate, > 0. Defaults to 0.01.
        momentum: in [0, 1). Defaults to 0.9.
        **kwargs: `weight_decay`, `l1`, `clip_norm`, `clip_value` (see `Optimizer`).
    """

    name = "momentum"

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        (v,) = self._slots(name, p)
        v *= self.momentum
        v -= self.lr * g
        p += v


class Nesterov(_WithVelocity):
    """Nesterov accelerated gradient in the form of Bengio et al. (2012), eq. 7.

    The look-ahead of Sutskever et al. (2013) rewritten to need the gradient at `w` only. With
    velocity `v` starting at 0:

        v = momentum * v - lr * g
        w = w + momentum * v - lr * g

    This is Keras `SGD(nesterov=True)`, and PyTorch `SGD(nesterov=True)` while `lr` is constant
    (PyTorch keeps `b = momentum * b + g` and steps `w -= lr * (g + momentum * b)`; `v = -lr * b`).

    References: https://arxiv.org/abs/1212.0901, https://proceedings.mlr.press/v28/sutskever13.html

    Args:
        lr: learning rate, > 0. Defaults to 0.01.
        momentum: in [0, 1). Defaults to 0.9.
        **kwargs: `weight_decay`, `l1`, `clip_norm`, `clip_value` (see `Optimizer`).
    """

    name = "nesterov"

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        (v,) = self._slots(name, p)
        lr_g = self.lr * g
        v *= self.momentum
        v -= lr_g
        step = self.momentum * v
        step -= lr_g
        p += step
