"""Optimizers by TOML name: `OPTIMIZERS["adam"] is Adam`, and `make_optimizer` for one table.

The base `Optimizer` validates, regularizes and clips; each algorithm writes only `_update`,
which changes one parameter array in place (layers hold references to these arrays). State is
made lazily per parameter name (`"dense_0.W"`) in the parameter's dtype and flattens to
`state_dict()` keys `"<slot>/<name>"` plus `"t"` and `"lr"`, all plain arrays for `.npz`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..suggest import did_you_mean
from .adaptive import Adadelta, AdaGrad, Adam, RMSProp
from .base import BASE_KEYS, Optimizer, unknown_key
from .momentum import Momentum, Nesterov
from .sgd import SGD

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "AdaGrad",
    "Adadelta",
    "Adam",
    "Momentum",
    "Nesterov",
    "Optimizer",
    "RMSProp",
    "make_optimizer",
    "unknown_key",
]

OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSProp, Adadelta, Adam)
}


def allowed_keys(cls: type[Optimizer]) -> list[str]:
    """The keys an `[optimizer]` table may hold for `cls` (`schedule` is `make_schedule`'s)."""
    return ["name", "lr", *cls.HYPER, *BASE_KEYS, "schedule"]


def make_optimizer(config: Mapping[str, Any]) -> Optimizer:
    """Make an optimizer from an `[optimizer]` table, e.g. `{name = "adam", lr = 0.001}`.

    The `schedule` key is ignored here; `tuidl.schedules.make_schedule` reads it.

    Raises:
        ConfigError: missing or unknown name, unknown key (with a did-you-mean) or a bad value.
    """
    names = ", ".join(OPTIMIZERS)
    if "name" not in config:
        raise ConfigError(f"[optimizer]: missing key 'name'; choose one of {names}")
    name = config["name"]
    if name not in OPTIMIZERS:
        hint = did_you_mean(name, OPTIMIZERS, list_choices=False)
        raise ConfigError(f"[optimizer]: unknown name {name!r}{hint} (choose one of {names})")
    cls = OPTIMIZERS[name]
    allowed = allowed_keys(cls)
    for key in config:
        if key not in allowed:
            raise unknown_key(f"[optimizer] {name}", key, allowed)
    keys = {k: v for k, v in config.items() if k not in ("name", "schedule")}
    try:
        return cls(**keys)
    except ValueError as error:
        raise ConfigError(f"[optimizer] {error}") from None
