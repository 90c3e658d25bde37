"""Per-parameter adaptive rates: AdaGrad, RMSProp, Adadelta, Adam."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..validate import number
from .base import Optimizer


class AdaGrad(Optimizer):
    """AdaGrad (Duchi, Hazan & Singer, 2011): per-element rates from summed squared gradients.

    Update rule, with `h` starting at 0:

        h = h + g * g
        w = w - lr * g / (sqrt(h) + eps)

    Reference: https://jmlr.org/papers/v12/duchi11a.html

    Args:
        lr: learning rate, > 0. Defaults to 0.01.
        eps: > 0, keeps the division finite. Defaults to 1e-7.
        **kwargs: `weight_decay`, `l1`, `clip_norm`, `clip_value` (see `Optimizer`).
    """

    name = "adagrad"
    HYPER = ("eps",)
    SLOTS = ("h",)

    def __init__(self, lr: float = 0.01, eps: float = 1e-7, **kwargs: Any) -> None:
        super().__init__(lr, **kwargs)
        self.eps = number(f"{self.name}: eps", eps, 0.0, low_open=True)

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        (h,) = self._slots(name, p)
        h += g * g
        _scaled_step(p, g, h, self.lr, self.eps)


class RMSProp(Optimizer):
    """RMSProp (Tieleman & Hinton, 2012): AdaGrad with a leaky average of squared gradients.

    Update rule, with `h` starting at 0:

        h = rho * h + (1 - rho) * g * g
        w = w - lr * g / (sqrt(h) + eps)

    Reference: https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf

    Args:
        lr: learning rate, > 0. Defaults to 0.001.
        rho: decay of the average, in (0, 1). Defaults to 0.9.
        eps: > 0, keeps the division finite. Defaults to 1e-7.
        **kwargs: `weight_decay`, `l1`, `clip_norm`, `clip_value` (see `Optimizer`).
    """

    name = "rmsprop"
    HYPER = ("rho", "eps")
    SLOTS = ("h",)

    def __init__(
        self, lr: float = 0.001, rho: float = 0.9, eps: float = 1e-7, **kwargs: Any
    ) -> None:
        super().__init__(lr, **kwargs)
        self.rho = number(f"{self.name}: rho", rho, 0.0, 1.0, low_open=True, high_open=True)
        self.eps = number(f"{self.name}: eps", eps, 0.0, low_open=True)

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        (h,) = self._slots(name, p)
        g2 = g * g
        g2 *= 1.0 - self.rho
        h *= self.rho
        h += g2
        _scaled_step(p, g, h, self.lr, self.eps)


def _scaled_step(p: np.ndarray, g: np.ndarray, h: np.ndarray, lr: float, eps: float) -> None:
    """`p -= lr * g / (sqrt(h) + eps)` with one temporary."""
    d = np.sqrt(h)
    d += eps
    np.divide(g, d, out=d)
    d *= lr
    p -= d


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): steps sized by running averages of squared steps and gradients.

    Update rule, with `Eg2` and `Edx2` starting at 0:

        Eg2 = rho * Eg2 + (1 - rho) * g * g
        dx = -sqrt(Edx2 + eps) / sqrt(Eg2 + eps) * g
        Edx2 = rho * Edx2 + (1 - rho) * dx * dx
        w = w + lr * dx

    Reference: https://arxiv.org/abs/1212.5701

    Args:
        lr: scale of `dx`, > 0; the paper has none (1.0). Defaults to 1.0.
        rho: decay of the averages, in (0, 1). Defaults to 0.95.
        eps: > 0, sets the first steps' size. Defaults to 1e-6.
        **kwargs: `weight_decay`, `l1`, `clip_norm`, `clip_value` (see `Optimizer`).
    """

    name = "adadelta"
    HYPER = ("rho", "eps")
    SLOTS = ("Eg2", "Edx2")

    def __init__(
        self, lr: float = 1.0, rho: float = 0.95, eps: float = 1e-6, **kwargs: Any
    ) -> None:
        super().__init__(lr, **kwargs)
        self.rho = number(f"{self.name}: rho", rho, 0.0, 1.0, low_open=True, high_open=True)
        self.eps = number(f"{self.name}: eps", eps, 0.0, low_open=True)

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        eg2, edx2 = self._slots(name, p)
        rho, eps = self.rho, self.eps
        tmp = g * g
        tmp *= 1.0 - rho
        eg2 *= rho
        eg2 += tmp
        step = edx2 + eps  # step ends as -dx
        np.sqrt(step, out=step)
        np.add(eg2, eps, out=tmp)
        np.sqrt(tmp, out=tmp)
        step /= tmp
        step *= g
        np.multiply(step, step, out=tmp)
        tmp *= 1.0 - rho
        edx2 *= rho
        edx2 += tmp
        step *= self.lr
        p -= step


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2014), Algorithm 1 with bias correction.

    Update rule at step `t` (1, 2, ...), with `m` and `v` starting at 0:

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        w = w - lr * m_hat / (sqrt(v_hat) + eps)

    Reference: https://arxiv.org/abs/1412.6980

    Args:
        lr: learning rate, > 0. Defaults to 0.001.
        beta1: decay of the first moment, in [0, 1). Defaults to 0.9.
        beta2: decay of the second moment, in [0, 1). Defaults to 0.999.
        eps: > 0, keeps the division finite. Defaults to 1e-8.
        **kwargs: `weight_decay`, `l1`, `clip_norm`, `clip_value` (see `Optimizer`).
    """

    name = "adam"
    HYPER = ("beta1", "beta2", "eps")
    SLOTS = ("m", "v")

    def __init__(
        self,
        lr: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        **kwargs: Any,
    ) -> None:
        super().__init__(lr, **kwargs)
        self.beta1 = number(f"{self.name}: beta1", beta1, 0.0, 1.0, high_open=True)
        self.beta2 = number(f"{self.name}: beta2", beta2, 0.0, 1.0, high_open=True)
        self.eps = number(f"{self.name}: eps", eps, 0.0, low_open=True)

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        m, v = self._slots(name, p)
        b1, b2 = self.beta1, self.beta2
        tmp = g * (1.0 - b1)
        m *= b1
        m += tmp
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v *= b2
        v += tmp
        # sqrt(v_hat) + eps, then lr * m_hat / it
        np.sqrt(v, out=tmp)
        tmp /= math.sqrt(1.0 - b2**self.t)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr / (1.0 - b1**self.t)
        p -= tmp
