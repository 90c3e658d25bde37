"""Greedy layer-wise pretraining of a model's rbm layers: a deep belief net (Hinton, Osindero &
Teh 2006, "A fast learning algorithm for deep belief nets").

Each rbm in turn, first to last, trains for its `pretrain_epochs` with contrastive divergence on
the training inputs as the layers below it see them (in evaluation mode, so the rbms below give
their hidden probabilities). The trainer runs one mini-batch per `Trainer.step()`, so pausing
and stopping work as in supervised training, and keeps `state_dict()` in its checkpoints: a run
interrupted while pretraining resumes bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ConfigError
from .layers import RBM
from .model import Sequential

INPUT_TOLERANCE = 1e-5  # float32 rounding of minmax normalization may land just outside [0, 1]
STATS_BATCH = 1024


class Pretraining:
    """Where pretraining stands: which rbm (`stage`), its `epoch` and `batch`, and the order.

    Args:
        model: a built model; its rbm layers with `pretrain_epochs > 0` are pretrained.
        x: the training inputs.
        batch_size: samples per CD update.
        order_rng: the trainer's batch-order stream (so the seed fixes the pretraining too).
        shuffle: draw a new order each epoch; else go through `x` in order.

    Raises:
        ConfigError: the first rbm's inputs are not in [0, 1] (checked at once, so a bad
            normalization fails before the run starts; later rbms when their turn comes).
    """

    def __init__(
        self,
        model: Sequential,
        x: np.ndarray,
        batch_size: int,
        order_rng: np.random.Generator,
        shuffle: bool,
    ) -> None:
        self.model, self.x, self.batch_size = model, x, batch_size
        self.order_rng, self.shuffle = order_rng, shuffle
        self.stages = [
            index
            for index, layer in enumerate(model.layers)
            if isinstance(layer, RBM) and layer.pretrain_epochs
        ]
        self.steps_per_epoch = -(-len(x) // batch_size)
        self.stage = self.epoch = self.batch = 0
        self.order = np.arange(len(x))
        self._error, self._seen = 0.0, 0
        if self.stages:
            self._visible_mean(self.stages[0])  # for its range check; taken again at the start

    @property
    def done(self) -> bool:
        return self.stage == len(self.stages)

    @property
    def epochs_done(self) -> int:
        """Pretraining epochs completed over all rbm layers: one `pretrain` record each."""
        finished = self.stages[: self.stage]
        return sum(self.model.layers[index].pretrain_epochs for index in finished) + self.epoch

    def _visible(self, index: int, x: np.ndarray) -> np.ndarray:
        for layer in self.model.layers[:index]:
            x = layer.forward(x, train=False)
        return x

    def _visible_mean(self, index: int) -> np.ndarray:
        """Each input unit's mean for layer `index` over the training set, checking the range."""
        total = np.zeros(self.model.layers[index].input_shape, np.float64)
        low, high = np.inf, -np.inf
        for start in range(0, len(self.x), STATS_BATCH):
            v = self._visible(index, self.x[start : start + STATS_BATCH])
            total += v.sum(axis=0, dtype=np.float64)
            low, high = min(low, float(v.min())), max(high, float(v.max()))
        if low < -INPUT_TOLERANCE or high > 1 + INPUT_TOLERANCE:
            raise ConfigError(
                f"layer {index} (rbm) pretrains on inputs in [0, 1] (binary visible units) but "
                f'gets [{low:.3g}, {high:.3g}]; set data.normalize = "minmax" (or the layer\'s '
                "pretrain_epochs = 0)"
            )
        return (total / len(self.x)).astype(np.float32)

    def step(self) -> dict[str, Any] | None:
        """One CD-k update of the current rbm; returns a `pretrain` record (without `time`)
        when the update ends one of its epochs: `layer`, `epoch`, `epochs`, `recon_error`
        (mean squared reconstruction error over the epoch's batches, before each update)."""
        index = self.stages[self.stage]
        layer = self.model.layers[index]
        if self.batch == 0:
            if self.epoch == 0:
                layer.start_pretraining(self._visible_mean(index))
            n = len(self.x)
            self.order = self.order_rng.permutation(n) if self.shuffle else np.arange(n)
        rows = self.order[self.batch * self.batch_size : (self.batch + 1) * self.batch_size]
        error = layer.contrastive_divergence(self._visible(index, self.x[rows]))
        self._error += error * len(rows)
        self._seen += len(rows)
        self.batch += 1
        if self.batch < self.steps_per_epoch:
            return None
        self.epoch += 1
        record = {
            "kind": "pretrain",
            "layer": layer.name,
            "epoch": self.epoch,
            "epochs": layer.pretrain_epochs,
            "recon_error": self._error / self._seen,
        }
        self.batch, self._error, self._seen = 0, 0.0, 0
        if self.epoch == layer.pretrain_epochs:
            self.stage, self.epoch = self.stage + 1, 0
            layer.velocity = {}
        return record

    def state_dict(self) -> dict[str, np.ndarray]:
        """Progress, the epoch's order and error sum, and the current rbm's momentum (the rbm's
        sampling stream is saved with the model, as dropout's)."""
        state = {
            "stage": np.array(self.stage),
            "epoch": np.array(self.epoch),
            "batch": np.array(self.batch),
            "order": self.order,
            "error": np.array(self._error),
            "seen": np.array(self._seen),
        }
        if not self.done:
            velocity = self.model.layers[self.stages[self.stage]].velocity
            state |= {f"velocity/{key}": value for key, value in velocity.items()}
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Continue from `state_dict()` output; raises KeyError when a key is missing."""
        self.stage, self.epoch, self.batch = (int(state[k]) for k in ("stage", "epoch", "batch"))
        self.order = np.array(state["order"], dtype=np.int64)
        self._error, self._seen = float(state["error"]), int(state["seen"])
        if not self.done:
            layer = self.model.layers[self.stages[self.stage]]
            layer.velocity = {
                key.removeprefix("velocity/"): np.array(value, layer.params["W"].dtype)
                for key, value in state.items()
                if key.startswith("velocity/")
            }
