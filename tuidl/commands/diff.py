"""`tuidl diff RUN_A RUN_B`: config keys that differ, final metrics, speed, loss curves.

Importing this module is cheap (the CLI's parser imports it): the engine loads inside the
functions that run the command.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

    from ..rundiff import RunFacts

VALUE_CHARS = 40  # a long value (a lesson's text) is cut to this in the table


def add_diff_command(commands) -> None:
    parser = commands.add_parser(
        "diff", help="two runs side by side: config changes, final metrics, steps/s, losses"
    )
    parser.add_argument("run_a", metavar="RUN_A", help="a run directory")
    parser.add_argument("run_b", metavar="RUN_B", help="another run directory")
    parser.set_defaults(run=diff_command)


def diff_command(args: argparse.Namespace) -> int:
    from rich.table import Table

    from ..console import make_console
    from ..render.plot import line_plot
    from ..rundiff import config_changes, read_run

    a, b = read_run(args.run_a), read_run(args.run_b)
    console = make_console()
    console.print(f"A: {a.run_dir} ({a.name})\nB: {b.run_dir} ({b.name})")
    changes = config_changes(a, b)
    if changes:
        table = Table("config key", "A", "B", title="config: keys that differ")
        for key, value_a, value_b in changes:
            table.add_row(key, _value(value_a), _value(value_b))
        console.print(table)
    else:
        console.print("config: the same")
    console.print(metrics_table(a, b))
    series = [
        (f"A {a.name}", *a.losses),
        (f"B {b.name}", *b.losses),
    ]
    series = [s for s in series if s[1]]
    if series:
        color = console.is_terminal and not console.no_color
        sys.stdout.write(line_plot(series, "training loss per step", "step", color) + "\n")
    return 0


def metrics_table(a: RunFacts, b: RunFacts) -> Table:
    """Status, length, speed and final metrics of both runs, one row each."""
    from rich.table import Table

    table = Table("", "A", "B", title="final")
    rows: list[tuple[str, Any, Any]] = [
        ("status", a.status, b.status),
        ("epochs", a.epoch, b.epoch),
        ("steps", a.step, b.step),
        ("time (s)", f"{a.time:.2f}", f"{b.time:.2f}"),
        ("steps/s", _rate(a), _rate(b)),
    ]
    for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
        if key in a.final or key in b.final:
            rows.append((key, _metric(key, a.final), _metric(key, b.final)))
    for name, value_a, value_b in rows:
        table.add_row(name, str(value_a), str(value_b))
    return table


def _rate(run: RunFacts) -> str:
    rate = run.steps_per_s
    return "-" if rate is None else f"{rate:,.1f}"


def _metric(key: str, final: dict[str, float]) -> str:
    if key not in final:
        return "-"
    value = final[key]
    return f"{value:.2%}" if key.endswith("acc") else f"{value:.4g}"


def _value(value: Any) -> str:
    from ..rundiff import MISSING

    if value is MISSING:
        return "-"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"
