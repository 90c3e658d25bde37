"""`tuidl compare`: one run per optimizer (and seed) from identical weights and batches.

The trainer draws initial weights and the batch order from the experiment seed alone, so runs
that differ only in `[optimizer]` start from the same weights and see the same batches: any
difference in their curves is the optimizer's doing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from ..atomic import atomic_write
from ..console import make_console
from ..errors import ConfigError
from ..experiment import Experiment
from ..optimizers import OPTIMIZERS
from ..render.plot import line_plot
from ..runs import RunWriter, new_run_dir, printable_name, read_metrics, variant_folder
from ..smoothing import SMOOTHING, smooth
from ..suggest import did_you_mean
from ..trainer import Diverged, Trainer
from .run import add_experiment_options, experiment_from_args

CARRIED_KEYS = ("weight_decay", "l1", "clip_norm", "clip_value", "schedule")


def add_compare_command(commands) -> None:
    parser = commands.add_parser("compare", help="race optimizers on the same network")
    parser.add_argument("experiment", help="preset name or experiment .toml file")
    parser.add_argument(
        "--optimizers",
        required=True,
        help="comma-separated names, each optionally with its lr: sgd:0.1,momentum,adam:0.001",
    )
    parser.add_argument("--seeds", type=int, default=1, help="runs per optimizer (seeds S..S+K-1)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel processes")
    parser.add_argument("--epochs", type=int, help="number of epochs (overrides [train] epochs)")
    parser.add_argument("--seed", type=int, help="first random seed (overrides seed)")
    parser.add_argument("--out", default="runs", help="folder for run directories (default runs/)")
    parser.add_argument(
        "--target-loss",
        type=float,
        help="smoothed training loss for the steps-to-target column (default: the worst final)",
    )
    add_experiment_options(parser)
    parser.set_defaults(run=compare_command)


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


def _train_one(config: dict[str, Any], run_dir: str, data_dir: str | None) -> dict[str, Any]:
    """One run in a worker process; returns its summary. SIGINT stops it after a checkpoint."""
    experiment = Experiment.from_dict(config)
    trainer = Trainer(experiment, callbacks=[RunWriter(run_dir)], data_dir=data_dir)
    signal.signal(signal.SIGINT, lambda *_: setattr(trainer, "stop_requested", True))
    try:
        status = trainer.fit()["status"]
    except Diverged:
        status = trainer.status
    return {"run_dir": run_dir, "status": status, "time": trainer.elapsed}


def compare_command(args: argparse.Namespace) -> int:
    if args.seeds < 1 or args.jobs < 1:
        raise ConfigError("--seeds and --jobs must be at least 1")
    experiment = printable_name(experiment_from_args(args))
    runs = parse_optimizers(args.optimizers, experiment.optimizer)
    # validate every variant before starting any process
    configs = []
    for label, table in runs:
        for k in range(args.seeds):
            document = experiment.to_dict() | {"optimizer": table, "seed": experiment.seed + k}
            Experiment.from_dict(document)
            configs.append((label, k, document))
    root = new_run_dir(args.out, f"compare-{experiment.name}")
    results: list[dict[str, Any]] = []
    interrupted = False
    original = signal.signal(signal.SIGINT, signal.SIG_IGN)  # children handle it themselves
    try:
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
            futures = []
            for label, k, document in configs:
                run_dir = root / (variant_folder(label) + (f"-seed{k}" if args.seeds > 1 else ""))
                _make_folder(run_dir)
                futures.append(
                    (label, k, pool.submit(_train_one, document, str(run_dir), args.data_dir))
                )
            signal.signal(signal.SIGINT, original)
            for label, k, future in futures:
                try:
                    result = future.result()
                except KeyboardInterrupt:
                    interrupted = True
                    result = future.result()
                results.append({"optimizer": label, "seed": experiment.seed + k, **result})
    finally:
        signal.signal(signal.SIGINT, original)
    interrupted |= any(r["status"] == "interrupted" for r in results)
    report = compare_report(results, args.target_loss)
    try:
        with atomic_write(root / "comparison.json") as file:
            file.write(json.dumps(report, indent=2, default=float).encode())
    except OSError as error:
        raise ConfigError(
            f"cannot write {root / 'comparison.json'} ({error.strerror}); the runs are in {root}"
        ) from None
    print_comparison(root, report)
    return 130 if interrupted else 0


def _make_folder(run_dir: Path) -> None:
    """A race's run folder inside its new root (a full disk says so in one line)."""
    try:
        run_dir.mkdir()
    except OSError as error:
        raise ConfigError(
            f"cannot make {run_dir} ({error.strerror}); pass --out a folder you can write to"
        ) from None


def compare_report(results: list[dict[str, Any]], target: float | None) -> dict[str, Any]:
    """Per optimizer: best/final val metrics (means over seeds), wall time, steps to target.

    The steps to target are read on the smoothed training loss (the curve the app draws): one
    lucky batch under the target says nothing about the optimizer.
    """
    curves = {}
    for result in results:
        records = read_metrics(result["run_dir"])
        result["epochs"] = [r for r in records if r["kind"] == "epoch"]
        steps = [r for r in records if r["kind"] == "step"]
        averages = smooth(float(r["loss"]) for r in steps)
        result["steps"] = [(r["step"], a) for r, a in zip(steps, averages, strict=True)]
    # every run reaches the worst final smoothed loss, so the default target always has a number
    finals = [r["steps"][-1][1] for r in results if r["steps"]]
    if target is None and finals:
        target = (
            max(f for f in finals if math.isfinite(f)) if any(map(math.isfinite, finals)) else None
        )
    rows = []
    for label in dict.fromkeys(r["optimizer"] for r in results):
        mine = [r for r in results if r["optimizer"] == label]
        row: dict[str, Any] = {"optimizer": label, "runs": [r["run_dir"] for r in mine]}
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
    return {"target_loss": target, "smoothing": SMOOTHING, "optimizers": rows, "curves": curves}


def print_comparison(root: Path, report: dict[str, Any]) -> None:
    console = make_console()
    table = Table(
        "optimizer",
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
    for row in report["optimizers"]:
        table.add_row(
            row["optimizer"] + ("" if row["status"] == "finished" else f" ({row['status']})"),
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
    text = overlay_curves(report["curves"], color)
    if text:
        console.file.write(text + "\n")


def overlay_curves(curves: dict[str, list[list[float]]], color: bool) -> str:
    """Validation loss per epoch, one line per optimizer (mean over seeds, min-max band)."""
    series = []
    for label, runs in curves.items():
        length = min((len(r) for r in runs), default=0)
        if length == 0:
            continue
        values = np.array([r[:length] for r in runs], dtype=float)
        epochs = list(range(1, length + 1))
        series.append((label, epochs, values.mean(axis=0).tolist()))
        if len(runs) > 1:
            series.append((None, epochs, values.min(axis=0).tolist()))
            series.append((None, epochs, values.max(axis=0).tolist()))
    if not series:
        return ""
    return line_plot(series, "validation loss (mean; dots: min-max over seeds)", "epoch", color)
