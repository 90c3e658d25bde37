"""The interface every layer implements."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from ..initializers import InitSpec

Shape = tuple[int, ...]


class Layer:
    """A layer: `build` makes parameters, `forward` caches what `backward` needs.

    Shapes never include the batch axis. Arrays keep the dtype they come in with (float32 in
    training, float64 in gradient checks); `params` and `grads` share keys, e.g. `"W"`, `"b"`.
    `name` is set by the model (`conv2d_0`) and keys optimizer state, checkpoints and the UI.
    """

    type: ClassVar[str] = ""
    # how to give it fewer parameters, for the message when a model has too many to train
    shrink_hint: ClassVar[str] = "make the layers before it smaller"

    def __init__(self) -> None:
        self.name = self.type
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.input_shape: Shape | None = None
        self.output_shape: Shape | None = None
        # The model clears this on its first layer: nothing upstream needs dx there, and
        # skipping it is the cheapest part of a conv backward pass. backward then returns None.
        self.needs_input_grad = True

    def get_config(self) -> dict[str, Any]:
        """The TOML keys of this layer (without `type`), enough to rebuild it."""
        return {}

    def build(
        self, input_shape: Shape, rng: np.random.Generator, init: InitSpec | None = None
    ) -> Shape:
        """Check `input_shape`, make parameters and return the output shape.

        Args:
            input_shape: shape of one sample, e.g. `(C, H, W)`.
            rng: source of every random number this layer will ever use.
            init: the model's initializer, used unless the layer has its own `init` key.

        Raises:
            ValueError: the input shape does not fit this layer.
        """
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        return self.output_shape

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def param_count(self, input_shape: Shape) -> int:
        """How many parameters `build` makes for `input_shape`, counted without making them,
        so that a model too big for the memory is refused before it is allocated."""
        return 0

    def activation_floats(self, input_shape: Shape) -> int:
        """About how many numbers a training step keeps per sample for this layer, counted
        from the shapes alone: its output and the gradient that comes back through it, plus
        whatever caches the layer keeps for its backward pass."""
        return 2 * math.prod(self.compute_output_shape(input_shape))

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def astype(self, dtype: np.dtype) -> None:
        """Convert parameters (and any persistent state) to `dtype`, e.g. float64 for gradcheck."""
        for key, value in self.params.items():
            self.params[key] = value.astype(dtype)
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def state(self) -> dict[str, np.ndarray]:
        """Non-trainable arrays a checkpoint must keep (batchnorm running stats).

        Returns the live arrays: a checkpoint loader copies into them in place.
        """
        return {}

    def __repr__(self) -> str:
        keys = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({keys})"
