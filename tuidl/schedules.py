"""Learning-rate schedules by TOML type, built from `[optimizer] schedule = {type = "...", ...}`.

Protocol: the trainer calls `schedule.on_epoch_end(epoch, monitored, optimizer)` once after each
epoch, where `epoch` counts from 0 (the epoch that just ended) and `monitored` is the value
`reduce_on_plateau` watches (lower is better; None when there is none). The call sets
`optimizer.lr` for the next epoch. Epoch schedules read `base_lr` from the optimizer on their
first call; their `lr_at(epoch, base_lr)` is the rate during epoch `epoch` (epoch 0: `base_lr`).
A live change of `optimizer.lr` lasts until the next epoch end unless `base_lr` changes with it;
`reduce_on_plateau` starts from whatever `optimizer.lr` is, so it keeps live changes.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from .errors import ConfigError
from .optimizers import Optimizer, unknown_key
from .suggest import did_you_mean
from .validate import integer, number

__all__ = [
    "SCHEDULES",
    "Cosine",
    "Exponential",
    "ReduceOnPlateau",
    "Schedule",
    "Step",
    "make_schedule",
]


class Schedule:
    """Base of the schedules: the per-epoch protocol and `state_dict` of 0-d float64 arrays.

    `STATE` names the float attributes a resumed run needs; None is stored as NaN.
    """

    type: ClassVar[str] = ""
    KEYS: ClassVar[tuple[str, ...]] = ()  # TOML keys besides type
    STATE: ClassVar[tuple[str, ...]] = ()

    def on_epoch_end(self, epoch: int, monitored: float | None, optimizer: Optimizer) -> None:
        """Set `optimizer.lr` for the epoch after `epoch` (0-based)."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The schedule table, `type` included."""
        return {"type": self.type} | {key: getattr(self, key) for key in self.KEYS}

    def state_dict(self) -> dict[str, np.ndarray]:
        state = {}
        for key in self.STATE:
            value = getattr(self, key)
            state[key] = np.array(math.nan if value is None else value, dtype=np.float64)
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a `state_dict()`; ValueError naming a missing, foreign or non-scalar key."""
        for key in state:
            if key not in self.STATE:
                raise ValueError(f"{self.type} schedule state: unexpected key {key!r}")
        values = {}
        for key in self.STATE:
            if key not in state:
                raise ValueError(f"{self.type} schedule state: missing key {key!r}")
            value = np.asarray(state[key])
            if value.shape != () or value.dtype.kind not in "fiu":
                raise ValueError(f"{self.type} schedule state: {key!r} must be a number")
            values[key] = None if math.isnan(value) else float(value)
        for key, value in values.items():
            setattr(self, key, value)

    def __repr__(self) -> str:
        keys = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.KEYS)
        return f"{type(self).__name__}({keys})"


class EpochSchedule(Schedule):
    """A rate that depends on the epoch only: `lr_at(epoch, base_lr)`."""

    STATE = ("base_lr",)

    def __init__(self) -> None:
        self.base_lr: float | None = None  # taken from the optimizer at the first epoch end

    def lr_at(self, epoch: int, base_lr: float) -> float:
        """The learning rate during epoch `epoch` (0-based) when epoch 0 used `base_lr`."""
        raise NotImplementedError

    def on_epoch_end(self, epoch: int, monitored: float | None, optimizer: Optimizer) -> None:
        if self.base_lr is None:
            self.base_lr = optimizer.lr
        optimizer.lr = self.lr_at(epoch + 1, self.base_lr)


class Step(EpochSchedule):
    """Multiply the rate by `gamma` every `step_size` epochs.

        lr = base_lr * gamma ** (epoch // step_size)

    Args:
        step_size: epochs between drops, >= 1.
        gamma: factor per drop, in (0, 1]. Defaults to 0.1.
    """

    type = "step"
    KEYS = ("step_size", "gamma")

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        super().__init__()
        self.step_size = integer(f"{self.type}: step_size", step_size, low=1)
        self.gamma = number(f"{self.type}: gamma", gamma, 0.0, 1.0, low_open=True)

    def lr_at(self, epoch: int, base_lr: float) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class Exponential(EpochSchedule):
    """Multiply the rate by `gamma` every epoch.

        lr = base_lr * gamma ** epoch

    Args:
        gamma: factor per epoch, in (0, 1].
    """

    type = "exponential"
    KEYS = ("gamma",)

    def __init__(self, gamma: float) -> None:
        super().__init__()
        self.gamma = number(f"{self.type}: gamma", gamma, 0.0, 1.0, low_open=True)

    def lr_at(self, epoch: int, base_lr: float) -> float:
        return base_lr * self.gamma**epoch


class Cosine(EpochSchedule):
    """Cosine annealing from `base_lr` to `lr_min` over `t_max` epochs, then constant.

        lr = lr_min + (base_lr - lr_min) * (1 + cos(pi * min(epoch, t_max) / t_max)) / 2

    Loshchilov & Hutter (2016), without restarts: https://arxiv.org/abs/1608.03983

    Args:
        t_max: epochs to reach `lr_min`, >= 1.
        lr_min: final rate, >= 0. Defaults to 0.
    """

    type = "cosine"
    KEYS = ("t_max", "lr_min")

    def __init__(self, t_max: int, lr_min: float = 0.0) -> None:
        super().__init__()
        self.t_max = integer(f"{self.type}: t_max", t_max, low=1)
        self.lr_min = number(f"{self.type}: lr_min", lr_min, 0.0)

    def lr_at(self, epoch: int, base_lr: float) -> float:
        progress = min(epoch, self.t_max) / self.t_max
        return self.lr_min + (base_lr - self.lr_min) * (1.0 + math.cos(math.pi * progress)) / 2.0


class ReduceOnPlateau(Schedule):
    """Multiply the rate by `factor` when the monitored value stops improving (lower is better).

    A value improves when it is below the best so far by more than `min_delta`. After
    `patience` epochs in a row without improvement the rate becomes
    `max(lr * factor, min_lr)`, and the next `cooldown` epochs count no bad epochs.
    (Keras `ReduceLROnPlateau` with `mode="min"`.)

    Args:
        factor: in (0, 1). Defaults to 0.1.
        patience: epochs without improvement before a reduction, >= 0. Defaults to 10.
        min_delta: smallest decrease that counts as improvement, >= 0. Defaults to 1e-4.
        min_lr: the rate never goes below this, >= 0. Defaults to 0.
        cooldown: epochs after a reduction that count no bad epochs, >= 0. Defaults to 0.
    """

    type = "reduce_on_plateau"
    KEYS = ("factor", "patience", "min_delta", "min_lr", "cooldown")
    STATE = ("lr", "best", "wait", "cooldown_left")

    def __init__(
        self,
        factor: float = 0.1,
        patience: int = 10,
        min_delta: float = 1e-4,
        min_lr: float = 0.0,
        cooldown: int = 0,
    ) -> None:
        self.factor = number(
            f"{self.type}: factor", factor, 0.0, 1.0, low_open=True, high_open=True
        )
        self.patience = integer(f"{self.type}: patience", patience, low=0)
        self.min_delta = number(f"{self.type}: min_delta", min_delta, 0.0)
        self.min_lr = number(f"{self.type}: min_lr", min_lr, 0.0)
        self.cooldown = integer(f"{self.type}: cooldown", cooldown, low=0)
        self.lr: float | None = None  # the current rate; on_epoch_end reads the optimizer's
        self.best = math.inf
        self.wait = 0  # epochs in a row without improvement
        self.cooldown_left = 0

    def update(self, value: float) -> bool:
        """Record one epoch's monitored value; True when it reduced `self.lr`."""
        if self.lr is None:
            raise RuntimeError("ReduceOnPlateau.lr is unset; set it or use on_epoch_end")
        cooling = self.cooldown_left > 0
        if cooling:
            self.cooldown_left -= 1
            self.wait = 0
        if value < self.best - self.min_delta:
            self.best = float(value)
            self.wait = 0
            return False
        if cooling:
            return False
        self.wait += 1
        if self.wait < self.patience or self.lr <= self.min_lr:
            return False
        self.lr = max(self.lr * self.factor, self.min_lr)
        self.wait = 0
        self.cooldown_left = self.cooldown
        return True

    def on_epoch_end(self, epoch: int, monitored: float | None, optimizer: Optimizer) -> None:
        if monitored is None:
            raise ValueError("reduce_on_plateau needs a monitored value (a loss) each epoch")
        self.lr = optimizer.lr
        self.update(monitored)
        optimizer.lr = self.lr

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.best = math.inf if self.best is None else self.best
        self.wait, self.cooldown_left = int(self.wait), int(self.cooldown_left)


SCHEDULES: dict[str, type[Schedule]] = {
    cls.type: cls for cls in (Step, Exponential, Cosine, ReduceOnPlateau)
}


def make_schedule(config: Mapping[str, Any] | None) -> Schedule | None:
    """Make a schedule from the `[optimizer] schedule` table, or None when there is none.

    Raises:
        ConfigError: missing or unknown type, unknown or missing key, or a bad value.
    """
    if config is None:
        return None
    types = ", ".join(SCHEDULES)
    if not isinstance(config, Mapping) or "type" not in config:
        raise ConfigError(
            f'[optimizer] schedule needs a table with a type, like {{ type = "step", '
            f"step_size = 10 }}; types: {types}"
        )
    kind = config["type"]
    if kind not in SCHEDULES:
        hint = did_you_mean(kind, SCHEDULES, list_choices=False)
        raise ConfigError(
            f"[optimizer] schedule: unknown type {kind!r}{hint} (choose one of {types})"
        )
    cls = SCHEDULES[kind]
    allowed = ["type", *cls.KEYS]
    for key in config:
        if key not in allowed:
            raise unknown_key(f"[optimizer] schedule {kind}", key, allowed)
    keys = {k: v for k, v in config.items() if k != "type"}
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if param.default is inspect.Parameter.empty and name != "self" and name not in keys:
            raise ConfigError(f"[optimizer] schedule {kind}: missing key {name!r}")
    try:
        return cls(**keys)
    except ValueError as error:
        raise ConfigError(f"[optimizer] schedule {error}") from None
