"""`tuidl data list | show NAME | fetch NAME`: the dataset catalog on the command line.

On a terminal the output is rich (a table, a progress bar, colour images); on a pipe or a log
it is plain text without control characters, and images fall back to an ASCII shade ramp,
as they do under `NO_COLOR` or on a terminal without colours.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

SHOW_COUNT = 8
SEQUENCE_COUNT = 3


def add_data_command(subparsers: argparse._SubParsersAction) -> None:
    """Add `data` with its `list`, `show` and `fetch` actions; each sets `args.run`."""
    data = subparsers.add_parser(
        "data",
        help="dataset catalog: list, show samples, fetch downloads",
        description="The dataset catalog: list it, draw samples, download mnist/fashion-mnist.",
    )
    data.set_defaults(run=lambda args: _usage(data))
    actions = data.add_subparsers(dest="data_command", metavar="ACTION")
    data_dir_help = "folder with downloaded datasets (default: $TUIDL_DATA, then the user cache)"

    listing = actions.add_parser("list", help="every dataset: kind, shape, size, source, present?")
    listing.add_argument("--data-dir", help=data_dir_help)
    listing.set_defaults(run=run_list)

    show = actions.add_parser("show", help="draw a few samples in the terminal")
    show.add_argument("name", help="a dataset name (tuidl data list), csv:PATH, idx:DIR, text:PATH")
    show.add_argument("--data-dir", help=data_dir_help)
    show.add_argument("--count", "-n", type=int, default=None, help="samples to draw")
    show.add_argument("--seed", type=int, default=0, help="seed for generated sets")
    show.add_argument(
        "--set",
        dest="params",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a [data] key, e.g. --set classes=3 --set noise=0.1",
    )
    show.set_defaults(run=run_show)

    fetch = actions.add_parser("fetch", help="download mnist or fashion-mnist (md5 verified)")
    fetch.add_argument("name", help="mnist or fashion-mnist")
    fetch.add_argument(
        "--data-dir", help="download into DIR/NAME (default: $TUIDL_DATA/NAME, else the cache)"
    )
    fetch.set_defaults(run=run_fetch)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def _console(stream: TextIO):
    from rich.console import Console

    return Console(file=stream, force_terminal=stream.isatty(), highlight=False, soft_wrap=True)


# ---------------------------------------------------------------- list


def run_list(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """The catalog table (name, kind, shape, size, source, present?), then where each is."""
    from ..datasets import DATASETS, presence

    stream = stream or sys.stdout
    header = ("name", "kind", "shape", "size", "source", "present")
    rows, notes = [], []
    for info in DATASETS.values():
        present, note = presence(info, args.data_dir)
        rows.append((info.name, info.kind, info.shape, info.size, info.source,
                     {True: "yes", False: "no", None: "-"}[present]))  # fmt: skip
        if note not in ("-", "built in"):
            notes.append(f"{info.name}: {note}")
    if stream.isatty():
        from rich import box
        from rich.table import Table

        table = Table(*header, title="tuidl datasets", box=box.SIMPLE_HEAD)
        for row in rows:
            table.add_row(*row, style="dim" if row[-1] == "no" else None)
        console = _console(stream)
        console.print(table)
        for note in notes:
            console.print(note, markup=False)
    else:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
        for row in [header, *rows]:
            cells = [value.ljust(width) for value, width in zip(row, widths, strict=False)]
            print("  ".join([*cells, row[-1]]), file=stream)
        print(file=stream)
        for note in notes:
            print(note, file=stream)
    return 0


# ---------------------------------------------------------------- fetch


def fetch_dir(name: str, data_dir: str | None) -> Path:
    """Where `fetch` writes: DIR/NAME for --data-dir, else $TUIDL_DATA/NAME, else the cache."""
    from ..datasets.mnist import cache_dir

    if data_dir:
        return Path(data_dir) / name
    if os.environ.get("TUIDL_DATA"):
        return Path(os.environ["TUIDL_DATA"]) / name
    return cache_dir() / name


def run_fetch(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    from ..datasets.fetch import FETCHABLE, FetchProgress, fetch
    from ..suggest import did_you_mean

    stream = stream or sys.stdout
    if args.name not in FETCHABLE:
        extra = " (it needs no download)" if _is_catalog_name(args.name) else ""
        raise ConfigError(
            f"nothing to fetch for {args.name!r}{extra}{did_you_mean(args.name, FETCHABLE)}"
        )
    dest = fetch_dir(args.name, args.data_dir)

    class Plain(FetchProgress):
        def finish(self, file: str, status: str) -> None:
            print(f"{args.name}: {file} {status}", file=stream, flush=True)

    if not stream.isatty():
        paths = fetch(args.name, dest, progress=Plain())
    else:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=_console(stream),
        )

        class Bars(FetchProgress):
            task = None

            def start(self, file: str, total: int | None) -> None:
                self.task = progress.add_task(file, total=total)

            def advance(self, nbytes: int) -> None:
                progress.advance(self.task, nbytes)

            def finish(self, file: str, status: str) -> None:
                if status == "present":
                    progress.console.print(f"{file} already present (md5 ok)")

        with progress:
            paths = fetch(args.name, dest, progress=Bars())
    print(f"{args.name}: {len(paths)} files in {dest}, md5 verified", file=stream)
    return 0


def _is_catalog_name(name: str) -> bool:
    from ..datasets import DATASETS

    return name in DATASETS


# ---------------------------------------------------------------- show


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` strings to a dict; values read as TOML (3, 0.1, true, "a"), else text."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {pair!r}: write KEY=VALUE, e.g. --set noise=0.1")
        try:
            params[key.strip()] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            params[key.strip()] = value
    return params


class Printer:
    """Writes lines and `render.grids` grids: rich on a colour terminal, plain text otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.console = _console(stream)
        self.tty = stream.isatty()
        self.colour = (
            self.tty and not self.console.no_color and self.console.color_system is not None
        )
        self.width = self.console.width if self.tty else 100  # pipes and logs: 100 columns

    def line(self, text: str) -> None:
        if self.tty:
            self.console.print(text, markup=False)
        else:
            print(text, file=self.stream)

    def grid(self, grid) -> None:
        if not self.colour:
            for row in grid:
                self.line("".join(cell[0] for cell in row).rstrip())
            return
        from rich.color import Color
        from rich.style import Style
        from rich.text import Text

        styles: dict[tuple, Style] = {}
        for row in grid:
            text = Text(no_wrap=True, overflow="crop")
            for char, fg, bg in row:
                if (fg, bg) not in styles:
                    styles[fg, bg] = Style(
                        color=Color.from_rgb(*fg) if fg else None,
                        bgcolor=Color.from_rgb(*bg) if bg else None,
                    )
                text.append(char, styles[fg, bg])
            self.console.print(text)


def run_show(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """Load NAME without normalization and draw a few training samples with their labels."""
    import numpy as np

    from ..datasets import load_dataset, lookup
    from ..render import grids

    info, _ = lookup(args.name)
    if args.count is not None and args.count < 1:
        raise ConfigError(f"--count must be at least 1, got {args.count}")
    params = parse_params(args.params)
    ds = load_dataset(args.name, data_dir=args.data_dir, seed=args.seed, normalize="none", **params)
    out = Printer(stream or sys.stdout)
    sizes = f"{len(ds.x_train):,} train, {len(ds.x_val):,} val"
    if ds.x_test is not None:
        sizes += f", {len(ds.x_test):,} test"
    outputs = f"{ds.num_outputs} classes" if ds.task != "regression" else "target"
    out.line(
        f"{ds.name}: {info.kind}, {ds.task}, input {ds.input_shape}, {outputs}; {sizes}; "
        f"from {ds.source}"
    )
    x, y = ds.x_train, ds.y_train
    names = ds.class_names or [str(c) for c in range(ds.num_outputs)]
    plot_width = min(out.width - 2, 72)
    if ds.normalizer is not None and ds.normalizer.layout == "onehot":  # reber, text
        for text in grids.symbol_lines(x, y, names, args.count or SEQUENCE_COUNT):
            out.line(text)
    elif len(ds.input_shape) == 3:
        count = min(args.count or SHOW_COUNT, len(x))
        labels = [_label(ds, names, y[i]) for i in range(count)]
        for grid in grids.image_rows(x[:count], labels, out.width, out.colour):
            out.grid(grid)
    elif ds.input_shape == (2,) and ds.task == "classification":
        out.grid(grids.scatter(x, y, width=plot_width, colour=out.colour))
        counts = np.bincount(y, minlength=ds.num_outputs)
        marker = grids.MARKERS
        out.line("  ".join(f"{marker[c % len(marker)]} {name} ({counts[c]})"
                           for c, name in enumerate(names)))  # fmt: skip
    elif len(ds.input_shape) == 2:  # sine, adding: channel 0 as a line
        for i in range(min(args.count or SEQUENCE_COUNT, len(x))):
            marks = x[i, :, 1] > 0.5 if info.name == "adding" else None
            target = float(y[i, 0]) if info.name == "sine" else None
            what = {"sine": "next value", "adding": "sum of the marked values"}.get(info.name)
            out.line(f"sample {i}: {what or 'target'} = {_label(ds, names, y[i])}")
            out.grid(grids.line_chart(x[i, :, 0], plot_width, colour=out.colour, marks=marks,
                                     extra=target))  # fmt: skip
    else:  # a table: the first features and the label
        for i in range(min(args.count or SHOW_COUNT, len(x))):
            features = " ".join(f"{v:.4g}" for v in x[i][:12])
            more = " ..." if x.shape[1] > 12 else ""
            out.line(f"{features}{more}  ->  {_label(ds, names, y[i])}")
    return 0


def _label(ds, names: list[str], target: np.ndarray) -> str:
    """`7`, `9 Ankle boot`, or the target values of a regression."""
    if ds.task == "regression":
        return " ".join(f"{v:.4g}" for v in target.ravel())
    index = int(target)
    name = names[index] if index < len(names) else str(index)
    return name if name == str(index) else f"{index} {name}"
