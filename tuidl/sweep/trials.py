"""A sweep's trials: each a configuration of the space (its values, applied as `--set`
assignments) and a seed, validated into the experiment it trains.

Trial `i` is configuration `i // K` with seed `S + i % K` (K = `--seeds`, S = the
experiment's seed after `--seed`). With one seed per configuration every trial starts from
the same seed, so trials whose values leave the network's shapes alone start from identical
weights and see the same batches, as `tuidl compare`'s runs do: what differs between them is
what the sweep varies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tomlkit

from ..errors import ConfigError
from ..experiment import Experiment
from .space import Dimension, draw_values, grid_values

DEFAULT_TRIALS = 8  # configurations a random sweep draws without --trials


@dataclass(frozen=True)
class Trial:
    """One run of a sweep.

    Attributes:
        index: its place in the sweep, from 0.
        values: the swept keys' values, `{key: value}`.
        seed: the run's seed.
        folder: its run directory's name inside the sweep directory (`trial-007`).
        experiment: what it trains (the sweep's experiment with `values` and `seed`).
    """

    index: int
    values: dict[str, Any]
    seed: int
    folder: str
    experiment: Experiment

    @property
    def label(self) -> str:
        """`optimizer.lr=0.0012 train.batch_size=37`, as the tables show it."""
        return " ".join(f"{key}={format_value(value)}" for key, value in self.values.items())


def format_value(value: Any) -> str:
    """A value for a table: floats with 4 significant digits, the rest as TOML writes it."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return value if isinstance(value, str) else toml_value(value)


def toml_value(value: Any) -> str:
    """`value` as TOML text, which `--set` parses back to the same value (floats exactly)."""
    return tomlkit.item(value).as_string()


def assignments(values: dict[str, Any]) -> list[str]:
    """`--set`-style assignments that give an experiment `values`."""
    return [f"{key}={toml_value(value)}" for key, value in values.items()]


def folder_name(index: int, count: int) -> str:
    """`trial-007`: zero-padded to the sweep's size, so the folders sort in trial order."""
    return f"trial-{index:0{max(3, len(str(count - 1)))}d}"


def make_trials(
    experiment: Experiment, configurations: list[dict[str, Any]], seeds: int
) -> list[Trial]:
    """The trials of `configurations` times `seeds` seeds, each validated.

    Raises:
        ConfigError: naming the trial and its values, when its experiment is invalid.
    """
    count = len(configurations) * seeds
    trials = []
    for index in range(count):
        values = configurations[index // seeds]
        seed = experiment.seed + index % seeds
        try:
            trial_experiment = experiment.with_overrides([*assignments(values), f"seed={seed}"])
        except ConfigError as error:
            label = " ".join(assignments(values))
            raise ConfigError(f"trial {index} ({label}): {error}") from None
        trials.append(Trial(index, values, seed, folder_name(index, count), trial_experiment))
    return trials


def plan_trials(
    experiment: Experiment, space: list[Dimension], count: int | None, grid: bool, seeds: int
) -> list[Trial]:
    """Every trial of a sweep: `count` configurations drawn from `space` with the
    experiment's seed (or, with `grid`, every combination), times `seeds` seeds.

    Each dimension is first tried alone on the experiment, so a key that does not exist or a
    value it refuses is blamed on its `--space` argument.

    Raises:
        ConfigError: `--trials` with `--grid`, a bad count, or an invalid dimension or trial.
    """
    if seeds < 1:
        raise ConfigError("--seeds must be at least 1")
    if grid and count is not None:
        raise ConfigError("--grid runs every combination of the values; drop --trials")
    for dimension in space:
        for value in dimension.args:  # its values, or its bounds
            try:
                experiment.with_overrides(assignments({dimension.key: value}))
            except ConfigError as error:
                raise ConfigError(f"--space {dimension.text!r}: {error}") from None
    if grid:
        configurations = grid_values(space)
    else:
        configurations = draw_values(
            space, DEFAULT_TRIALS if count is None else count, experiment.seed
        )
    return make_trials(experiment, configurations, seeds)
