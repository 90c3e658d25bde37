"""Experiment files: TOML parsed and validated into one object shared by the CLI and the app.

Layout (PRODUCT.md): top-level `name`, `seed`, and optionally `lesson` (what the experiment
shows and what to watch, on its lesson card); tables `[data]`, `[model]`, `[optimizer]`,
`[train]`, and optionally `[compare]` (what `tuidl compare` and the app race by default:
`optimizers`, `vary`, `seeds`, as the command's options). `[data]` and `[optimizer]` keys
beyond the common ones go to the dataset and the optimizer, which check them; `[model]` is
checked by `Sequential.from_config`; `[train]` here.

An experiment loaded from a file keeps the file's tomlkit document, and edits of it (`--set`,
the build screen) carry it along, so saving writes the user's file back with only the changed
values replaced: their comments and layout stay.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from . import tomldoc
from .atomic import atomic_write
from .errors import ConfigError
from .suggest import did_you_mean
from .validate import boolean, file_size, integer, number, size_text

TOP_KEYS = ("name", "seed", "lesson", "data", "model", "optimizer", "train", "compare")
COMPARE_KEYS = ("optimizers", "vary", "seeds")
TRAIN_DEFAULTS: dict[str, Any] = {"epochs": 10, "batch_size": 64, "log_every": 1, "shuffle": True}
EARLY_STOPPING_DEFAULTS: dict[str, Any] = {
    "patience": 3,
    "min_delta": 0.0,
    "restore_best": True,
    "monitor": "val_loss",
}
MONITORS = ("val_loss", "val_acc", "train_loss")
MAX_FILE_BYTES = 256 << 10  # experiments take a few KiB; tomlkit parses about 100 KiB a second


@dataclass
class Experiment:
    """A validated experiment.

    Attributes:
        source: the file it came from (None for presets and edits).
        document: the parsed TOML it came from, comments and all, which `save` writes back
            updated; None for presets and experiments made from a plain dict.
    """

    name: str
    seed: int
    data: dict[str, Any]
    model: dict[str, Any]
    optimizer: dict[str, Any]
    train: dict[str, Any]
    lesson: str = ""
    compare: dict[str, Any] = field(default_factory=dict)
    source: Path | None = field(default=None, compare=False)
    document: tomlkit.TOMLDocument | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_dict(
        cls,
        document: dict[str, Any],
        source: Path | None = None,
        *,
        template: Experiment | None = None,
    ) -> Experiment:
        """Validate a parsed document.

        Args:
            document: the experiment as a dict; a tomlkit document is kept for `save`.
            source: the file it came from.
            template: the experiment this one is an edit of; its TOML document is kept for
                `save` (unless `document` is one itself).

        Raises:
            ConfigError: naming the key and the fix.
        """
        if isinstance(document, tomlkit.TOMLDocument):
            original, document = document, document.unwrap()
        else:
            original = template.document if template is not None else None
        for key in document:
            if key not in TOP_KEYS:
                raise ConfigError(f"unknown top-level key {key!r}{did_you_mean(key, TOP_KEYS)}")
        for key in ("data", "model", "optimizer", "train", "compare"):
            if not isinstance(document.get(key, {}), dict):
                raise ConfigError(f"{key} must be a table: write it as [{key}]")
        name = document.get("name", source.stem if source else "experiment")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"name must be a non-empty string, got {name!r}")
        seed = _checked(integer, "seed", document.get("seed", 0), low=0)
        lesson = document.get("lesson", "")
        if not isinstance(lesson, str):
            raise ConfigError(
                f'lesson must be a string, e.g. lesson = "watch the ...", got {lesson!r}'
            )
        data = dict(document.get("data", {}))
        if "name" not in data:
            raise ConfigError('[data] needs a name, e.g. name = "spiral" (see tuidl data list)')
        if "seed" in data:
            raise ConfigError("[data] seed: the top-level seed also seeds the data; remove it")
        experiment = cls(
            name=name,
            seed=seed,
            data=data,
            model=copy.deepcopy(document.get("model", {})),
            optimizer=dict(document.get("optimizer", {"name": "adam"})),
            train=_check_train(document.get("train", {})),
            lesson=lesson,
            compare=_check_compare(document.get("compare", {})),
            source=source,
            document=original,
        )
        experiment.make_model()  # checks layer types and keys before any data is read
        experiment.make_optimizer()
        experiment.make_schedule()
        return experiment

    @classmethod
    def load(cls, path: str | os.PathLike) -> Experiment:
        """Read and validate a TOML file; ConfigError names the file and what is wrong.

        The file is checked before it is read: a folder, a device (/dev/zero reads forever)
        or a file bigger than MAX_FILE_BYTES (megabytes take tomlkit minutes) is refused.
        """
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"experiment file {path} does not exist")
        try:
            size = file_size(path)
        except ValueError as error:
            raise ConfigError(f"experiment file {path}: {error}; pass a .toml file") from None
        if size > MAX_FILE_BYTES:
            raise ConfigError(
                f"experiment file {path} holds {size_text(size)}, more than an experiment "
                f"needs (at most {size_text(MAX_FILE_BYTES)}); is it the right file?"
            )
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as error:
            raise ConfigError(
                f"experiment file {path}: not UTF-8 text (byte 0x{error.object[error.start]:02x} "
                f"at offset {error.start}); save it as UTF-8"
            ) from None
        except OSError as error:
            raise ConfigError(f"cannot read experiment file {path}: {error.strerror}") from None
        if "\x00" in text:
            raise ConfigError(
                f"experiment file {path} is not text (it holds NUL bytes); is it the right file?"
            )
        try:
            document = tomlkit.parse(text)
        except TOMLKitError as error:
            raise ConfigError(f"{path}: TOML syntax error: {error}") from None
        try:
            return cls.from_dict(document, path)
        except ConfigError as error:
            raise ConfigError(f"{path}: {error}") from None

    def to_dict(self) -> dict[str, Any]:
        document = {"name": self.name, "seed": self.seed}
        if self.lesson:
            document["lesson"] = self.lesson
        document |= {
            "data": self.data,
            "model": self.model,
            "optimizer": self.optimizer,
            "train": self.train,
        }
        if self.compare:
            document["compare"] = self.compare
        return document

    def to_toml(self) -> str:
        """The TOML text: the source document with the current values written in, or a fresh one."""
        if self.document is None:
            return tomldoc.new_document(self.to_dict()).as_string()
        document = copy.deepcopy(self.document)  # edits of this experiment share it
        tomldoc.update(document, self.to_dict())
        return document.as_string()

    def save(self, path: str | os.PathLike) -> None:
        """Write the experiment as TOML, atomically (temp file + rename)."""
        with atomic_write(path) as file:
            file.write(self.to_toml().encode())

    def with_overrides(self, assignments: list[str]) -> Experiment:
        """A copy with `--set key=value` overrides applied, e.g. `optimizer.lr=0.01`.

        Keys are dotted paths (`model.layers.2.units` indexes the layer list); values are TOML
        values (`3`, `0.5`, `true`, `"he"`), and a bare word is taken as a string.
        """
        document = copy.deepcopy(self.to_dict())
        for assignment in assignments:
            key, sep, raw = assignment.partition("=")
            if not sep or not key:
                raise ConfigError(f"--set {assignment!r}: write key=value, e.g. train.epochs=5")
            _assign(document, key.strip(), parse_value(raw), assignment)
        return Experiment.from_dict(document, self.source, template=self)

    def make_model(self):
        from .model import Sequential

        return Sequential.from_config(self.model)

    def make_optimizer(self):
        from .optimizers import make_optimizer

        table = {key: value for key, value in self.optimizer.items() if key != "schedule"}
        try:
            return make_optimizer(table)
        except ConfigError:
            raise
        except ValueError as error:
            raise ConfigError(f"[optimizer]: {error}") from None

    def make_schedule(self):
        """The learning-rate schedule of `[optimizer] schedule`, or None."""
        from .schedules import make_schedule

        try:
            return make_schedule(self.optimizer.get("schedule"))
        except ConfigError:
            raise
        except ValueError as error:
            raise ConfigError(f"[optimizer] schedule: {error}") from None


def _check_compare(table: dict[str, Any]) -> dict[str, Any]:
    """`[compare]`: the race `tuidl compare EXP` runs when no option says what to vary."""
    for key, value in table.items():
        if key not in COMPARE_KEYS:
            raise ConfigError(f"[compare]: unknown key {key!r}{did_you_mean(key, COMPARE_KEYS)}")
        if key == "seeds":
            _checked(integer, "[compare] seeds", value, low=1)
        elif key == "vary" and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise ConfigError('[compare] vary must be a list, e.g. vary = ["model.init=he,xavier"]')
        elif key == "optimizers" and not isinstance(value, str):
            raise ConfigError('[compare] optimizers must be a string, e.g. "sgd:0.1,adam"')
    return dict(table)


def _check_train(table: dict[str, Any]) -> dict[str, Any]:
    known = [*TRAIN_DEFAULTS, "early_stopping"]
    for key in table:
        if key not in known:
            raise ConfigError(f"[train]: unknown key {key!r}{did_you_mean(key, known)}")
    train = TRAIN_DEFAULTS | {key: value for key, value in table.items() if key != "early_stopping"}
    for key, value in train.items():
        if key == "shuffle":
            _checked(boolean, f"[train] {key}", value)
        else:  # 0 epochs: a run that only measures the initial network (its epoch-0 record)
            _checked(integer, f"[train] {key}", value, low=0 if key == "epochs" else 1)
    if "early_stopping" in table:
        train["early_stopping"] = _check_early_stopping(table["early_stopping"])
    return train


def _check_early_stopping(table: Any) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError("[train] early_stopping must be a table, e.g. { patience = 3 }")
    result = dict(EARLY_STOPPING_DEFAULTS)
    for key, value in table.items():
        if key not in EARLY_STOPPING_DEFAULTS:
            raise ConfigError(
                f"[train] early_stopping: unknown key {key!r}"
                f"{did_you_mean(key, EARLY_STOPPING_DEFAULTS)}"
            )
        result[key] = value
    _checked(integer, "[train] early_stopping patience", result["patience"], low=0)
    _checked(number, "[train] early_stopping min_delta", result["min_delta"], low=0)
    _checked(boolean, "[train] early_stopping restore_best", result["restore_best"])
    if result["monitor"] not in MONITORS:
        raise ConfigError(
            f"[train] early_stopping monitor {result['monitor']!r}"
            f"{did_you_mean(result['monitor'], MONITORS)}"
        )
    return result


def _checked(check: Callable[..., Any], name: str, value: Any, **bounds: Any) -> Any:
    """`check(name, value, **bounds)` (from `tuidl.validate`), its ValueError a ConfigError."""
    try:
        return check(name, value, **bounds)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def parse_value(raw: str) -> Any:
    """A typed value (a `--set` right-hand side, a form field) as TOML; a bare word is a string.

    `3`, `0.5`, `true`, `[8, 8]` and `"same"` are TOML values; text that is none (`same`) comes
    back as it is, stripped, so strings need no quotes.
    """
    raw = raw.strip()
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _assign(document: dict[str, Any], key: str, value: Any, assignment: str) -> None:
    parts = key.split(".")
    node: Any = document
    for depth, part in enumerate(parts[:-1]):
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            node = node[_index(part, node, where, assignment)]
        elif isinstance(node, dict):
            if part not in node:
                node[part] = {}
            node = node[part]
        else:
            raise ConfigError(f"--set {assignment!r}: {where} is a value, not a table")
    last = parts[-1]
    if isinstance(node, list):
        node[_index(last, node, key, assignment)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ConfigError(f"--set {assignment!r}: {'.'.join(parts[:-1])} is a value, not a table")


def _index(part: str, items: list, where: str, assignment: str) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise ConfigError(
            f"--set {assignment!r}: {where} must be an index from 0 to {len(items) - 1}"
        )
    return int(part)
