"""The `tuidl` subcommands: argparse and printing only; the work is the engine's."""
