"""What `tuidl sweep` prints: on a terminal, a live table of the trials (state, worker, swept
values, metric, steps/s) redrawn four times a second; on a pipe or a log file, one plain line
per trial that ends; then, either way, the top trials ranked by the metric.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ..console import make_console
from .store import Plan, ranked
from .trials import Trial, format_value

REFRESH_PER_S = 4
TABLE_MARGIN = 6  # terminal rows the live table leaves for its title, header and frame


def format_metric(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2%}" if metric.endswith("acc") else f"{value:.4g}"


def short_worker(address: str | None) -> str:
    return "-" if address is None else address.removeprefix("tcp://")


class SweepDisplay:
    """Follows a sweep's trials and shows them: `started`, `progress` and `ended` as the
    executor reports them; `close` ends the live table.

    Args:
        plan: the sweep.
        done: the `trials.jsonl` lines of trials a resumed sweep ran before.
        where: the cluster, as the executor describes it.
        console: where to print; a terminal gets the live table.
    """

    def __init__(
        self, plan: Plan, done: list[dict[str, Any]], where: str, console: Console | None = None
    ) -> None:
        self.plan, self.where = plan, where
        self.console = console or make_console(sys.stdout)
        self.rows: dict[int, dict[str, Any]] = {
            t.index: {
                "state": "pending",
                "worker": None,
                "metric": None,
                "rate": None,
                "epoch": None,
            }
            for t in plan.trials
        }
        for result in done:
            self._record(result)
        self._order: list[int] = []  # trials in the order they last changed
        self.live: Live | None = None

    def begin(self, sweep_dir: str, todo: int) -> None:
        self.console.print(
            f"sweep {self.plan.experiment.name}: {todo} of {len(self.plan.trials)} trials on "
            f"{self.where}, into {sweep_dir}",
            highlight=False,
        )
        if self.console.is_terminal:
            self.live = Live(
                self._render(),
                console=self.console,
                transient=True,
                refresh_per_second=REFRESH_PER_S,
                get_renderable=self._render,
            )
            self.live.start()

    def _record(self, result: dict[str, Any]) -> None:
        self.rows[result["index"]].update(
            state=result["status"],
            worker=result["worker"],
            metric=result["metric"],
            rate=result["steps_per_s"],
            epoch=result["epoch"],
        )

    def _touch(self, index: int) -> None:
        if index in self._order:
            self._order.remove(index)
        self._order.append(index)

    def started(self, trial: Trial, worker: str, attempt: int) -> None:
        self.rows[trial.index].update(state="running", worker=worker, epoch=0)
        self._touch(trial.index)
        if attempt > 1:
            self.console.print(
                f"trial {trial.index}: its worker died; running it again on "
                f"{short_worker(worker)} (attempt {attempt})",
                highlight=False,
            )

    def progress(
        self, trial: Trial, epoch: int, step: int, time: float, best: dict[str, float]
    ) -> None:
        row = self.rows[trial.index]
        row.update(epoch=epoch, metric=best.get(self.plan.metric))
        row["rate"] = step / time if time > 0 else None

    def ended(self, trial: Trial, result: dict[str, Any] | None) -> None:
        """`result`: the trial's `trials.jsonl` line; None: it was stopped unfinished."""
        if result is None:
            self.rows[trial.index].update(state="stopped")
            return
        self._record(result)
        self._touch(trial.index)
        if self.live is None:
            self.console.print(self._line(trial, result), highlight=False, soft_wrap=True)

    def _line(self, trial: Trial, result: dict[str, Any]) -> str:
        """`trial 3/8 finished  optimizer.lr=0.01234  val_loss 0.1234  812 steps/s  on ...`"""
        rate = result["steps_per_s"]
        return "  ".join(
            [
                f"trial {trial.index}/{len(self.plan.trials)} {result['status']}",
                trial.label,
                f"{self.plan.metric} {format_metric(self.plan.metric, result['metric'])}",
                f"{rate:,.0f} steps/s" if rate is not None else "- steps/s",
                f"on {short_worker(result['worker'])}",
            ]
        )

    def _render(self) -> Group:
        states = [row["state"] for row in self.rows.values()]
        running = states.count("running")
        done = sum(s not in ("pending", "running", "stopped") for s in states)
        title = Text(f"{done}/{len(states)} trials done, {running} running on {self.where}")
        table = Table(
            "trial", "state", "worker", *self.plan.keys, self.plan.metric, "epoch", "steps/s"
        )
        room = max(1, self.console.height - TABLE_MARGIN)
        for index in sorted(self._shown(room)):
            trial, row = self.plan.trials[index], self.rows[index]
            rate = row["rate"]
            epoch = row["epoch"]
            table.add_row(
                str(index),
                row["state"],
                short_worker(row["worker"]),
                *(format_value(v) for v in trial.values.values()),
                format_metric(self.plan.metric, row["metric"]),
                "-" if epoch is None else f"{epoch}/{trial.experiment.train['epochs']}",
                "-" if rate is None else f"{rate:,.0f}",
            )
        return Group(title, table)

    def _shown(self, room: int) -> list[int]:
        """The trials that fit: the running ones, then those that changed last, then the
        next pending ones."""
        running = [i for i, row in self.rows.items() if row["state"] == "running"]
        recent = [i for i in reversed(self._order) if i not in running]
        pending = [i for i, row in self.rows.items() if row["state"] == "pending"]
        return list(dict.fromkeys(running + recent + pending + list(self.rows)))[:room]

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def top_table(plan: Plan, results: list[dict[str, Any]], count: int) -> Table:
    """The `count` best configurations by the metric: each one's trials (several with
    --seeds, their mean ± half-range), values, metric, status and steps/s."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        groups.setdefault(repr(sorted(result["values"].items())), []).append(result)
    rows = []
    for members in groups.values():
        values = [r["metric"] for r in members if r["metric"] is not None]
        rates = [r["steps_per_s"] for r in members if r["steps_per_s"] is not None]
        rows.append(
            {
                "index": members[0]["index"],
                "values": members[0]["values"],
                "trials": ",".join(str(r["index"]) for r in members),
                "metric": float(np.mean(values)) if values else None,
                "spread": (max(values) - min(values)) / 2 if len(values) > 1 else None,
                "status": ",".join(sorted({r["status"] for r in members})),
                "steps_per_s": float(np.mean(rates)) if rates else None,
            }
        )
    several = plan.seeds > 1
    table = Table(
        "#",
        "trials" if several else "trial",
        *plan.keys,
        f"{plan.metric} (mean ± half-range)" if several else plan.metric,
        "status",
        "steps/s",
        title=f"top {min(count, len(rows))} of {len(rows)} by {plan.metric}",
    )
    for rank, row in enumerate(ranked(rows, plan.metric)[:count], 1):
        metric = format_metric(plan.metric, row["metric"])
        if row["spread"] is not None and not math.isnan(row["spread"]):
            metric += f" ± {format_metric(plan.metric, row['spread'])}"
        table.add_row(
            str(rank),
            row["trials"],
            *(format_value(row["values"][k]) for k in plan.keys),
            metric,
            row["status"],
            "-" if row["steps_per_s"] is None else f"{row['steps_per_s']:,.0f}",
        )
    return table
