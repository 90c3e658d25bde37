"""The optimizer base: validation, L2/L1 decay, clipping, state, the in-place `step`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError
from ..suggest import did_you_mean
from ..validate import number

Params = dict[str, np.ndarray]
BASE_KEYS = ("weight_decay", "l1", "clip_norm", "clip_value")


def unknown_key(where: str, key: str, allowed: list[str]) -> ConfigError:
    """The error for a key not in `allowed`: a did-you-mean when one is close, then the list."""
    hint = did_you_mean(key, allowed, list_choices=False)
    return ConfigError(f"{where}: unknown key {key!r}{hint} (allowed: {', '.join(allowed)})")


class Optimizer:
    """Base of every optimizer: validation, L2/L1 decay, clipping and the in-place `step`.

    `step` first clips the loss gradients (`clip_value` elementwise to [-c, c], then `clip_norm`
    scales all of them together so their global L2 norm is at most `clip_norm`), then adds the
    regularization terms `weight_decay * w` (L2) and `l1 * sign(w)` (L1), then calls `_update`
    per parameter. The caller's gradient arrays are never written: a copy is made when clipping
    or decay changes them.

    Args:
        lr: learning rate, > 0. A plain attribute: the app and schedules change it between steps.
        weight_decay: L2 coefficient, >= 0.
        l1: L1 coefficient, >= 0.
        clip_norm: maximum global gradient norm, > 0, or None.
        clip_value: maximum absolute gradient element, > 0, or None.
    """

    name: ClassVar[str] = ""
    HYPER: ClassVar[tuple[str, ...]] = ()  # the algorithm's own TOML keys besides lr
    SLOTS: ClassVar[tuple[str, ...]] = ()  # state arrays kept per parameter

    def __init__(
        self,
        lr: float,
        weight_decay: float = 0.0,
        l1: float = 0.0,
        clip_norm: float | None = None,
        clip_value: float | None = None,
    ) -> None:
        self.lr = number(f"{self.name}: lr", lr, 0.0, low_open=True)
        self.weight_decay = number(f"{self.name}: weight_decay", weight_decay, 0.0)
        self.l1 = number(f"{self.name}: l1", l1, 0.0)
        self.clip_norm = clip_norm
        self.clip_value = clip_value
        for key in ("clip_norm", "clip_value"):
            if getattr(self, key) is not None:
                setattr(
                    self, key, number(f"{self.name}: {key}", getattr(self, key), 0.0, low_open=True)
                )
        self.t = 0  # steps taken
        self.state: dict[str, tuple[np.ndarray, ...]] = {}
        self._check_on_step = False  # a loaded state not yet compared with the parameters

    @property
    def lr(self) -> float:
        """The learning rate of the next step; settable any time (>= 0, finite)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        # A python float keeps float32 arithmetic float32 (NEP 50); np.float64 would upcast.
        self._lr = number(f"{self.name}: lr", float(value), 0.0)

    def get_config(self) -> dict[str, Any]:
        """The `[optimizer]` keys, `name` included, enough to rebuild this optimizer."""
        config = {"name": self.name, "lr": self.lr}
        config |= {key: getattr(self, key) for key in self.HYPER}
        config |= {key: getattr(self, key) for key in BASE_KEYS if getattr(self, key) is not None}
        return config

    def step(self, params: Params, grads: Params) -> None:
        """Update every array of `params` in place from `grads` (same keys and shapes)."""
        if self._check_on_step:
            self._check_state(params)
        grads = self._prepare(params, grads)
        self.t += 1
        for name, p in params.items():
            self._update(name, p, grads[name])

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def _slots(self, name: str, p: np.ndarray) -> tuple[np.ndarray, ...]:
        """The state arrays of parameter `name`, zeros like `p` on first use."""
        slots = self.state.get(name)
        if slots is None:
            slots = self.state[name] = tuple(np.zeros_like(p) for _ in self.SLOTS)
        return slots

    def _prepare(self, params: Params, grads: Params) -> Params:
        """Clipped and regularized gradients; copies wherever they differ from `grads`."""
        if grads.keys() != params.keys():
            key = sorted(grads.keys() ^ params.keys())[0]
            side = "grads" if key in grads else "params"
            raise ValueError(f"{self.name}: {key!r} is only in {side}; step needs the same keys")
        for name, p in params.items():
            if grads[name].shape != p.shape:
                raise ValueError(
                    f"{self.name}: gradient {name!r} has shape {grads[name].shape}, "
                    f"parameter {p.shape}"
                )
        out = dict(grads)
        owned = False  # whether the arrays of `out` are our copies
        if self.clip_value is not None:
            c = self.clip_value
            out = {name: np.clip(g, -c, c) for name, g in out.items()}
            owned = True
        if self.clip_norm is not None:
            # float64 sums: the float32 square of an exploding gradient overflows to inf.
            total = math.sqrt(
                sum(
                    float(np.dot(r, r))
                    for r in (g.astype(np.float64).ravel() for g in out.values())
                )
            )
            if total > self.clip_norm:
                scale = self.clip_norm / total
                if owned:
                    for g in out.values():
                        g *= scale
                else:
                    out = {name: g * scale for name, g in out.items()}
                    owned = True
        if self.weight_decay or self.l1:
            for name, p in params.items():
                g = out[name] if owned else out[name].copy()
                if self.weight_decay:
                    g += self.weight_decay * p
                if self.l1:
                    g += self.l1 * np.sign(p)
                out[name] = g
        return out

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the state: `"t"`, `"lr"` and `"<slot>/<parameter name>"` arrays."""
        state = {"t": np.array(self.t, dtype=np.int64), "lr": np.array(self.lr)}
        for name, slots in self.state.items():
            for slot, array in zip(self.SLOTS, slots, strict=True):
                state[f"{slot}/{name}"] = array.copy()
        return state

    def load_state_dict(self, state: Mapping[str, Any], params: Params | None = None) -> None:
        """Restore a `state_dict()` (or an `.npz` of one) exactly, so a run resumes bit for bit.

        Args:
            state: the arrays, copied in.
            params: the parameters this optimizer will step. Given, the state is checked against
                them now; otherwise at the next `step`.

        Raises:
            ValueError: a key is missing, foreign to this optimizer, or has the wrong shape.
        """
        for key in ("t", "lr"):
            if key not in state:
                raise ValueError(f"{self.name} state: missing key {key!r}")
        t, lr = np.asarray(state["t"]), np.asarray(state["lr"])
        if t.shape != () or t.dtype.kind not in "iu" or t < 0:
            raise ValueError(f"{self.name} state: 't' must be an integer >= 0, got {t!r}")
        if lr.shape != () or lr.dtype.kind != "f":
            raise ValueError(f"{self.name} state: 'lr' must be a float scalar, got {lr!r}")
        found: dict[str, dict[str, np.ndarray]] = {}
        for key, value in state.items():
            if key in ("t", "lr"):
                continue
            slot, _, name = key.partition("/")
            if slot not in self.SLOTS or not name:
                expected = ", ".join(f"'{s}/<parameter>'" for s in self.SLOTS) or "no others"
                raise ValueError(
                    f"{self.name} state: unexpected key {key!r}; expected 't', 'lr', {expected}"
                )
            found.setdefault(name, {})[slot] = np.asarray(value)
        loaded = {}
        for name, slots in found.items():
            for slot in self.SLOTS:
                key = f"{slot}/{name}"
                if slot not in slots:
                    raise ValueError(f"{self.name} state: missing key {key!r}")
                if slots[slot].shape != slots[self.SLOTS[0]].shape:
                    raise ValueError(
                        f"{self.name} state: {key!r} has shape {slots[slot].shape}, "
                        f"{self.SLOTS[0]}/{name} {slots[self.SLOTS[0]].shape}"
                    )
                if slots[slot].dtype.kind != "f":
                    raise ValueError(f"{self.name} state: {key!r} is not floating point")
            loaded[name] = tuple(slots[slot].copy() for slot in self.SLOTS)
        self.t, self.lr, self.state = int(t), float(lr), loaded
        self._check_on_step = True
        if params is not None:
            self._check_state(params)

    def _check_state(self, params: Params) -> None:
        """Compare loaded state with `params`: same names and shapes; cast to their dtypes."""
        for name, slots in self.state.items():
            key = f"{self.SLOTS[0]}/{name}"
            if name not in params:
                raise ConfigError(f"{self.name} state: {key!r} belongs to no parameter")
            p = params[name]
            if slots[0].shape != p.shape:
                raise ConfigError(
                    f"{self.name} state: {key!r} has shape {slots[0].shape}, parameter {p.shape}"
                )
            self.state[name] = tuple(s.astype(p.dtype, copy=False) for s in slots)
        if self.SLOTS and self.t > 0:
            for name in params:
                if name not in self.state:
                    raise ConfigError(f"{self.name} state: missing key '{self.SLOTS[0]}/{name}'")
        self._check_on_step = False

    def __repr__(self) -> str:
        keys = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({keys})"
