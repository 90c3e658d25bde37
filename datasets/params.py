"""Dataset parameters from the experiment's `[data]` table: declared, defaulted, checked.

Each dataset declares its keys as `Param`s; `resolve_params` fills defaults, maps aliases
(`arms` for `classes`, `length` for `T` ...) and raises `ConfigError` naming the key, the value
and what would be accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..suggest import did_you_mean
from ..validate import integer, number


@dataclass(frozen=True)
class Param:
    """One `[data]` key: its kind (`int`, `float`, `str`, `column`), default, bounds, aliases.

    `column` accepts a column index (int, negative counts from the end) or a header name.
    `choices` restricts a `str` param.
    """

    kind: str
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    def check(self, dataset: str, key: str, value: Any) -> Any:
        """The value, converted (int to float for `float`), or a ConfigError."""
        where = f"[data] {key} for {dataset}"
        if self.kind in ("int", "float"):
            check = integer if self.kind == "int" else number
            try:
                return check(where, value, self.low, self.high)
            except ValueError as error:
                raise ConfigError(str(error)) from None
        if self.kind == "column":
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise ConfigError(
                    f"{where} must be a column index (0, 1, ..., -1 for the last) or a header "
                    f"name, got {value!r}"
                )
            return value
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        if self.choices and value not in self.choices:
            raise ConfigError(f"{where} is {value!r}{did_you_mean(value, self.choices)}")
        return value


def resolve_params(dataset: str, spec: dict[str, Param], given: dict[str, Any]) -> dict[str, Any]:
    """Defaults from `spec` overridden by `given` (aliases mapped); every value checked.

    Raises:
        ConfigError: an unknown key (with a did-you-mean), a key given twice through an
            alias, or a bad value.
    """
    names = {key: key for key in spec}
    for key, param in spec.items():
        names.update({alias: key for alias in param.aliases})
    values = {key: param.default for key, param in spec.items()}
    seen: dict[str, str] = {}
    for key, value in given.items():
        if key not in names:
            if not spec:
                raise ConfigError(f"{dataset} takes no [data] key {key!r}; remove it")
            hint = did_you_mean(key, list(names))
            raise ConfigError(f"unknown [data] key {key!r} for {dataset}{hint}")
        canonical = names[key]
        if canonical in seen:
            raise ConfigError(f"[data] {seen[canonical]!r} and {key!r} are the same key; keep one")
        seen[canonical] = key
        values[canonical] = spec[canonical].check(dataset, key, value)
    return values
