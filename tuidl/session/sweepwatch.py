"""`SweepWatch`: a sweep directory as the app's sweep screen shows it, read again on each poll.

The sweep writes `trials.jsonl` a line per trial that ended, and each trial's run directory
while it trains (`tuidl.sweep.store`). A poll gives the plan, the ended trials ranked by the
sweep's metric, the state of every other trial (running while its folder exists, else
waiting), and for the best `top` trials their metric per epoch. Ended trials' curves are read
once (their run directories are complete); nothing here writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..runs import read_metrics
from ..sweep.store import Plan, ranked, read_results

TOP = 5  # trials whose curves are drawn


@dataclass
class SweepState:
    """One poll of a sweep directory.

    Attributes:
        plan: what the sweep runs (`sweep.toml`).
        ended: the `trials.jsonl` lines, best first by the plan's metric (no value: last).
        waiting: trials without a line: their folder names, by state (`running`, `waiting`).
        curves: run folder -> (epochs, the metric at each) of the best `TOP` ended trials.
    """

    plan: Plan
    ended: list[dict[str, Any]]
    waiting: dict[str, str] = field(default_factory=dict)
    curves: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)


class SweepWatch:
    """Reads the sweep in `sweep_dir`; `poll()` may run off the UI thread.

    Raises:
        ConfigError: `sweep_dir` holds no sweep (`Plan.read`).
    """

    def __init__(self, sweep_dir: str | Path, top: int = TOP) -> None:
        self.sweep_dir, self.top = Path(sweep_dir), top
        self.plan = Plan.read(self.sweep_dir)
        self._curves: dict[str, tuple[list[int], list[float]]] = {}  # ended trials' only

    def poll(self) -> SweepState:
        results = read_results(self.sweep_dir)
        ended = ranked(results, self.plan.metric)
        done = {result["run"] for result in results}
        waiting = {
            trial.folder: "running" if (self.sweep_dir / trial.folder).is_dir() else "waiting"
            for trial in self.plan.trials
            if trial.folder not in done
        }
        curves = {}
        for result in ended[: self.top]:
            run = result["run"]
            if run not in self._curves:
                self._curves[run] = self._curve(run)
            curves[run] = self._curves[run]
        return SweepState(self.plan, ended, waiting, curves)

    def run_dir(self, run: str) -> Path:
        return self.sweep_dir / run

    def _curve(self, run: str) -> tuple[list[int], list[float]]:
        """The plan's metric at each trained epoch of trial folder `run`."""
        epochs, values = [], []
        for record in read_metrics(self.sweep_dir / run):
            value = record.get(self.plan.metric)
            if record.get("kind") == "epoch" and record.get("epoch", 0) > 0:
                if isinstance(value, int | float) and math.isfinite(value):
                    epochs.append(record["epoch"])
                    values.append(float(value))
        return epochs, values
