"""A checkpoint's trainer state, checked before a resumed run trusts it.

A checkpoint can be edited by hand or damaged. Each reader here takes one entry of a
`state_dict()` and returns it as a plain value of the kind and range the trainer needs, or
raises a ConfigError naming the entry and what it must be, so `tuidl run --resume` says what
is wrong in one line instead of failing steps later (a batch past the epoch's end trains on no
samples, and was reported as a NaN loss).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import ConfigError

DAMAGED = "the checkpoint was edited or damaged, start a new run"


def damaged(what: str) -> ConfigError:
    """`what` is wrong with the checkpoint: the error, with the way out."""
    return ConfigError(f"{what}; {DAMAGED}")


def entry(state: Mapping[str, Any], key: str) -> np.ndarray:
    """`state[key]` as an array; a missing key means the file is no run checkpoint."""
    if key not in state:
        raise ConfigError(
            f"it has no trainer state {key!r}; it is not a run checkpoint, start a new run"
        )
    return np.asarray(state[key])


def _shown(value: np.ndarray) -> str:
    if value.shape != ():
        return f"an array of shape {value.shape}"
    text = repr(value.item())
    return text if len(text) <= 40 else text[:37] + "..."


def whole(state: Mapping[str, Any], key: str, high: int | None = None) -> int:
    """A whole number from 0 to `high` (no end when None)."""
    value = entry(state, key)
    if (
        value.shape != ()
        or value.dtype.kind not in "iu"
        or value < 0
        or (high is not None and value > high)
    ):
        bounds = ">= 0" if high is None else f"from 0 to {high}"
        raise damaged(f"{key} must be a whole number {bounds}, got {_shown(value)}")
    return int(value)


def number(
    state: Mapping[str, Any], key: str, low: float | None = None, *, or_inf: bool = False
) -> float:
    """A finite number, at least `low` when given; `or_inf` allows +inf too (a best value
    before the first epoch)."""
    value = entry(state, key)
    if (
        value.shape != ()
        or value.dtype.kind not in "fiu"
        or not (np.isfinite(value) or (or_inf and value == np.inf))
        or (low is not None and value < low)
    ):
        kind = "a finite number" if low is None else f"a finite number >= {low:g}"
        raise damaged(f"{key} must be {kind}, got {_shown(value)}")
    return float(value)


def flag(state: Mapping[str, Any], key: str) -> bool:
    """True or False (or 1 or 0)."""
    value = entry(state, key)
    if value.shape != () or value.dtype.kind not in "biu" or value not in (0, 1):
        raise damaged(f"{key} must be true or false, got {_shown(value)}")
    return bool(value)


def permutation(state: Mapping[str, Any], key: str, n: int) -> np.ndarray:
    """An order of the `n` training samples: each index from 0 to n-1 once."""
    value = entry(state, key)
    if value.ndim == 1 and value.dtype.kind in "iu" and len(value) != n:
        raise ConfigError(
            f"{key} orders {len(value)} samples but the data has {n}; resume with the data "
            "the run was trained on"
        )
    if (
        value.ndim != 1
        or value.dtype.kind not in "iu"
        or not np.array_equal(np.sort(value), np.arange(n))
    ):
        raise damaged(f"{key} must hold each sample index from 0 to {n - 1} once")
    return value.astype(np.int64)


def restore_generator(generator: np.random.Generator, state: Mapping[str, Any], key: str) -> None:
    """Set `generator` to the state saved as JSON text under `key`."""
    value = entry(state, key)
    try:
        if value.shape != () or value.dtype.kind != "U":
            raise ValueError("not text")
        generator.bit_generator.state = json.loads(value.item())
    except (ValueError, TypeError, KeyError) as error:
        raise damaged(f"{key} is not a random generator state ({error})") from None


def weights_like(
    state: Mapping[str, Any], prefix: str, params: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray] | None:
    """The arrays under `prefix` (`best/`), one per parameter of the model with its shape and
    finite values; None when there are none."""
    found = {
        k.removeprefix(prefix): np.asarray(v) for k, v in state.items() if k.startswith(prefix)
    }
    if not found:
        return None
    if set(found) != set(params):
        name = sorted(set(found) ^ set(params))[0]
        raise damaged(f"{prefix}{name} is in only one of the checkpoint and the model")
    for name, value in found.items():
        if value.shape != params[name].shape or value.dtype.kind != "f":
            raise damaged(
                f"{prefix}{name} must be {params[name].shape} floats, got {value.dtype} "
                f"{value.shape}"
            )
        if not np.isfinite(value).all():
            raise damaged(f"{prefix}{name} holds NaN or infinite values")
    return found


def check_pretraining(state: Mapping[str, Any], pretraining) -> None:
    """The `pretrain/` entries fit `pretraining` (a `tuidl.pretrain.Pretraining`): a stage of
    its rbm layers, an epoch and batch inside that stage, an order of its samples, and the
    current rbm's momentum shaped as its weights."""
    stages = pretraining.stages
    stage = whole(state, "pretrain/stage", high=len(stages))
    if stage < len(stages):
        layer = pretraining.model.layers[stages[stage]]
        whole(state, "pretrain/epoch", high=layer.pretrain_epochs - 1)
        whole(state, "pretrain/batch", high=pretraining.steps_per_epoch - 1)
        weights_like(state, "pretrain/velocity/", layer.params)
    permutation(state, "pretrain/order", len(pretraining.x))
    number(state, "pretrain/error", low=0)
    whole(state, "pretrain/seen")
