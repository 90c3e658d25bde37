"""Restricted Boltzmann machine: a sigmoid layer that can pretrain itself without labels."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..initializers import InitSpec, check_init, initialize
from ..validate import integer, number
from .activations import sigmoid
from .base import Layer, Shape

VISIBLE_BIAS_CLIP = 1e-3  # keeps log(p / (1 - p)) finite for inputs that are always 0 or 1


class RBM(Layer):
    """Binary hidden units over visible units in [0, 1] (Hinton 2002), one layer of a deep
    belief net (Hinton, Osindero & Teh 2006).

    In the network it is a sigmoid dense layer, y = sigmoid(x W + b): the hidden units'
    probabilities, fine-tuned by backprop (`c` gets a zero gradient there). Before that, the
    trainer pretrains it with `contrastive_divergence` (see `tuidl.pretrain`).

    Params: `W (D, units)`, `b (units,)` hidden biases, `c (D,)` visible biases.
    Keys: `pretrain_epochs` (0: none), `cd_k` (Gibbs steps per update), and the CD update's
    `pretrain_lr`, `momentum` and `weight_decay` (on W). Defaults follow Hinton's "A Practical
    Guide to Training Restricted Boltzmann Machines" (2010) and the MNIST code of Hinton &
    Salakhutdinov (2006): lr 0.1, momentum 0.5, weight cost 0.0002. `init` as for dense.
    """

    type = "rbm"
    shrink_hint = "use fewer units"

    def __init__(
        self,
        units: int,
        pretrain_epochs: int = 5,
        cd_k: int = 1,
        pretrain_lr: float = 0.1,
        momentum: float = 0.5,
        weight_decay: float = 0.0002,
        init: InitSpec | None = None,
    ) -> None:
        super().__init__()
        self.units = integer("units", units, low=1)
        self.pretrain_epochs = integer("pretrain_epochs", pretrain_epochs, low=0)
        self.cd_k = integer("cd_k", cd_k, low=1)
        self.pretrain_lr = number("pretrain_lr", pretrain_lr, 0.0, 10.0, low_open=True)
        self.momentum = number("momentum", momentum, 0.0, 1.0, high_open=True)
        self.weight_decay = number("weight_decay", weight_decay, 0.0, 1.0)
        self.init = None if init is None else check_init(init)
        self.velocity: dict[str, np.ndarray] = {}  # of the CD updates, while pretraining

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "units": self.units,
            "pretrain_epochs": self.pretrain_epochs,
            "cd_k": self.cd_k,
            "pretrain_lr": self.pretrain_lr,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
        }
        if self.init is not None:
            config["init"] = self.init
        return config

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 1:
            raise ValueError(
                f"rbm takes (features,) per sample, got {input_shape}; add a flatten layer "
                "before it"
            )
        return (self.units,)

    def param_count(self, input_shape: Shape) -> int:
        return (input_shape[0] + 1) * self.units + input_shape[0]

    def build(
        self, input_shape: Shape, rng: np.random.Generator, init: InitSpec | None = None
    ) -> Shape:
        self.rng = rng.spawn(1)[0]  # hidden samples of CD; saved with checkpoints
        output_shape = super().build(input_shape, rng, init)
        d = input_shape[0]
        self.params = {
            "W": initialize(self.init or init or "he", (d, self.units), d, self.units, rng),
            "b": np.zeros(self.units, np.float32),
            "c": np.zeros(d, np.float32),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        return output_shape

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        self._x = x
        z = x @ self.params["W"]
        z += self.params["b"]
        self._y = sigmoid(z)
        return self._y

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        y = self._y
        dz = dy * y * (1 - y)
        np.matmul(self._x.T, dz, out=self.grads["W"])
        np.sum(dz, axis=0, out=self.grads["b"])
        self.grads["c"][...] = 0  # the visible biases only reconstruct, in pretraining
        if not self.needs_input_grad:
            return None
        return dz @ self.params["W"].T

    def start_pretraining(self, visible_mean: np.ndarray) -> None:
        """Zero the momentum and set each visible bias to log(p / (1 - p)), p the fraction
        of the time that unit is on in the data (the guide, section 8)."""
        p = np.clip(visible_mean, VISIBLE_BIAS_CLIP, 1 - VISIBLE_BIAS_CLIP)
        self.params["c"][...] = np.log(p / (1 - p))
        self.velocity = {key: np.zeros_like(value) for key, value in self.params.items()}

    def contrastive_divergence(self, v0: np.ndarray) -> float:
        """One CD-k update of W, b, c in place from visible vectors `v0 (N, D)` in [0, 1].

        Hidden states are sampled (binary) except the last, visible ones stay probabilities
        (the guide, section 3), with h_0 drawn from the data:
            h_j ~ p(h | v_j),  v_{j+1} = sigmoid(h_j W^T + c),  p(h | v) = sigmoid(v W + b)
            dW = (v_0^T p(h | v_0) - v_k^T p(h | v_k)) / N,  db, dc: the same for the biases
            velocity = momentum * velocity + pretrain_lr * (d - weight_decay * W);  W += velocity

        Returns:
            the reconstruction error: mean squared difference of v_0 and v_1.
        """
        W, b, c = self.params["W"], self.params["b"], self.params["c"]
        ph0 = sigmoid(v0 @ W + b)
        ph = ph0
        for step in range(self.cd_k):
            h = (self.rng.random(ph.shape, dtype=ph.dtype) < ph).astype(ph.dtype)
            v = sigmoid(h @ W.T + c)
            if step == 0:
                error = float(np.mean(np.square(v0 - v)))
            ph = sigmoid(v @ W + b)
        n = len(v0)
        deltas = {
            "W": (v0.T @ ph0 - v.T @ ph) / n - self.weight_decay * W,
            "b": np.mean(ph0 - ph, axis=0),
            "c": np.mean(v0 - v, axis=0),
        }
        for key, delta in deltas.items():
            velocity = self.velocity[key]
            velocity *= self.momentum
            velocity += self.pretrain_lr * delta
            self.params[key] += velocity
        return error
