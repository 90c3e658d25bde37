"""Losses: `forward(y, t) -> float` (mean over samples), `backward() -> dy`.

Softmax and sigmoid are fused into their cross-entropies: the model's last layer outputs
logits, which is both cheaper and free of the log(0) that a separate softmax layer invites. A
last softmax layer is fused the same way: the model hands the loss that layer's input. `value`
is the output itself, what a surface experiment minimizes.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from .layers.activations import sigmoid


def mean(a: np.ndarray) -> float:
    """`float(np.mean(a))`, the same bits (numpy's pairwise sum in a's dtype, then one division
    in it), without np.mean's ~10 us of Python: a third of a small classifier's loss."""
    return float(a.sum() / a.size)


class Loss:
    type: ClassVar[str] = ""

    def forward(self, y: np.ndarray, t: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def probabilities(y: np.ndarray) -> np.ndarray:
        """What the model's outputs `y` say of each class: for a regression loss, `y` itself
        (the cross-entropies turn logits into probabilities)."""
        return y


class MSE(Loss):
    """Mean over all entries of (y - t)^2; targets have the shape of `y`, or are integer class
    labels with the shape of `y` minus its last axis, compared as one-hot rows (as Deep
    Learning from Scratch's `mean_squared_error` takes them: the loss-choice lesson)."""

    type = "mse"

    def forward(self, y: np.ndarray, t: np.ndarray) -> float:
        if np.issubdtype(t.dtype, np.integer) and t.shape == y.shape[:-1]:
            t = np.eye(y.shape[-1], dtype=y.dtype)[t]
        self._diff = y - t.reshape(y.shape).astype(y.dtype, copy=False)
        return mean(self._diff * self._diff)

    def backward(self) -> np.ndarray:
        return (2.0 / self._diff.size) * self._diff


class SoftmaxCrossEntropy(Loss):
    """Softmax over the last axis, then cross-entropy, averaged over samples (and steps).

    Targets are integer class labels with the shape of `y` minus its last axis, or one-hot /
    probability rows with the shape of `y`. dy = (softmax(y) - onehot(t)) / count.
    """

    type = "softmax_cross_entropy"

    def forward(self, y: np.ndarray, t: np.ndarray) -> float:
        z = y - y.max(axis=-1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        self._p = np.exp(log_p)
        if t.shape == y.shape:
            self._target = t.astype(y.dtype, copy=False)
            return -mean(np.sum(self._target * log_p, axis=-1))
        # each row's entry at its label, as flat indices: for the small outputs of a classifier
        # numpy's along-axis helpers took most of the loss's time (~50 of 70 us a step)
        rows = np.arange(0, log_p.size, log_p.shape[-1])
        self._target = rows + t.reshape(-1).astype(np.intp, copy=False)
        return -mean(log_p.reshape(-1)[self._target])

    def backward(self) -> np.ndarray:
        dy = self._p.copy()
        if self._target.shape == dy.shape:
            dy -= self._target
        else:
            dy.reshape(-1)[self._target] -= 1
        dy /= dy.size // dy.shape[-1]
        return dy

    @staticmethod
    def probabilities(y: np.ndarray) -> np.ndarray:
        """Softmax of logits `y` over the last axis."""
        z = np.exp(y - y.max(axis=-1, keepdims=True))
        return z / z.sum(axis=-1, keepdims=True)


class BinaryCrossEntropy(Loss):
    """Sigmoid, then binary cross-entropy, averaged over all entries; targets in [0, 1].

    Computed from logits as max(y, 0) - y t + log(1 + exp(-|y|)), which never takes log(0).
    """

    type = "binary_cross_entropy"

    def forward(self, y: np.ndarray, t: np.ndarray) -> float:
        t = t.reshape(y.shape).astype(y.dtype, copy=False)
        self._p, self._t = sigmoid(y), t
        loss = np.maximum(y, 0) - y * t + np.log1p(np.exp(-np.abs(y)))
        return mean(loss)

    def backward(self) -> np.ndarray:
        return (self._p - self._t) / self._p.size

    @staticmethod
    def probabilities(y: np.ndarray) -> np.ndarray:
        """Sigmoid of logits `y`: the probability of class 1 per entry."""
        return sigmoid(y)


class Value(Loss):
    """The mean of the model's outputs themselves; targets are ignored. For a surface layer
    (`tuidl.layers.surface`), whose output is its function's value: training minimizes f."""

    type = "value"

    def forward(self, y: np.ndarray, t: np.ndarray) -> float:
        self._shape, self._dtype = y.shape, y.dtype
        return float(np.mean(y))

    def backward(self) -> np.ndarray:
        return np.full(self._shape, 1.0 / math.prod(self._shape), self._dtype)


LOSSES: dict[str, type[Loss]] = {
    cls.type: cls for cls in (MSE, SoftmaxCrossEntropy, BinaryCrossEntropy, Value)
}
