"""A sweep's search space: `--space KEY=DIST` parsed into dimensions, and the trials' values
drawn from them.

Distributions (random search, `--trials N` draws):

- `loguniform(a,b)`: a float whose logarithm is uniform on [log a, log b] (0 < a < b): as many
  draws between 1e-4 and 1e-3 as between 1e-2 and 1e-1, what learning rates and weight decays
  need;
- `uniform(a,b)`: a float uniform on [a, b] (dropout rates);
- `int(a,b)`: an integer uniform on a..b, both included (linear: 16..128 draws 16 as often as
  100);
- `logint(a,b)`: an integer on a..b whose logarithm is uniform (1 <= a < b; batch sizes, layer
  widths: 16..512 draws as many values under 64 as over 128);
- `choice(v1,v2,...)`: one of the values, each as likely (TOML values or bare words, as
  `--set` takes them).

With `--grid`, a dimension is a list of values instead (`KEY=V1,V2,...`, or `choice(...)`),
and the sweep runs every combination once.

Each dimension draws from a stream of its own, spawned from the sweep seed
(`numpy.random.SeedSequence(seed).spawn`), trial after trial: the same command draws the same
trials, more `--trials` add trials after the same first ones, and a dimension added at the end
leaves the others' values as they were.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..experiment import parse_value

CALL = re.compile(r"^([a-z]+)\((.*)\)$", re.DOTALL)
EXAMPLE = "optimizer.lr=loguniform(1e-4,1e-1)"
DISTRIBUTIONS = ("loguniform", "uniform", "int", "logint", "choice")


@dataclass(frozen=True)
class Dimension:
    """One key of the space and how its values are drawn.

    Attributes:
        key: the experiment key, dotted as `--set` takes it (`optimizer.lr`).
        kind: one of DISTRIBUTIONS, or "values" for a grid's list.
        args: the bounds (`loguniform`, `uniform`, `int`, `logint`) or the values.
        text: the `--space` argument it was parsed from (written to `sweep.toml`).
    """

    key: str
    kind: str
    args: tuple[Any, ...]
    text: str

    @property
    def discrete(self) -> bool:
        return self.kind in ("choice", "values")

    @property
    def log(self) -> bool:
        """Its values spread on a log scale (a plot of it wants a log axis)."""
        return self.kind in ("loguniform", "logint")

    def draw(self, rng: np.random.Generator) -> Any:
        """One value, from one uniform number of `rng`."""
        u = rng.random()
        if self.kind == "uniform":
            low, high = self.args
            return float(low + u * (high - low))
        if self.kind == "loguniform":
            low, high = map(math.log, self.args)
            return float(math.exp(low + u * (high - low)))
        if self.kind == "int":
            low, high = self.args
            return int(min(high, low + math.floor(u * (high - low + 1))))
        if self.kind == "logint":
            # uniform in log space over [low, high + 1), floored: each integer gets the share
            # of the log axis between it and the next one
            low, high = math.log(self.args[0]), math.log(self.args[1] + 1)
            return int(min(self.args[1], math.floor(math.exp(low + u * (high - low)))))
        return self.args[min(len(self.args) - 1, math.floor(u * len(self.args)))]


def parse_dimension(text: str, grid: bool) -> Dimension:
    """`KEY=DIST` (or, with `grid`, `KEY=V1,V2,...`) as a Dimension.

    Raises:
        ConfigError: one line naming the argument and how to write it.
    """
    key, sep, spec = text.partition("=")
    key, spec = key.strip(), spec.strip()
    if not sep or not key or not spec:
        raise ConfigError(f"--space {text!r}: write KEY=DIST, e.g. {EXAMPLE}")
    call = CALL.match(spec)
    if call is None:
        if not grid:
            raise ConfigError(
                f"--space {text!r}: {spec!r} is no distribution; write one of "
                f"{', '.join(f'{d}(...)' for d in DISTRIBUTIONS)}, e.g. {EXAMPLE}, or pass "
                "--grid to run a list of values"
            )
        return Dimension(key, "values", _values(text, spec), text)
    kind, inner = call.groups()
    if kind not in DISTRIBUTIONS:
        raise ConfigError(
            f"--space {text!r}: unknown distribution {kind!r}; choose one of "
            f"{', '.join(DISTRIBUTIONS)}"
        )
    if kind == "choice":
        return Dimension(key, "values" if grid else "choice", _values(text, inner), text)
    if grid:
        raise ConfigError(
            f"--space {text!r}: --grid runs lists of values (KEY=V1,V2,...), not {kind}(...); "
            "drop --grid to draw from it"
        )
    return Dimension(key, kind, _bounds(text, kind, inner), text)


def _values(text: str, inner: str) -> tuple[Any, ...]:
    parts = [part.strip() for part in inner.split(",")]
    if not all(parts):
        raise ConfigError(f"--space {text!r}: an empty value; write V1,V2,... e.g. sgd,adam")
    values = tuple(parse_value(part) for part in parts)
    if len(set(map(repr, values))) != len(values):
        raise ConfigError(f"--space {text!r} lists a value twice; give each value once")
    return values


def _bounds(text: str, kind: str, inner: str) -> tuple[float, float] | tuple[int, int]:
    parts = [part.strip() for part in inner.split(",")]
    whole = kind in ("int", "logint")
    try:
        if len(parts) != 2:
            raise ValueError
        low, high = (int(p) for p in parts) if whole else (float(p) for p in parts)
    except ValueError:
        what = "two whole numbers" if whole else "two numbers"
        raise ConfigError(f"--space {text!r}: {kind}(...) takes {what}, low and high") from None
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise ConfigError(f"--space {text!r}: the low bound must be under the high one")
    if kind in ("loguniform", "logint") and low <= 0:
        raise ConfigError(f"--space {text!r}: {kind} needs bounds above 0 (it draws logarithms)")
    return low, high


def parse_space(texts: list[str], grid: bool) -> list[Dimension]:
    """Every `--space` argument as a Dimension, each key once.

    Raises:
        ConfigError: no dimension, a malformed one, or a key given twice.
    """
    if not texts:
        raise ConfigError(f"give at least one --space KEY=DIST, e.g. --space {EXAMPLE}")
    space = [parse_dimension(text, grid) for text in texts]
    keys = [d.key for d in space]
    for key in keys:
        if keys.count(key) > 1:
            raise ConfigError(f"--space names {key} twice; give each key once")
    return space


def draw_values(space: list[Dimension], count: int, seed: int) -> list[dict[str, Any]]:
    """`count` configurations drawn at random: one `{key: value}` per trial, in draw order.

    Raises:
        ConfigError: every dimension is a choice and `count` is more than their combinations
            (trials would repeat; --grid runs each once).
    """
    if count < 1:
        raise ConfigError("--trials must be at least 1")
    if all(d.discrete for d in space):
        combinations = math.prod(len(d.args) for d in space)
        if count > combinations:
            raise ConfigError(
                f"the space has {combinations} combinations and --trials asks for {count}: "
                "trials would repeat; pass --grid to run each combination once"
            )
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(space))]
    return [
        {d.key: d.draw(rng) for d, rng in zip(space, streams, strict=True)} for _ in range(count)
    ]


def grid_values(space: list[Dimension]) -> list[dict[str, Any]]:
    """Every combination of the dimensions' values, the last dimension varying fastest."""
    keys = [d.key for d in space]
    return [
        dict(zip(keys, combination, strict=True))
        for combination in itertools.product(*(d.args for d in space))
    ]
