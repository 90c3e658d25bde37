"""Recurrent layers: LSTM and the plain tanh RNN, over `(N, T, D)` sequences.

Both return the last hidden state `(N, H)` or, with `return_sequences`, all of them `(N, T, H)`,
and train by full backpropagation through time. The loops live in `tuidl.kernels.lstm` and
`tuidl.kernels.rnn`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..initializers import InitSpec, check_init, initialize
from ..kernels.lstm import lstm_backward, lstm_forward
from ..kernels.rnn import rnn_backward, rnn_forward
from ..validate import boolean, integer
from .base import Layer, Shape


class _Recurrent(Layer):
    """What LSTM and RNN share: keys, shapes, weights per gate block, the last-step option.

    Keys: `units` (H), `return_sequences` (output every step's state, `(T, H)`, instead of the
    last one, `(H,)`), `init` (for W_x, default the model's, else xavier_uniform; W_h is always
    orthogonal). Input `(T, D)` per sample.
    """

    gates = 1
    states = 1  # (T, N, H) arrays of states the forward pass keeps for backward
    shrink_hint = "use fewer units"

    def __init__(
        self, units: int, return_sequences: bool = False, init: InitSpec | None = None
    ) -> None:
        """Validate the keys.

        Raises:
            ValueError: a key's value is not allowed, quoting it.
        """
        super().__init__()
        self.units = integer("units", units, low=1)
        self.return_sequences = boolean("return_sequences", return_sequences)
        self.init = None if init is None else check_init(init)
        self._x: np.ndarray | None = None
        self._cache: Any = None
        self._dh_seq: np.ndarray | None = None

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"units": self.units, "return_sequences": self.return_sequences}
        if self.init is not None:
            config["init"] = self.init
        return config

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 2:
            raise ValueError(_shape_message(self.type, input_shape))
        steps = input_shape[0]
        return (steps, self.units) if self.return_sequences else (self.units,)

    def param_count(self, input_shape: Shape) -> int:
        return self.gates * self.units * (input_shape[1] + self.units + 1)

    def activation_floats(self, input_shape: Shape) -> int:
        """Output and its gradient, and the cache of every step for backpropagation through
        time: the gates and their gradients (2 * gates * H) and the states."""
        cache = input_shape[0] * self.units * (2 * self.gates + self.states)
        return super().activation_floats(input_shape) + cache

    def build(
        self, input_shape: Shape, rng: np.random.Generator, init: InitSpec | None = None
    ) -> Shape:
        output_shape = super().build(input_shape, rng, init)
        d, h, g = input_shape[1], self.units, self.gates
        scheme = self.init or init or "xavier_uniform"
        # Each gate block is a (D, H) or (H, H) matrix of its own: fans per gate, and the
        # recurrent blocks orthogonal (Saxe et al. 2014) so that early gradients neither
        # vanish nor explode through W_h.
        W_x = [initialize(scheme, (d, h), d, h, rng) for _ in range(g)]
        W_h = [initialize("orthogonal", (h, h), h, h, rng) for _ in range(g)]
        self.params = {
            "W_x": np.concatenate(W_x, axis=1),
            "W_h": np.concatenate(W_h, axis=1),
            "b": self._initial_bias(),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        return output_shape

    def _initial_bias(self) -> np.ndarray:
        return np.zeros(self.gates * self.units, np.float32)

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        if x.ndim != 3:
            raise ValueError(_shape_message(self.type, x.shape[1:]))
        if self.input_shape is not None and x.shape[2] != self.input_shape[1]:
            raise ValueError(
                f"{self.type} was built for {self.input_shape[1]} features per step, got input "
                f"of shape {x.shape}; rebuild the model for this data"
            )
        x = np.ascontiguousarray(x, dtype=self.params["W_x"].dtype)
        p = self.params
        # The previous cache is dead once a new forward starts: let the kernel overwrite it.
        h_seq, self._cache = self._kernel_forward(x, p["W_x"], p["W_h"], p["b"], self._cache)
        self._x = x
        # h_seq is a view of the cache the next forward overwrites: hand out a copy.
        return h_seq.copy() if self.return_sequences else h_seq[:, -1].copy()

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        x = self._x
        if self.return_sequences:
            dh_seq = dy
        else:
            # Zeros except the last step; kept between calls (the kernel never writes into
            # it), so only the last step is ever written again.
            shape = (*x.shape[:2], self.units)
            if self._dh_seq is None or self._dh_seq.shape != shape or self._dh_seq.dtype != x.dtype:
                self._dh_seq = np.zeros(shape, x.dtype)
            dh_seq = self._dh_seq
            dh_seq[:, -1] = dy
        p = self.params
        dx, dW_x, dW_h, db = self._kernel_backward(
            np.asarray(dh_seq, x.dtype), x, p["W_x"], p["W_h"], self._cache, self.needs_input_grad
        )
        self.grads["W_x"][...] = dW_x
        self.grads["W_h"][...] = dW_h
        self.grads["b"][...] = db
        return dx

    def _kernel_forward(self, x, W_x, W_h, b, reuse):
        raise NotImplementedError

    def _kernel_backward(self, dh_seq, x, W_x, W_h, cache, need_dx):
        raise NotImplementedError


def _shape_message(kind: str, sample_shape: Shape) -> str:
    """Why a per-sample shape does not fit a recurrent layer, and what to do about it."""
    sample_shape = tuple(sample_shape)
    hint = "reshape each sample to (steps, features)"
    if len(sample_shape) == 1:
        hint += f", e.g. {(sample_shape[0], 1)} for one feature per step"
    elif len(sample_shape) == 3:
        channels, height, width = sample_shape
        hint += f", e.g. image rows as steps: {(height, channels * width)}"
    return f"{kind} takes (steps, features) per sample, got {sample_shape}; {hint}"


class LSTM(_Recurrent):
    """Long short-term memory (Hochreiter & Schmidhuber 1997), gates i, f, g, o.

    Params: `W_x (D, 4H)`, `W_h (H, 4H)`, `b (4H,)`. The forget-gate bias starts at 1
    (Jozefowicz et al. 2015, "An Empirical Exploration of Recurrent Network Architectures"),
    so that the cell remembers by default early in training; the other biases start at 0.
    """

    type = "lstm"
    gates = 4
    states = 3  # c, tanh(c), h

    def _initial_bias(self) -> np.ndarray:
        b = np.zeros(4 * self.units, np.float32)
        b[self.units : 2 * self.units] = 1.0
        return b

    def _kernel_forward(self, x, W_x, W_h, b, reuse):
        return lstm_forward(x, W_x, W_h, b, reuse)

    def _kernel_backward(self, dh_seq, x, W_x, W_h, cache, need_dx):
        return lstm_backward(dh_seq, x, W_x, W_h, cache, need_dx)


class RNN(_Recurrent):
    """Elman network, h_t = tanh(x_t W_x + h_{t-1} W_h + b).

    Params: `W_x (D, H)`, `W_h (H, H)`, `b (H,)`.
    """

    type = "rnn"
    gates = 1

    def _kernel_forward(self, x, W_x, W_h, b, reuse):
        return rnn_forward(x, W_x, W_h, b, reuse)

    def _kernel_backward(self, dh_seq, x, W_x, W_h, cache, need_dx):
        return rnn_backward(dh_seq, x, W_x, W_h, cache, need_dx)
