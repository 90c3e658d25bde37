"""Early stopping: `[train] early_stopping = { patience, min_delta, restore_best, monitor }`."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import statecheck
from .errors import ConfigError


class EarlyStopping:
    """Stop when the monitored value has not improved by `min_delta` for `patience` epochs."""

    def __init__(
        self,
        patience: int,
        min_delta: float,
        restore_best: bool,
        monitor: str,
        *,
        validation: bool = True,
        accuracy: bool = True,
    ) -> None:
        """Args as in `[train] early_stopping`, and what the run logs every epoch.

        Args:
            validation: whether there are validation samples (`val_loss`, `val_acc`).
            accuracy: whether the loss classifies (`train_acc`, `val_acc`).

        Raises:
            ConfigError: `monitor` is a value the run never logs; before training, not at
                the end of its first epoch.
        """
        if monitor.endswith("acc") and not accuracy:
            raise ConfigError(
                f"early stopping monitors {monitor!r}, but this loss measures no accuracy; "
                'use monitor = "val_loss" (or "train_loss")'
            )
        if monitor.startswith("val_") and not validation:
            raise ConfigError(
                f"early stopping monitors {monitor!r}, but there are no validation samples; "
                'set a larger [data] val_split (e.g. 0.2) or monitor = "train_loss"'
            )
        self.patience, self.min_delta = patience, min_delta
        self.restore_best, self.monitor = restore_best, monitor
        self.sign = -1.0 if monitor.endswith("acc") else 1.0  # lower sign*value is better
        self.best = np.inf
        self.wait = 0
        self.stopped = False
        self.best_weights: dict[str, np.ndarray] | None = None

    def update(self, logs: dict[str, Any], model) -> bool:
        """Record this epoch's logs; True when training should stop."""
        value = self.sign * logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
            if self.restore_best:
                self.best_weights = {k: v.copy() for k, v in model.params.items()}
        else:
            self.wait += 1
            self.stopped = self.wait > self.patience
        return self.stopped

    def state_dict(self) -> dict[str, np.ndarray]:
        state = {"best": np.array(self.best), "wait": np.array(self.wait)}
        state["stopped"] = np.array(self.stopped)
        if self.best_weights is not None:
            state |= {f"best/{k}": v for k, v in self.best_weights.items()}
        return state

    def load_state_dict(self, state: dict[str, np.ndarray], params: dict[str, np.ndarray]) -> None:
        """Continue from `state_dict()` output; the best weights must fit the model's `params`.

        Raises:
            ConfigError: an entry is missing or out of place (`tuidl.statecheck`).
        """
        self.best = statecheck.number(state, "best", or_inf=True)
        self.wait = statecheck.whole(state, "wait")
        self.stopped = statecheck.flag(state, "stopped")
        self.best_weights = statecheck.weights_like(state, "best/", params)

    def restore(self, model) -> None:
        if self.restore_best and self.best_weights is not None:
            for key, value in model.params.items():
                np.copyto(value, self.best_weights[key])
