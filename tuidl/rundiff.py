"""Two run directories side by side (`tuidl diff`): what their configs change, how they ended.

Configs are compared key by key as dotted paths, the layer list by index
(`model.layers.2.units`), as `--set` writes them. Final metrics come from each run's summary
(status, the last epoch's metrics, steps and the training time) and from its metrics file,
whose step records give the loss curve.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .runs import CONFIG, SUMMARY, read_metrics

METRICS = ("train_loss", "train_acc", "val_loss", "val_acc")


@dataclass
class RunFacts:
    """What `tuidl diff` shows of one run.

    Attributes:
        config: `config.toml` flattened to dotted keys.
        final: the last epoch's metrics (`METRICS` that it has).
        losses: (step, training loss) of every step record.
    """

    run_dir: Path
    name: str
    status: str
    epoch: int
    step: int
    time: float
    config: dict[str, Any]
    final: dict[str, float] = field(default_factory=dict)
    losses: tuple[list[int], list[float]] = ([], [])

    @property
    def steps_per_s(self) -> float | None:
        return self.step / self.time if self.time > 0 else None


def read_run(run_dir: str | os.PathLike) -> RunFacts:
    """The facts of one run directory.

    Raises:
        ConfigError: not a run directory, or a config that is not TOML.
    """
    run_dir = Path(run_dir)
    try:
        config = tomllib.loads((run_dir / CONFIG).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{run_dir} is not a run directory (no {CONFIG})") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{run_dir / CONFIG}: cannot read it ({error})") from None
    records = read_metrics(run_dir)
    steps = [r for r in records if r["kind"] == "step"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    summary = _summary(run_dir)
    last_step = steps[-1] if steps else {}
    final = {key: epochs[-1][key] for key in METRICS if epochs and key in epochs[-1]}
    return RunFacts(
        run_dir=run_dir,
        name=str(summary.get("name", config.get("name", run_dir.name))),
        status=str(summary.get("status", "running" if records else "not started")),
        epoch=int(summary.get("epoch", epochs[-1]["epoch"] if epochs else 0)),
        step=int(summary.get("step", last_step.get("step", 0))),
        time=float(summary.get("time", last_step.get("time", 0.0))),
        config=flatten(config),
        final=final,
        losses=([r["step"] for r in steps], [r["loss"] for r in steps]),
    )


def _summary(run_dir: Path) -> dict[str, Any]:
    """`summary.json`, or nothing when the run has written none (yet) or it is damaged."""
    try:
        summary = json.loads((run_dir / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return summary if isinstance(summary, dict) else {}


def flatten(document: Any, prefix: str = "") -> dict[str, Any]:
    """Tables and lists of tables as dotted keys (`model.layers.0.units`); other values as
    they are."""
    if isinstance(document, dict):
        items = document.items()
    elif isinstance(document, list) and any(isinstance(v, dict) for v in document):
        items = ((str(i), v) for i, v in enumerate(document))
    else:
        return {prefix: document}
    flat: dict[str, Any] = {}
    for key, value in items:
        flat |= flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return flat


MISSING = object()


def config_changes(a: RunFacts, b: RunFacts) -> list[tuple[str, Any, Any]]:
    """(key, value in a, value in b) of every key whose values differ, `MISSING` where a run
    lacks the key, in the order of a's config then b's new keys."""
    keys = list(a.config) + [key for key in b.config if key not in a.config]
    return [
        (key, a.config.get(key, MISSING), b.config.get(key, MISSING))
        for key in keys
        if a.config.get(key, MISSING) != b.config.get(key, MISSING)
    ]
