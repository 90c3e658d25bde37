"""What a race runs: every combination of experiments, optimizers and `--vary` values, times
seeds, each a `Variant` with its label, seed and folder (`tuidl compare` and the app's race).

Variants of one experiment differ only in what they vary: the trainer draws initial weights and
the batch order from the seed alone, so they start from identical weights (where the shapes
allow) and see identical batches.
"""

from __future__ import annotations

import itertools
import shlex
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .experiment import Experiment
from .optimizers import OPTIMIZERS
from .runs import run_name, variant_folder
from .suggest import did_you_mean

# what a race carries over from the experiment's optimizer table to another optimizer
CARRIED_KEYS = ("weight_decay", "l1", "clip_norm", "clip_value", "schedule")
RACE_EXAMPLE = "sgd:0.1,adam --vary model.init=he,xavier --seeds 3"
DEFAULT_RACE = "sgd,momentum,adam"  # the app's race line for an experiment without [compare]


@dataclass(frozen=True)
class Variant:
    """One run of a race.

    Attributes:
        label: the variant, shared by its seeds (`adam`, `model.init=he`, `sgd:0.1 model.init=he`).
        seed: this run's seed.
        run: the run's own label (the label, and the seed when a race has several).
        folder: its run directory's name inside the race's folder.
        experiment: what it trains.
    """

    label: str
    seed: int
    run: str
    folder: str
    experiment: Experiment


@dataclass(frozen=True)
class _Change:
    """One value of one axis of a race: its label, folder part, and how it edits the document."""

    label: str
    folder: str
    experiment: Experiment | None = None  # a whole experiment (races of several)
    assignment: str | None = None  # `key=value`, as `--set` takes it
    optimizer: str | None = None  # one `--optimizers` spec, `sgd:0.1`


def parse_optimizers(text: str, base: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """`"sgd:0.1,adam"` -> [(label, optimizer table)]; shared keys (decay, clipping, schedule)
    come from the experiment, lr from the spec, else the experiment's for the same optimizer,
    else the optimizer's default."""
    runs = []
    for spec in filter(None, (part.strip() for part in text.split(","))):
        name, _, lr = spec.partition(":")
        if name not in OPTIMIZERS:
            raise ConfigError(
                f"--optimizers: unknown optimizer {name!r}{did_you_mean(name, OPTIMIZERS)}"
            )
        if base.get("name") == name:
            table = dict(base)
        else:
            table = {"name": name} | {k: base[k] for k in CARRIED_KEYS if k in base}
        if lr:
            try:
                table["lr"] = float(lr)
            except ValueError:
                raise ConfigError(
                    f"--optimizers: {spec!r} needs a number after ':', e.g. sgd:0.1"
                ) from None
        # the label names a folder: "sgd: 0.1" and "sgd:0.1" are one run, not two
        runs.append((f"{name}:{lr.strip()}" if lr else name, table))
    if not runs:
        raise ConfigError("--optimizers needs at least one name, e.g. --optimizers sgd,adam")
    labels = [label for label, _ in runs]
    if len(set(labels)) != len(labels):
        raise ConfigError("--optimizers lists the same optimizer twice; give each a different lr")
    return runs


def parse_vary(text: str) -> list[_Change]:
    """`"model.init=he,xavier"` -> one change per value, labelled `model.init=he`..."""
    key, sep, values = text.partition("=")
    key = key.strip()
    parts = [v.strip() for v in values.split(",")]
    if not sep or not key or not all(parts):
        raise ConfigError(f"--vary {text!r}: write KEY=V1,V2,..., e.g. --vary model.init=he,xavier")
    if len(set(parts)) != len(parts):
        raise ConfigError(f"--vary {text!r} lists a value twice; give each value once")
    return [
        _Change(f"{key}={value}", run_name(f"{key}={value}"), assignment=f"{key}={value}")
        for value in parts
    ]


def plan_race(
    experiments: list[Experiment],
    optimizers: str | None = None,
    vary: list[str] = (),
    seeds: int | None = None,
) -> list[Variant]:
    """Every combination of `experiments` (when several), `optimizers` and each `vary` axis,
    for seeds S..S+seeds-1 (S: each experiment's seed; seeds 1 unless given); all validated
    before any run starts. One experiment and nothing else to vary races its `[compare]` table.

    Raises:
        ConfigError: nothing varies, the experiments use different data, a value is invalid,
            or two variants would get the same label.
    """
    first = experiments[0]
    if len(experiments) == 1 and optimizers is None and not vary:
        optimizers, vary = first.compare.get("optimizers"), first.compare.get("vary", [])
        seeds = seeds or first.compare.get("seeds")
    seeds = 1 if seeds is None else seeds
    if seeds < 1:
        raise ConfigError("--seeds must be at least 1")
    for other in experiments[1:]:
        if other.data != first.data:
            raise ConfigError(
                f"{other.name!r} trains on other data than {first.name!r}; a race needs the "
                "same [data] table in every experiment"
            )
    axes: list[list[_Change]] = []
    if len(experiments) > 1:
        axes.append([_Change(e.name, run_name(e.name), experiment=e) for e in experiments])
    if optimizers is not None:
        # labels and folders from the first experiment; each experiment keeps its own table
        axes.append(
            [
                _Change(label, variant_folder(label), optimizer=label)
                for label, _ in parse_optimizers(optimizers, first.optimizer)
            ]
        )
    axes += [parse_vary(text) for text in vary]
    if not axes:
        raise ConfigError(
            "nothing to race: give --optimizers (e.g. sgd,adam), --vary KEY=V1,V2 or a second "
            "experiment"
        )
    variants = []
    for combination in itertools.product(*axes):
        label = " ".join(change.label for change in combination)
        folder = "_".join(change.folder for change in combination)
        experiment = _apply(first, combination)
        for k in range(seeds):
            seed = experiment.seed + k
            run = label if seeds == 1 else f"{label} seed{seed}"
            variants.append(
                Variant(
                    label,
                    seed,
                    run,
                    folder if seeds == 1 else f"{folder}-seed{k}",
                    experiment.with_overrides([f"seed={seed}"]) if k else experiment,
                )
            )
    runs = [v.run for v in variants]
    if len(set(runs)) != len(runs) or len({v.folder for v in variants}) != len(variants):
        raise ConfigError("two variants of the race are the same; give each a different value")
    return variants


def _apply(first: Experiment, combination: tuple[_Change, ...]) -> Experiment:
    """`first` (or the race's experiment in `combination`) with the combination's changes."""
    experiment = next((c.experiment for c in combination if c.experiment), first)
    for change in combination:
        if change.optimizer is not None:
            ((_, table),) = parse_optimizers(change.optimizer, experiment.optimizer)
            experiment = Experiment.from_dict(
                experiment.to_dict() | {"optimizer": table}, template=experiment
            )
    assignments = [c.assignment for c in combination if c.assignment is not None]
    if assignments:
        try:
            experiment = experiment.with_overrides(assignments)
        except ConfigError as error:
            raise ConfigError(f"--vary: {error}") from None
    return experiment


def race_line(experiment: Experiment) -> str:
    """The app's race line for `experiment`: its `[compare]` table as options, else
    DEFAULT_RACE."""
    table = experiment.compare
    if not table:
        return DEFAULT_RACE
    words = [table["optimizers"]] if "optimizers" in table else []
    words += [f"--vary {shlex.quote(axis)}" for axis in table.get("vary", [])]
    if table.get("seeds", 1) > 1:
        words.append(f"--seeds {table['seeds']}")
    return " ".join(words)


def parse_race(text: str) -> tuple[str | None, list[str], int | None]:
    """The app's race line, `tuidl compare`'s options after the experiment: `sgd:0.1,adam
    --vary model.init=he,xavier --seeds 3` -> (optimizers, vary, seeds); a first bare word is
    the optimizers.

    Raises:
        ConfigError: an unknown option, a missing value or a bad seed count.
    """
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise ConfigError(f"race: {error}; close the quote") from None
    optimizers, vary, seeds = None, [], None
    while words:
        word = words.pop(0)
        if word in ("--optimizers", "--vary", "--seeds"):
            if not words:
                raise ConfigError(f"race: {word} needs a value, e.g. {RACE_EXAMPLE}")
            value = words.pop(0)
            if word == "--vary":
                vary.append(value)
            elif word == "--seeds":
                seeds = int(value) if value.isdigit() else 0
                if seeds < 1:
                    raise ConfigError(f"race: --seeds {value!r} must be a whole number ≥ 1")
            else:
                optimizers = value
        elif word.startswith("-") or optimizers is not None:
            raise ConfigError(f"race: {word!r} is not an option here; write e.g. {RACE_EXAMPLE}")
        else:
            optimizers = word
    return optimizers, vary, seeds
