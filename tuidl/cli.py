"""The `tuidl` command: parses arguments and turns bad input into one line and exit code 2.

Exit codes (PRODUCT.md): 0 success, 1 run diverged, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import __version__
from .errors import ConfigError

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (no usage block) and exits with 2.

    Abbreviated options are off: `--epoch 3` is an error, not a silent `--epochs 3`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"tuidl: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> Parser:
    parser = Parser(prog="tuidl", description="A deep-learning lab that lives in the terminal.")
    parser.add_argument("--version", action="version", version=f"tuidl {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    from .comparecmd import add_compare_command
    from .datacmd import add_data_command
    from .inspectcmd import add_inspect_commands
    from .runcmd import add_run_command

    add_run_command(commands)
    add_compare_command(commands)
    add_inspect_commands(commands)
    add_data_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args) or 0
    except ConfigError as error:
        print(f"tuidl: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `tuidl ... | head`: the reader left; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
