"""The `tuidl` command: parses arguments and turns bad input into one line and exit code 2.

`tuidl` and `tuidl EXPERIMENT` (a first argument that is neither a command nor an option) open
the interactive app; `tuidl view RUN_DIR...` opens runs in it. Textual is imported only then.

Exit codes (PRODUCT.md): 0 success, 1 run diverged, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ConfigError, Interrupted, printable

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
COMMANDS = (
    "run", "compare", "sweep", "summary", "gradcheck", "presets", "data", "view", "bench",
    "export", "predict", "diff",
)  # fmt: skip
COLOR_SYSTEMS = ("auto", "truecolor", "256", "standard")
# Imported once the arguments parse, Ctrl-C deferred: they catch KeyboardInterrupt in their own
# start-up. The parser imports no command's engine, so usage errors and --help need neither.
CTRL_C_CATCHERS = ("numba", "plotext")
NO_CATCHERS = ("data",)  # commands that import neither


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (no usage block) and exits with 2.

    Abbreviated options are off: `--epoch 3` is an error, not a silent `--epochs 3`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"tuidl: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> Parser:
    parser = Parser(
        prog="tuidl",
        description="A deep-learning lab that lives in the terminal.",
        epilog="With no command, or with an EXPERIMENT, tuidl opens the interactive app: "
        "tuidl [--color auto|truecolor|256|standard] [--out DIR] [--set KEY=VALUE ...] "
        "[EXPERIMENT] (tuidl EXPERIMENT --help lists them).",
    )
    parser.add_argument("--version", action="version", version=f"tuidl {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    from .bench.command import add_bench_command
    from .commands.compare import add_compare_command
    from .commands.data import add_data_command
    from .commands.diff import add_diff_command
    from .commands.export import add_export_commands
    from .commands.inspect import add_inspect_commands
    from .commands.run import add_run_command
    from .commands.sweep import add_sweep_command

    add_run_command(commands)
    add_compare_command(commands)
    add_sweep_command(commands)
    add_inspect_commands(commands)
    add_data_command(commands)
    add_view_command(commands)
    add_bench_command(commands)
    add_export_commands(commands)
    add_diff_command(commands)
    return parser


def add_color_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--color",
        choices=COLOR_SYSTEMS,
        default="auto",
        help="colours: auto (from TERM/COLORTERM), truecolor, 256 or standard (16)",
    )


def build_app_parser() -> Parser:
    from .commands.run import add_experiment_options, add_threads_option

    parser = Parser(prog="tuidl", description="Open the interactive app on an experiment.")
    parser.add_argument(
        "experiment", nargs="?", help="preset name or experiment .toml file (default spiral-mlp)"
    )
    parser.add_argument("--out", default="runs", help="folder for run directories (default runs/)")
    add_color_option(parser)
    add_threads_option(parser, "every core but one, which draws the screen")
    add_experiment_options(parser)
    return parser


def add_view_command(commands) -> None:
    parser = commands.add_parser(
        "view", help="open run directories, or a sweep directory, in the app (follows them live)"
    )
    parser.add_argument(
        "run_dirs", nargs="+", metavar="RUN_DIR", help="run directories, or one sweep directory"
    )
    add_color_option(parser)
    parser.set_defaults(run=view_command)


def prepare_terminal(color: str) -> None:
    """Before Textual is imported: its colour system is read from the environment then; one
    BLAS thread leaves the second core to the UI (oversubscribed OpenBLAS threads spin and
    collapse)."""
    if color != "auto":
        os.environ["TEXTUAL_COLOR_SYSTEM"] = color
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def require_terminal(instead: str) -> None:
    """The app draws on a terminal and reads keys from it: without one (a pipe, a cron job,
    CI) it would write escape codes nobody sees and wait forever for keys."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError(f"the app needs a terminal (stdin and stdout); use {instead} instead")


def view_command(args: argparse.Namespace) -> int:
    from .session.follow import run_dirs_in
    from .sweep.store import PLAN

    sweep = len(args.run_dirs) == 1 and (Path(args.run_dirs[0]) / PLAN).is_file()
    run_dirs = None if sweep else run_dirs_in(args.run_dirs)
    require_terminal("tail -f RUN_DIR/metrics.jsonl or tuidl run")
    prepare_terminal(args.color)
    from .ui.app import make_app

    if sweep:
        make_app(sweep_dir=args.run_dirs[0]).run()  # the sweep screen
    else:
        make_app(view_dirs=run_dirs).run()
    return 0


def _check_experiment_word(word: str) -> None:
    """`tuidl frobnicate`: neither a command nor a preset nor a file; say so in one line."""
    if word.endswith(".toml") or Path(word).exists():
        return
    from .presets import PRESETS  # loads the layers, and with them numba
    from .suggest import did_you_mean

    if word in PRESETS:
        return
    hint = did_you_mean(word, [*COMMANDS, *PRESETS])
    raise ConfigError(
        f"{word!r} is not a command, a preset or a file"
        f"{hint if 'did you mean' in hint else ''}"
        " (tuidl --help lists commands, tuidl presets lists presets)"
    )


def app_command(argv: list[str]) -> int:
    with interrupts_deferred():
        if argv and not argv[0].startswith("-"):
            _check_experiment_word(argv[0])
        args = build_app_parser().parse_args(argv)
        import_ctrl_c_catchers()
    from . import cores
    from .commands.run import experiment_from_args
    from .presets import DEFAULT_PRESET

    if args.experiment is None:
        args.experiment = DEFAULT_PRESET
    experiment = experiment_from_args(args)  # bad input fails here, before the screen opens
    threads = cores.thread_count(args.threads, cores.app_default())
    require_terminal(f"tuidl run {args.experiment}")
    prepare_terminal(args.color)
    from .ui.app import make_app

    app = make_app(
        experiment,
        runs_root=args.out,
        data_dir=args.data_dir,
        train_in="process",
        lesson_card=True,
        threads=threads,
    )
    app.run()
    return app.return_code or 0


def import_ctrl_c_catchers() -> None:
    for name in CTRL_C_CATCHERS:
        importlib.import_module(name)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ctrl-C inside the block is taken at its end: the libraries imported there (plotext,
    numba's llvmlite) catch KeyboardInterrupt in their own start-up, then fail with a
    traceback or carry on as if nothing happened."""
    asked = False

    def ask(signum: int, frame: Any) -> None:
        nonlocal asked
        asked = True

    previous = signal.signal(signal.SIGINT, ask)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if asked:
        raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    started = False  # the command runs (and says itself what an interrupt leaves)
    try:
        if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
            started = True
            return app_command(argv) or 0
        with interrupts_deferred():
            args = build_parser().parse_args(argv)
            if args.command not in NO_CATCHERS:
                import_ctrl_c_catchers()
        started = True
        return args.run(args) or 0
    except ConfigError as error:
        print(f"tuidl: error: {printable(str(error))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Interrupted as error:
        print(f"tuidl: {printable(str(error))}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:  # Ctrl-C where the command says no more
        where = "" if started else " while starting; nothing was written"
        print(f"tuidl: interrupted{where}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `tuidl ... | head`: the reader left; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
