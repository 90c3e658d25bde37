"""`tuidl compare`: one run per variant (and seed) from identical weights and batches.

A variant is an optimizer, a value of any experiment key (`--vary model.init=he,xavier`) or
another experiment on the same data, and every combination of them (`tuidl.variants`). The
trainer draws initial weights and the batch order from the experiment seed alone, so runs that
differ only in `[optimizer]` start from the same weights and see the same batches: any
difference in their curves is the optimizer's doing.

The runs go through the same Dask executor as `tuidl sweep` (`tuidl.sweep.executor`): a local
cluster of `--jobs` worker processes, or the cluster of `--scheduler tcp://HOST:PORT`. Ctrl-C
ends them after their current step, each with a checkpoint `tuidl run --resume` continues.

Importing this module is cheap (the CLI's parser imports it): the engine, numpy and Dask load
inside the functions that run the command.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
from pathlib import Path
from typing import Any

from .. import cores
from ..atomic import atomic_write
from ..errors import ConfigError
from ..smoothing import SMOOTHING, smooth
from .run import add_experiment_options, add_threads_option, experiment_from_args, local_workers

PATH_ROWS = 24  # rows of the surface picture a surface race prints


def add_compare_command(commands) -> None:
    parser = commands.add_parser(
        "compare", help="race variants (optimizers, any key, experiments) on the same data"
    )
    parser.add_argument(
        "experiment", nargs="+", help="preset names or experiment .toml files (same data)"
    )
    parser.add_argument(
        "--optimizers",
        help="comma-separated names, each optionally with its lr: sgd:0.1,momentum,adam:0.001",
    )
    parser.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="race these values of an experiment key, e.g. model.init=he,xavier (repeatable)",
    )
    parser.add_argument("--seeds", type=int, help="runs per variant (seeds S..S+K-1; default 1)")
    parser.add_argument(
        "--jobs", type=int, help="runs at once: local worker processes (default: cores)"
    )
    parser.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run on the Dask cluster of this scheduler instead of a local one",
    )
    parser.add_argument("--epochs", type=int, help="number of epochs (overrides [train] epochs)")
    parser.add_argument("--seed", type=int, help="first random seed (overrides seed)")
    parser.add_argument("--out", default="runs", help="folder for run directories (default runs/)")
    parser.add_argument(
        "--target-loss",
        type=float,
        help="smoothed training loss for the steps-to-target column (default: the worst final)",
    )
    add_threads_option(parser, "the cores shared among the runs at once")
    add_experiment_options(parser)
    parser.set_defaults(run=compare_command)


def compare_command(args: argparse.Namespace) -> int:
    from ..runs import new_run_dir, printable_name
    from ..variants import plan_race

    workers = local_workers(args.scheduler, args.jobs, "--jobs")
    experiments = [
        printable_name(experiment_from_args(argparse.Namespace(**{**vars(args), "experiment": e})))
        for e in args.experiment
    ]
    experiment = experiments[0]
    # every variant is validated before any process starts
    variants = plan_race(experiments, args.optimizers, args.vary, args.seeds)
    from ..sweep.executor import Executor, Job  # distributed: 0.6 s to import

    workers = min(workers, len(variants))
    threads = cores.thread_count(args.threads, cores.per_worker(workers, args.scheduler))
    root = new_run_dir(args.out, f"compare-{experiment.name}")
    jobs = [Job(v.folder, v.run, v.experiment, root / v.folder) for v in variants]
    try:
        with Executor(args.scheduler, workers, args.data_dir, threads) as executor:
            executor.prepare([(variant.run, variant.experiment) for variant in variants])
            ended = {end.job.key: end for end in executor.run(jobs, lambda event: None)}
    except BaseException:
        with contextlib.suppress(OSError):  # no run started (no cluster, bad data): no folder
            root.rmdir()
        raise
    results = [
        {"variant": variant.label, "seed": variant.seed, "run_dir": str(root / variant.folder),
         "status": ended[variant.folder].status,
         "time": ended[variant.folder].summary.get("time", 0.0)}
        for variant in variants
        if ended[variant.folder].attempts  # a run Ctrl-C cancelled before it started has none
    ]  # fmt: skip
    interrupted = executor.interrupted or any(r["status"] == "interrupted" for r in results)
    report = compare_report(results, args.target_loss)
    try:
        with atomic_write(root / "comparison.json") as file:
            file.write(json.dumps(report, indent=2, default=float).encode())
    except OSError as error:
        raise ConfigError(
            f"cannot write {root / 'comparison.json'} ({error.strerror}); the runs are in {root}"
        ) from None
    print_comparison(root, report)
    print_paths(results)
    return 130 if interrupted else 0


def compare_report(results: list[dict[str, Any]], target: float | None) -> dict[str, Any]:
    """Per variant: best/final val metrics (means over seeds), wall time, steps to target.

    The steps to target are read on the smoothed training loss (the curve the app draws): one
    lucky batch under the target says nothing about the optimizer.
    """
    import numpy as np

    from ..runs import read_metrics

    curves = {}
    for result in results:
        records = read_metrics(result["run_dir"])
        # epoch 0 is the record of the initial weights, before any training
        result["epochs"] = [r for r in records if r["kind"] == "epoch" and r["epoch"] > 0]
        steps = [r for r in records if r["kind"] == "step"]
        result["path"] = [r["position"] for r in steps if "position" in r]
        result["surface"] = next((r["surface"] for r in steps if "surface" in r), None)
        averages = smooth(float(r["loss"]) for r in steps)
        result["steps"] = [(r["step"], a) for r, a in zip(steps, averages, strict=True)]
    # every run reaches the worst final smoothed loss, so the default target always has a number
    finals = [r["steps"][-1][1] for r in results if r["steps"]]
    if target is None and finals:
        target = (
            max(f for f in finals if math.isfinite(f)) if any(map(math.isfinite, finals)) else None
        )
    rows = []
    for label in dict.fromkeys(r["variant"] for r in results):
        mine = [r for r in results if r["variant"] == label]
        row: dict[str, Any] = {"variant": label, "runs": [r["run_dir"] for r in mine]}
        row["status"] = ",".join(sorted({r["status"] for r in mine}))
        row["time"] = float(np.mean([r["time"] for r in mine]))
        for key, pick in (("val_loss", min), ("val_acc", max), ("train_loss", min)):
            values = [[e[key] for e in r["epochs"] if key in e] for r in mine]
            if all(values):
                row[f"best_{key}"] = float(np.mean([pick(v) for v in values]))
                row[f"final_{key}"] = float(np.mean([v[-1] for v in values]))
        if target is not None:
            reached = [next((s for s, loss in r["steps"] if loss <= target), None) for r in mine]
            row["steps_to_target"] = None if None in reached else float(np.mean(reached))
        rows.append(row)
        curves[label] = [[e.get("val_loss", e["train_loss"]) for e in r["epochs"]] for r in mine]
    validated = any("val_loss" in e for r in results for e in r["epochs"])
    return {
        "target_loss": target,
        "smoothing": SMOOTHING,
        "variants": rows,
        "curves": curves,
        "curve": "validation loss" if validated else "training loss",
    }


def print_comparison(root: Path, report: dict[str, Any]) -> None:
    from rich.table import Table

    from ..console import make_console

    console = make_console()
    table = Table(
        "variant",
        "best val loss",
        "final val loss",
        "best val acc",
        "final val acc",
        "time s",
        (
            f"steps to smoothed\nloss {report['target_loss']:.3g} (EMA {SMOOTHING})"
            if report["target_loss"]
            else "steps"
        ),
    )
    fmt = lambda v, pct=False: "-" if v is None else (f"{v:.2%}" if pct else f"{v:.4g}")  # noqa: E731
    for row in report["variants"]:
        table.add_row(
            row["variant"] + ("" if row["status"] == "finished" else f" ({row['status']})"),
            fmt(row.get("best_val_loss")),
            fmt(row.get("final_val_loss")),
            fmt(row.get("best_val_acc"), True),
            fmt(row.get("final_val_acc"), True),
            f"{row['time']:.1f}",
            fmt(row.get("steps_to_target")),
        )
    console.print(f"comparison: {root}")
    console.print(table)
    color = console.is_terminal and not console.no_color
    text = overlay_curves(report["curves"], color, report["curve"])
    if text:
        console.file.write(text + "\n")


def print_paths(results: list[dict[str, Any]]) -> None:
    """A surface race's paths on its surface (each variant's first seed), as the app draws
    them: nothing for races of other models."""
    from rich.text import Text

    from ..console import make_console
    from ..render.charts import PALETTE
    from ..render.surface import surface_lines

    function = next((r["surface"] for r in results if r.get("surface")), None)
    if function is None:
        return
    paths = {}
    for result in results:
        if result["variant"] not in paths and result["path"]:
            xs, ys = zip(*result["path"], strict=True)
            paths[result["variant"]] = (xs, ys, PALETTE[len(paths) % len(PALETTE)])
    console = make_console()
    color = console.is_terminal and not console.no_color
    console.print(f"the paths on {function}:")
    for line in surface_lines(function, paths, min(console.width, 100), PATH_ROWS, color):
        console.print(Text.assemble(*line), no_wrap=True, crop=True)


def overlay_curves(curves: dict[str, list[list[float]]], color: bool, metric: str) -> str:
    """`metric` per epoch, one line per variant (mean over seeds, min-max band)."""
    import numpy as np

    from ..render.bands import seed_band
    from ..render.plot import line_plot

    series = []
    for label, runs in curves.items():
        epochs, mean, low, high = seed_band([(np.arange(1, len(r) + 1), r) for r in runs])
        if len(epochs) == 0:
            continue
        series.append((label, epochs.tolist(), mean.tolist()))
        if len(runs) > 1:
            series.append((None, epochs.tolist(), low.tolist()))
            series.append((None, epochs.tolist(), high.tolist()))
    if not series:
        return ""
    return line_plot(series, f"{metric} (mean; dots: min-max over seeds)", "epoch", color)
