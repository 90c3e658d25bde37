"""The sweep directory: `sweep.toml`, `trials.jsonl` and one run directory per trial.

```
runs/sweep-spiral-mlp-1/
  sweep.toml      what the sweep runs: written once, before the first trial
  trials.jsonl    one line per trial that ended, in the order they ended
  trial-000/      an ordinary run directory (config.toml, metrics.jsonl, checkpoint.npz,
  trial-001/      summary.json) that `tuidl view` opens; `tuidl view SWEEP_DIR` opens them all
```

`sweep.toml` (TOML) holds everything `tuidl sweep --resume` needs:

- `format = "tuidl-sweep-1"`; `command`: the command line, for people;
- `metric`: `val_acc` (higher is better) or `val_loss` (lower is better): a trial's value is
  the best of its trained epochs (its summary's `best`);
- `mode`: `random` (`trials` configurations drawn) or `grid` (every combination);
  `seed`: the sweep seed the draws came from; `seeds`: runs per configuration;
- `space`: the `--space` arguments as given (`["optimizer.lr=loguniform(1e-4,1e-1)"]`), and
  `log`: the swept keys whose values spread on a log scale (a plot wants a log axis);
- `[experiment]`: the experiment every trial starts from (`--set`, `--epochs` and `--seed`
  applied), as an experiment file holds it;
- `[[trial]]`, one per trial: `index`, `run` (its folder), `seed`, `values` (`{ "optimizer.lr"
  = 0.0012 }`): the trial trains the experiment with `--set key=value` for each of `values`
  and `--set seed=<seed>`, so `tuidl run` can train any trial alone.

Each line of `trials.jsonl` is a JSON object: `index`, `run` (folder), `values`, `seed`,
`status` (finished, early_stopped or diverged), `metric` (the value of sweep.toml's metric,
null when the run has none, as a diverged run before its first epoch), `best` and `final`
(the summary's: best and last epoch values), `epoch`, `step`, `time` (seconds training),
`steps_per_s`, `worker` (the Dask worker's address) and `attempts` (more than 1 when a worker
died under it and the trial ran again elsewhere). A trial's run directory is complete before its
line is written, so the lines are the trials that are done; a trial with no line has no
folder, or one still being written (an interrupted sweep's are removed; `--resume` runs them).
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from pathlib import Path
from typing import Any

import tomlkit

from .. import tomldoc
from ..atomic import atomic_write
from ..errors import ConfigError
from ..experiment import Experiment
from .trials import Trial, assignments

PLAN = "sweep.toml"
TRIALS = "trials.jsonl"
FORMAT = "tuidl-sweep-1"
METRICS = {"val_acc": max, "val_loss": min}  # each metric and how its best is picked


class Plan:
    """What a sweep runs, as `sweep.toml` holds it (see the module docstring)."""

    def __init__(
        self,
        experiment: Experiment,
        trials: list[Trial],
        *,
        metric: str,
        mode: str,
        seed: int,
        seeds: int,
        space: list[str],
        log: list[str],
        command: str,
    ) -> None:
        self.experiment, self.trials = experiment, trials
        self.metric, self.mode, self.seed, self.seeds = metric, mode, seed, seeds
        self.space, self.log, self.command = space, log, command

    @property
    def keys(self) -> list[str]:
        """The swept keys, in `--space` order."""
        return list(self.trials[0].values) if self.trials else []

    def write(self, sweep_dir: Path) -> None:
        document = tomlkit.document()
        document.add(tomlkit.comment("tuidl sweep: what --resume needs (see tuidl.sweep.store)"))
        for key in ("format", "command", "metric", "mode", "seed", "seeds", "space", "log"):
            document.add(key, FORMAT if key == "format" else getattr(self, key))
        document.add("trials", len(self.trials))
        table = tomlkit.table()
        for key, value in tomldoc.new_document(self.experiment.to_dict()).items():
            table.add(key, value)
        document.add("experiment", table)
        runs = tomlkit.aot()
        for trial in self.trials:
            entry = tomlkit.table()
            entry.update({"index": trial.index, "run": trial.folder, "seed": trial.seed})
            values = tomlkit.inline_table()
            values.update(trial.values)
            entry.add("values", values)
            runs.append(entry)
        document.add("trial", runs)
        with atomic_write(sweep_dir / PLAN) as file:
            file.write(tomlkit.dumps(document).encode())

    @classmethod
    def read(cls, sweep_dir: Path) -> Plan:
        """The plan of the sweep in `sweep_dir`, its trials validated again.

        Raises:
            ConfigError: not a sweep directory, or a `sweep.toml` no sweep wrote.
        """
        path = sweep_dir / PLAN
        try:
            with open(path, "rb") as file:
                document = tomllib.load(file)
        except FileNotFoundError:
            raise ConfigError(
                f"{sweep_dir} is not a sweep directory (no {PLAN}); pass the folder tuidl "
                "sweep made"
            ) from None
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"cannot read {path} ({error})") from None
        if document.get("format") != FORMAT:
            raise ConfigError(f"{path} is not a tuidl sweep plan (no format = {FORMAT!r})")
        try:
            experiment = Experiment.from_dict(document["experiment"])
            trials = [
                Trial(
                    entry["index"],
                    dict(entry["values"]),
                    entry["seed"],
                    entry["run"],
                    experiment.with_overrides(
                        [*assignments(entry["values"]), f"seed={entry['seed']}"]
                    ),
                )
                for entry in document["trial"]
            ]
            return cls(
                experiment,
                trials,
                **{
                    key: document[key]
                    for key in ("metric", "mode", "seed", "seeds", "space", "log", "command")
                },
            )
        except ConfigError as error:
            raise ConfigError(f"{path}: {error}") from None
        except (KeyError, TypeError, AttributeError) as error:
            raise ConfigError(f"{path} is damaged ({error!r} is missing or wrong)") from None


def read_results(sweep_dir: Path) -> list[dict[str, Any]]:
    """The lines of `trials.jsonl`: whole JSON objects (a line cut short by a crash is passed
    over: its trial runs again on --resume); none without the file."""
    try:
        data = (sweep_dir / TRIALS).read_bytes()
    except FileNotFoundError:
        return []
    results = []
    for line in data.split(b"\n")[:-1]:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("index"), int):
            results.append(record)
    return results


def append_result(sweep_dir: Path, record: dict[str, Any]) -> None:
    """Add a trial's line to `trials.jsonl`, on disk before this returns (the run directory
    it names is complete by then)."""
    line = json.dumps(record, allow_nan=False) + "\n"
    try:
        with open(sweep_dir / TRIALS, "a", encoding="utf-8") as file:
            file.write(line)
            file.flush()
            os.fsync(file.fileno())
    except OSError as error:
        raise ConfigError(
            f"cannot write {sweep_dir / TRIALS} ({error.strerror}); the trials in it are done, "
            "--resume runs the others once it can be written"
        ) from None


def metric_value(summary: dict[str, Any], metric: str) -> float | None:
    """The run's value of `metric` (its best trained epoch's), None when it has none."""
    value = summary.get("best", {}).get(metric)
    return value if isinstance(value, int | float) and math.isfinite(value) else None


def result_line(
    trial: Trial,
    status: str,
    summary: dict[str, Any],
    worker: str | None,
    attempts: int,
    metric: str,
) -> dict[str, Any]:
    """The `trials.jsonl` line of `trial`, which ended with `status` and `summary`."""
    seconds = summary.get("time")
    rate = summary["step"] / seconds if seconds else None
    return {
        "index": trial.index,
        "run": trial.folder,
        "values": trial.values,
        "seed": trial.seed,
        "status": status,
        "metric": metric_value(summary, metric),
        "best": summary.get("best", {}),
        "final": summary.get("final", {}),
        "epoch": summary.get("epoch"),
        "step": summary.get("step"),
        "time": seconds,
        "steps_per_s": None if rate is None else round(rate, 1),
        "worker": worker,
        "attempts": attempts,
    }


def ranked(results: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """`results` best first by `metric`; those without a value last, in trial order."""
    sign = -1 if METRICS[metric] is max else 1
    scored = sorted(
        (r for r in results if r.get("metric") is not None),
        key=lambda r: (sign * r["metric"], r["index"]),
    )
    return scored + sorted(
        (r for r in results if r.get("metric") is None), key=lambda r: r["index"]
    )
