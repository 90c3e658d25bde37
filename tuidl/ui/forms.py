"""The build screen's form fields as plain functions (no Textual): typed text as TOML values,
`key=value` lists and `TYPE key=value ...` lines, and each setting of the experiment changed in
the draft document and checked.

A setting is one value of the experiment (`lr`, `schedule`, `val_split` ...), named as the
build screen's widget for it. `edit_setting` changes a copy of the draft and checks the table
the setting lives in; `setting_value` is what the widget shows for a draft, and editing a
setting to the value it shows changes nothing.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Callable
from functools import partial
from typing import Any

import tomlkit

from ..datasets import load_dataset, lookup
from ..datasets.params import resolve_params
from ..errors import ConfigError
from ..experiment import EARLY_STOPPING_DEFAULTS, Experiment, parse_value
from ..layers import LAYERS
from ..optimizers import OPTIMIZERS, Optimizer
from ..validate import number

# a value: a TOML list, inline table or quoted string, else a bare word up to a separator
_PAIR = re.compile(r"""([A-Za-z_][\w.-]*)\s*=\s*(\[[^\]]*\]|\{[^}]*\}|"[^"]*"|'[^']*'|[^\s,;]+)""")
_SEPARATORS = re.compile(r"[\s,;]*")
_BARE = re.compile(r"""[^\s,;=\[\]{}"']+""")


def format_value(value: Any) -> str:
    """`value` as text that `parse_value` reads back as it: strings bare when they can be."""
    if isinstance(value, str) and _BARE.fullmatch(value) and parse_value(value) == value:
        return value
    if isinstance(value, dict):  # tomlkit.item makes a dict a [table] of lines of its own
        table = tomlkit.inline_table()
        table.update(value)
        return table.as_string()
    return tomlkit.item(value).as_string()


def format_keys(spec: dict[str, Any]) -> str:
    """A table's keys but `type` as `key=value` pairs: `filters=8 kernel=3 padding=same`."""
    return " ".join(f"{k}={format_value(v)}" for k, v in spec.items() if k != "type")


def parse_pairs(text: str) -> dict[str, Any]:
    """`momentum=0.9, weight_decay=1e-4` or `filters=6 kernel=3` -> a dict of TOML values.

    Pairs are separated by spaces, commas or semicolons; a value is a TOML value (`[3, 3]`,
    `"same"`) or a bare word, taken as a string.

    Raises:
        ConfigError: a part that is not `key=value`.
    """
    pairs = {}
    position = _SEPARATORS.match(text).end()
    while position < len(text):
        match = _PAIR.match(text, position)
        if match is None:
            part = re.split(r"[\s,;]", text[position:])[0]
            raise ConfigError(f"{part!r}: write key=value, e.g. momentum=0.9")
        pairs[match[1]] = parse_value(match[2])
        position = _SEPARATORS.match(text, match.end()).end()
    return pairs


def parse_typed_line(text: str) -> tuple[str, dict[str, Any]]:
    """`conv2d filters=6 kernel=3` -> ("conv2d", {"filters": 6, "kernel": 3}).

    Raises:
        ConfigError: no type first, or a part that is not `key=value`.
    """
    kind, _, rest = text.strip().partition(" ")
    if not kind or "=" in kind:
        raise ConfigError("start with the type, then its keys: conv2d filters=6 kernel=3")
    return kind.lower(), parse_pairs(rest)


def layer_fields(kind: str) -> list[tuple[str, Any]]:
    """(key, default) of a layer type's TOML keys; `inspect.Parameter.empty` when required."""
    return _signature_keys(LAYERS[kind].__init__)


def keys_hint(defaults: list[tuple[str, Any]]) -> str:
    """`n=400 classes=2 noise=0.05`: keys with their defaults (a bare key has none)."""
    shown = (inspect.Parameter.empty, None)
    return " ".join(k if d in shown else f"{k}={format_value(d)}" for k, d in defaults)


def data_keys(name: str) -> list[tuple[str, Any]]:
    """(key, default) of a dataset's own `[data]` keys (none for an unknown name)."""
    try:
        info, _ = lookup(name)
    except ConfigError:
        return []
    return [(key, param.default) for key, param in info.params.items()]


def optimizer_keys(name: str) -> list[tuple[str, Any]]:
    """(key, default) of an optimizer's keys besides `lr`: its own, then every optimizer's."""
    cls = OPTIMIZERS.get(name)
    own = _signature_keys(cls.__init__) if cls is not None else []
    return [(k, d) for k, d in own + _signature_keys(Optimizer.__init__) if k != "lr"]


def _signature_keys(function: Callable) -> list[tuple[str, Any]]:
    parameters = inspect.signature(function).parameters.values()
    kinds = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    return [(p.name, p.default) for p in parameters if p.name != "self" and p.kind not in kinds]


# ---- settings ----
DATA_COMMON = ("name", "val_split", "normalize")  # `[data]` keys that have fields of their own
OPTIMIZER_COMMON = ("name", "lr", "schedule")
EARLY_STOPPING_KEYS = tuple(EARLY_STOPPING_DEFAULTS)
_LOADING = inspect.signature(load_dataset).parameters
# what a draft shows where it does not say (load_dataset's, Sequential's and the trainer's)
SHOWN_DEFAULTS: dict[str, Any] = {
    "normalize": _LOADING["normalize"].default,
    "loss": "mse",
    "init": "he",
    **EARLY_STOPPING_DEFAULTS,
}
# typed settings a draft may leave out, and what applies then (their fields' placeholders)
TYPED_DEFAULTS: dict[str, Any] = {"seed": 0, "val_split": _LOADING["val_split"].default}
# settings picked from a list (the others are typed)
CHOICES = {"dataset", "normalize", "loss", "optimizer", "shuffle", "early_stopping",
           "restore_best", "monitor"}  # fmt: skip
# settings an edit of the key resets: their widgets show the draft anew
RESETS: dict[str, tuple[str, ...]] = {
    "dataset": ("data-keys",),
    "optimizer": ("opt-keys",),
    "early_stopping": EARLY_STOPPING_KEYS,
}
# `Experiment.from_dict` checks a whole experiment and stops at its first problem. A setting
# is checked in its own table next to this valid rest, so a layer still being edited neither
# hides the setting's problem nor is blamed on it.
_VALID_REST: dict[str, Any] = {
    "data": {"name": "spiral"},
    "model": {"layers": [{"type": "dense", "units": 2}]},
}


def edit_setting(document: dict[str, Any], setting: str, value: Any) -> dict[str, Any]:
    """A copy of the draft `document` with one setting changed, checked.

    Args:
        document: the draft (`Experiment.to_dict()` layout; its layers may not be valid yet).
        setting: a key of `SETTINGS`.
        value: what its widget holds: an input's text (empty: the default) or a choice.

    Raises:
        ConfigError: what is wrong with the value, naming its key.
    """
    draft = copy.deepcopy(document)
    for table in ("data", "model", "optimizer", "train"):
        draft.setdefault(table, {})
    section = SETTINGS[setting](draft, value)
    if section == "data":
        _check_data(draft["data"])
        return draft
    rest = copy.deepcopy(_VALID_REST)
    if section == "top":
        Experiment.from_dict(rest | {k: draft[k] for k in ("name", "seed") if k in draft})
    elif section == "model":  # its loss and init; the layers are analyzed on their own
        Experiment.from_dict(rest | {"model": draft["model"] | rest["model"]})
    else:
        Experiment.from_dict(rest | {section: draft[section]})
    return draft


def setting_value(document: dict[str, Any], setting: str) -> Any:
    """What the widget of `setting` shows for the draft `document`: text, or a choice."""
    data, optimizer = document.get("data", {}), document.get("optimizer", {})
    if setting == "data-keys":
        return format_keys({k: v for k, v in data.items() if k not in DATA_COMMON})
    if setting == "opt-keys":
        return format_keys({k: v for k, v in optimizer.items() if k not in OPTIMIZER_COMMON})
    if setting == "schedule":
        schedule = optimizer.get("schedule") or {}
        return " ".join(filter(None, [schedule.get("type", ""), format_keys(schedule)]))
    if setting == "early_stopping":
        return "early_stopping" in document.get("train", {})
    table: Any = document
    path, key = _PLACES[setting]
    for part in path:
        table = table.get(part, {})
    value = table.get(key, SHOWN_DEFAULTS.get(key, ""))
    return value if setting in CHOICES or setting == "name" or value == "" else format_value(value)


def _typed(table: dict[str, Any], key: str, text: str) -> None:
    """Set a typed value; empty text removes the key (its default applies)."""
    if text.strip():
        table[key] = parse_value(text)
    else:
        table.pop(key, None)


def _chosen(table: dict[str, Any], key: str, value: Any) -> None:
    """Set a picked value; the default a draft only shows is not written in."""
    if key in table or value != SHOWN_DEFAULTS.get(key):
        table[key] = value


def _name(draft: dict[str, Any], text: str) -> str:
    draft["name"] = text.strip()
    return "top"


def _seed(draft: dict[str, Any], text: str) -> str:
    _typed(draft, "seed", text)
    return "top"


def _dataset(draft: dict[str, Any], name: str) -> str:
    data = draft["data"]
    if name != data.get("name"):  # another dataset takes other keys
        draft["data"] = {k: v for k, v in data.items() if k in DATA_COMMON} | {"name": name}
    return "data"


def _data_keys(draft: dict[str, Any], text: str) -> str:
    return _own_keys(draft, "data", DATA_COMMON, text)


def _own_keys(draft: dict[str, Any], table: str, common: Any, text: str) -> str:
    """Table `table`'s own keys (a dataset's, an optimizer's) as `text` gives them, beside its
    `common` ones, which keep their fields."""
    pairs = parse_pairs(text)
    _refuse_common(pairs, common)
    kept = {k: v for k, v in draft[table].items() if k in common}
    draft[table] = kept | pairs
    return table


def _data_value(key: str, typed: bool, draft: dict[str, Any], value: Any) -> str:
    (_typed if typed else _chosen)(draft["data"], key, value)
    return "data"


def _model_choice(key: str, draft: dict[str, Any], value: str) -> str:
    _chosen(draft["model"], key, value)
    return "model"


def _init(draft: dict[str, Any], text: str) -> str:
    """A typed init: a name, `gaussian:0.01`, or a table `{ name = "uniform", limit = 0.1 }`."""
    if text.strip():
        _chosen(draft["model"], "init", parse_value(text))
    else:
        draft["model"].pop("init", None)
    return "model"


def _optimizer(draft: dict[str, Any], name: str) -> str:
    optimizer = draft["optimizer"]
    if name != optimizer.get("name"):  # another optimizer takes other keys
        kept = {k: v for k, v in optimizer.items() if k in OPTIMIZER_COMMON}
        draft["optimizer"] = kept | {"name": name}
    return "optimizer"


def _lr(draft: dict[str, Any], text: str) -> str:
    _typed(draft["optimizer"], "lr", text)
    return "optimizer"


def _optimizer_keys(draft: dict[str, Any], text: str) -> str:
    return _own_keys(draft, "optimizer", OPTIMIZER_COMMON, text)


def _schedule(draft: dict[str, Any], text: str) -> str:
    if text.strip():
        kind, pairs = parse_typed_line(text)
        draft["optimizer"]["schedule"] = {"type": kind} | pairs
    else:
        draft["optimizer"].pop("schedule", None)
    return "optimizer"


def _train_value(key: str, draft: dict[str, Any], value: Any) -> str:
    train = draft["train"]
    if isinstance(value, str):
        _typed(train, key, value)
    else:
        train[key] = value
    return "train"


def _early_stopping(draft: dict[str, Any], on: bool) -> str:
    if on:
        draft["train"].setdefault("early_stopping", dict(EARLY_STOPPING_DEFAULTS))
    else:
        draft["train"].pop("early_stopping", None)
    return "train"


def _stopping_value(key: str, draft: dict[str, Any], value: Any) -> str:
    table = draft["train"].get("early_stopping")
    if table is None:  # off: its fields are hidden, and show the defaults when it is turned on
        return "train"
    if isinstance(value, str):
        _typed(table, key, value)
    else:
        table[key] = value
    return "train"


def _refuse_common(pairs: dict[str, Any], common: tuple[str, ...]) -> None:
    for key in pairs:
        if key in common:
            raise ConfigError(f"{key} has a field of its own")


def _check_data(data: dict[str, Any]) -> None:
    """What `load_dataset` would refuse before reading anything (and a missing file)."""
    info, path = lookup(data.get("name"))
    if path is not None and not (path.is_dir() if info.prefix == "idx" else path.is_file()):
        raise ConfigError(f"{path}: no such {'folder' if info.prefix == 'idx' else 'file'}")
    own = {k: v for k, v in data.items() if k not in DATA_COMMON}
    resolve_params(data["name"], info.params, own)
    if "val_split" in data:
        try:
            number("[data] val_split", data["val_split"], 0.0, 1.0, high_open=True)
        except ValueError as error:
            raise ConfigError(str(error)) from None


# setting -> where it is in a draft: the tables on the way, its key
_PLACES: dict[str, tuple[tuple[str, ...], str]] = {
    "name": ((), "name"),
    "seed": ((), "seed"),
    "dataset": (("data",), "name"),
    "normalize": (("data",), "normalize"),
    "val_split": (("data",), "val_split"),
    "loss": (("model",), "loss"),
    "init": (("model",), "init"),
    "optimizer": (("optimizer",), "name"),
    "lr": (("optimizer",), "lr"),
    **{key: (("train",), key) for key in ("epochs", "batch_size", "log_every", "shuffle")},
    **{key: (("train", "early_stopping"), key) for key in EARLY_STOPPING_KEYS},
}
# setting -> its edit of a draft, returning the table to check ("top" for name and seed)
SETTINGS: dict[str, Callable[[dict[str, Any], Any], str]] = {
    "name": _name,
    "seed": _seed,
    "dataset": _dataset,
    "data-keys": _data_keys,
    "normalize": partial(_data_value, "normalize", False),
    "val_split": partial(_data_value, "val_split", True),
    "loss": partial(_model_choice, "loss"),
    "init": _init,
    "optimizer": _optimizer,
    "lr": _lr,
    "opt-keys": _optimizer_keys,
    "schedule": _schedule,
    "epochs": partial(_train_value, "epochs"),
    "batch_size": partial(_train_value, "batch_size"),
    "log_every": partial(_train_value, "log_every"),
    "shuffle": partial(_train_value, "shuffle"),
    "early_stopping": _early_stopping,
    **{key: partial(_stopping_value, key) for key in EARLY_STOPPING_KEYS},
}
