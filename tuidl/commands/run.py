"""`tuidl run`: headless training into a run directory, resumable after an interrupt."""

from __future__ import annotations

import argparse
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..console import ConsoleProgress, make_console, metrics_table
from ..errors import ConfigError
from ..experiment import Experiment
from ..presets import resolve_experiment
from ..render.plot import line_plot
from ..runs import RunWriter, new_run_dir, open_for_resume, printable_name, read_metrics
from ..trainer import Diverged, Trainer

EXIT_DIVERGED = 1
EXIT_INTERRUPTED = 130


def add_experiment_options(parser: argparse.ArgumentParser) -> None:
    """Options every command that takes an EXPERIMENT shares."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a key, e.g. optimizer.lr=0.01",
    )
    parser.add_argument("--data-dir", help="folder holding downloaded datasets (mnist ...)")


def experiment_from_args(args: argparse.Namespace) -> Experiment:
    experiment = resolve_experiment(args.experiment)
    overrides = list(args.overrides)
    if getattr(args, "epochs", None) is not None:
        overrides.append(f"train.epochs={args.epochs}")
    if getattr(args, "seed", None) is not None:
        overrides.append(f"seed={args.seed}")
    return experiment.with_overrides(overrides) if overrides else experiment


def add_run_command(commands) -> None:
    parser = commands.add_parser("run", help="train headless into a run directory")
    parser.add_argument("experiment", nargs="?", help="preset name or experiment .toml file")
    parser.add_argument("--epochs", type=int, help="number of epochs (overrides [train] epochs)")
    parser.add_argument("--seed", type=int, help="random seed (overrides seed)")
    parser.add_argument("--out", default="runs", help="folder for run directories (default runs/)")
    parser.add_argument("--resume", metavar="DIR", help="continue the run in DIR where it stopped")
    add_experiment_options(parser)
    parser.set_defaults(run=run_command)


@contextmanager
def stop_on_signals(trainer: Trainer):
    """SIGINT/SIGTERM ask the trainer to stop after its current step (a second SIGINT
    interrupts at once)."""

    def request_stop(signum: int, frame: Any) -> None:
        if trainer.stop_requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        trainer.stop_requested = True

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_command(args: argparse.Namespace) -> int:
    if args.resume:
        if args.experiment or args.overrides or args.epochs is not None or args.seed is not None:
            raise ConfigError("--resume continues a run as it was; drop the other options")
        trainer, writer = open_for_resume(args.resume, args.data_dir)
        epochs = trainer.epochs
    else:
        if not args.experiment:
            raise ConfigError("name an experiment: tuidl run PRESET|FILE.toml (see tuidl presets)")
        if args.epochs is not None and args.epochs < 1:
            raise ConfigError(f"--epochs must be at least 1, got {args.epochs}")
        experiment = printable_name(experiment_from_args(args))
        trainer = Trainer(experiment, data_dir=args.data_dir)
        writer = RunWriter(new_run_dir(args.out, experiment.name))
        epochs = None
    trainer.callbacks = [writer, ConsoleProgress()]
    out = sys.stdout
    try:
        with stop_on_signals(trainer):
            trainer.fit(epochs)
    except Diverged as error:
        print(f"tuidl: run diverged: {error}", file=sys.stderr)
        return EXIT_DIVERGED
    if not trainer.finished:
        print(
            f"interrupted at step {trainer.step_count}; checkpoint saved. "
            f"Continue with: tuidl run --resume {writer.run_dir}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print_report(writer.run_dir, out)
    return 0


def print_report(run_dir: Path, out) -> None:
    """The end-of-run summary: a table of final metrics and the loss curve."""
    records = read_metrics(run_dir)
    epochs = [r for r in records if r["kind"] == "epoch"]
    console = make_console(out)
    console.print(f"run directory: {run_dir}")
    if not epochs:
        return
    last = epochs[-1]
    console.print(metrics_table(last))
    if len(epochs) > 1:
        out.write(loss_curve(epochs, console.is_terminal and not console.no_color) + "\n")


def loss_curve(epochs: list[dict[str, Any]], color: bool) -> str:
    """Train (and val) loss per epoch."""
    x = [r["epoch"] for r in epochs]
    series = [("train loss", x, [r["train_loss"] for r in epochs])]
    if "val_loss" in epochs[0]:
        series.append(("val loss", x, [r["val_loss"] for r in epochs]))
    return line_plot(series, "loss", "epoch", color, height=14)
