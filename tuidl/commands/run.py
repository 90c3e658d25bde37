"""`tuidl run`: headless training into a run directory, resumable after an interrupt.

Importing this module is cheap (the CLI's parser imports it): the engine, numpy and numba load
inside the functions that run the command.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import cores
from ..errors import ConfigError, Interrupted

if TYPE_CHECKING:
    from ..experiment import Experiment
    from ..runs import RunWriter
    from ..trainer import Trainer

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


def add_threads_option(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help=f"threads per training run (default: {default}, or TUIDL_THREADS); "
        "the same count gives the same numbers",
    )


def experiment_from_args(args: argparse.Namespace) -> Experiment:
    from ..presets import resolve_experiment

    experiment = resolve_experiment(args.experiment)
    overrides = list(args.overrides)
    if getattr(args, "epochs", None) is not None:
        overrides.append(f"train.epochs={args.epochs}")
    if getattr(args, "seed", None) is not None:
        overrides.append(f"seed={args.seed}")
    return experiment.with_overrides(overrides) if overrides else experiment


def local_workers(scheduler: str | None, count: int | None, option: str) -> int:
    """Worker processes of a local Dask cluster (`count` from `option`, else one per core);
    with a `scheduler`, the cluster's own workers run, so `option` is refused."""
    if scheduler is not None and count is not None:
        raise ConfigError(
            f"{option} sizes the local cluster; with --scheduler the cluster's own workers "
            f"run: drop {option}"
        )
    workers = (os.cpu_count() or 1) if count is None else count
    if workers < 1:
        raise ConfigError(f"{option} must be at least 1, got {workers}")
    return workers


def add_run_command(commands) -> None:
    parser = commands.add_parser("run", help="train headless into a run directory")
    parser.add_argument("experiment", nargs="?", help="preset name or experiment .toml file")
    parser.add_argument(
        "--epochs",
        type=int,
        help="number of epochs (overrides [train] epochs; 0 measures the initial network only)",
    )
    parser.add_argument("--seed", type=int, help="random seed (overrides seed)")
    parser.add_argument("--out", default="runs", help="folder for run directories (default runs/)")
    parser.add_argument("--resume", metavar="DIR", help="continue the run in DIR where it stopped")
    add_threads_option(parser, "every core; with --resume, the count the run trained on")
    add_experiment_options(parser)
    parser.set_defaults(run=run_command)


@contextmanager
def stop_on_signals(trainer: Trainer):
    """SIGINT/SIGTERM ask the trainer to stop after its current step; a second SIGINT
    interrupts at once (KeyboardInterrupt), and any after it are ignored, so what the command
    does about it runs to its end."""
    interrupts = 0

    def request_stop(signum: int, frame: Any) -> None:
        nonlocal interrupts
        if signum == signal.SIGINT:
            interrupts += 1
            if interrupts == 2:
                raise KeyboardInterrupt
        trainer.stop_requested = True

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_command(args: argparse.Namespace) -> int:
    from ..console import ConsoleProgress
    from ..runs import RunWriter, new_run_dir
    from ..trainer import Diverged

    try:  # loading data and compiling kernels can take a while: Ctrl-C ends it at once
        trainer, writer = open_run(args)
    except KeyboardInterrupt:
        raise Interrupted(NOTHING_WRITTEN) from None
    with stop_on_signals(trainer):
        try:
            if writer is None:
                writer = RunWriter(new_run_dir(args.out, trainer.experiment.name))
                if trainer.stop_requested:  # Ctrl-C as the folder was made
                    writer.run_dir.rmdir()
                    raise Interrupted(NOTHING_WRITTEN)
            trainer.callbacks = [writer, ConsoleProgress()]
            trainer.fit()
        except Diverged as error:
            print(f"tuidl: run diverged: {error}", file=sys.stderr)
            return EXIT_DIVERGED
        except KeyboardInterrupt:
            raise Interrupted(stopped_at_once(trainer, writer)) from None
    if not trainer.finished:
        print(
            f"interrupted at step {trainer.step_count}; checkpoint saved. "
            f"Continue with: {resume_command(writer.run_dir)}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print_report(writer.run_dir, sys.stdout)
    return 0


NOTHING_WRITTEN = "interrupted before training started; nothing was written"


def open_run(args: argparse.Namespace) -> tuple[Trainer, RunWriter | None]:
    """The trainer of `--resume DIR` and its writer, or of a new run and None (its folder is
    made once Ctrl-C no longer interrupts at once, so none is left empty), its kernels
    compiled: with an empty numba cache that takes seconds, which Ctrl-C cuts short."""
    from ..runs import open_for_resume, printable_name, recorded_threads, run_name
    from ..trainer import Trainer

    recorded = recorded_threads(args.resume) if args.resume else None
    cores.use(cores.thread_count(args.threads, recorded or cores.available()))
    if args.resume:
        if args.experiment or args.overrides or args.epochs is not None or args.seed is not None:
            raise ConfigError("--resume continues a run as it was; drop the other options")
        trainer, writer = open_for_resume(args.resume, args.data_dir)
        try:
            compile_interruptibly(trainer)
        except BaseException:
            writer.close()
            raise
        return trainer, writer
    if not args.experiment:
        raise ConfigError("name an experiment: tuidl run PRESET|FILE.toml (see tuidl presets)")
    if args.epochs is not None and args.epochs < 0:
        raise ConfigError(f"--epochs must be at least 0, got {args.epochs}")
    experiment = printable_name(experiment_from_args(args))
    run_name(experiment.name)  # a name that gives no folder fails before the data loads
    trainer = Trainer(experiment, data_dir=args.data_dir)
    compile_interruptibly(trainer)
    return trainer, None


def compile_interruptibly(trainer: Trainer) -> None:
    """`compile_kernels`, Ctrl-C taken between two of its passes: raised inside numba's
    compiler (a ctypes callback), KeyboardInterrupt is swallowed there and the compilation
    fails later with a RuntimeError."""
    from ..warmup import compile_kernels, compiling_text

    asked = False
    terminal = sys.stderr.isatty()  # where it says what it is doing, as the app does

    def ask(signum: int, frame: Any) -> None:
        nonlocal asked
        asked = True

    def check(done: int, total: int) -> None:
        if asked:
            raise KeyboardInterrupt
        if terminal and total:
            print(f"\r{compiling_text(done, total)}", end="", file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, ask)
    try:
        compile_kernels(trainer, check)
    finally:
        signal.signal(signal.SIGINT, previous)
        if terminal:
            print("\r\x1b[K", end="", file=sys.stderr, flush=True)  # the line goes
    check(0, 0)


def stopped_at_once(trainer: Trainer, writer: RunWriter | None) -> str:
    """What a second Ctrl-C left: the last checkpoint, or nothing to resume."""
    if writer is None:  # it came as the folder was being made
        return NOTHING_WRITTEN
    if writer.stopped_at_once(trainer):
        return (
            f"interrupted; the last checkpoint is in {writer.run_dir}, resume with: "
            f"{resume_command(writer.run_dir)}"
        )
    return f"interrupted before the first checkpoint; {writer.run_dir} has nothing to resume"


def resume_command(run_dir: Path) -> str:
    return shlex.join(["tuidl", "run", "--resume", str(run_dir)])


def print_report(run_dir: Path, out) -> None:
    """The end-of-run summary: a table of final metrics and the loss curve."""
    from ..console import make_console, metrics_table
    from ..runs import read_metrics

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
    """Train loss per trained epoch, and val loss per epoch from epoch 0 (the initial weights)
    when the run has a validation set."""
    from ..render.plot import line_plot

    series = []
    for key in ("train_loss", "val_loss"):
        mine = [r for r in epochs if key in r]
        if mine:
            label = key.replace("_", " ")
            series.append((label, [r["epoch"] for r in mine], [r[key] for r in mine]))
    return line_plot(series, "loss", "epoch", color, height=14)
