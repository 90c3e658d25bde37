"""`tuidl export` and `tuidl predict`: a run's trained model outside tuidl, and its answers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ConfigError

FORMATS = ("onnx", "npz")


def add_export_commands(commands) -> None:
    export = commands.add_parser(
        "export", help="write a run's trained model as ONNX or as a plain .npz with a JSON spec"
    )
    export.add_argument("run_dir", metavar="RUN_DIR", help="a run directory of tuidl run")
    export.add_argument(
        "--format", choices=FORMATS, default="onnx", help="onnx (default) or npz (numpy only)"
    )
    export.add_argument("-o", "--output", metavar="FILE", help="default RUN_DIR/model.FORMAT")
    export.add_argument("--force", action="store_true", help="replace FILE if it exists")
    export.add_argument("--data-dir", help="folder holding downloaded datasets (mnist ...)")
    export.set_defaults(run=export_command)

    predict = commands.add_parser(
        "predict", help="a run's predictions for new samples, one CSV row each, on stdout"
    )
    predict.add_argument("run_dir", metavar="RUN_DIR", help="a run directory of tuidl run")
    predict.add_argument(
        "input", metavar="INPUT", help="a .csv table, a .npy array, an IDX file or a PNG folder"
    )
    predict.add_argument(
        "--top", type=int, metavar="K", help="only the K most probable classes per sample"
    )
    predict.add_argument("--data-dir", help="folder holding downloaded datasets (mnist ...)")
    predict.set_defaults(run=predict_command)


def export_command(args: argparse.Namespace) -> int:
    from ..export.runmodel import load_run_model

    output = Path(args.output or Path(args.run_dir) / f"model.{args.format}")
    if output.exists() and not args.force:
        raise ConfigError(f"{output} exists; pass --force to replace it, or -o another file")
    if not output.parent.is_dir():
        raise ConfigError(f"cannot write {output}: no folder {output.parent}")
    if args.format == "onnx":
        from ..export.onnxgraph import build_onnx, require_onnx, save_onnx

        require_onnx()  # before the data loads: say how to install at once
        run = load_run_model(args.run_dir, args.data_dir)
        save_onnx(build_onnx(run), output)
    else:
        from ..export.npz import save_npz

        run = load_run_model(args.run_dir, args.data_dir)
        save_npz(run, output)
    print(f"wrote {output} ({run.model.count_params():,} parameters, {args.format})")
    return 0


def predict_command(args: argparse.Namespace) -> int:
    from ..export.predict import predict_file, table, write_csv
    from ..export.runmodel import load_run_model

    if args.top is not None and args.top < 1:
        raise ConfigError(f"--top must be at least 1, got {args.top}")
    if not Path(args.input).exists():  # said before the run's data loads
        raise ConfigError(f"{args.input} does not exist; pass a .csv, .npy, IDX file or PNG folder")
    run = load_run_model(args.run_dir, args.data_dir)
    outputs, names = predict_file(run, args.input)
    write_csv(table(run, outputs, names, args.top), sys.stdout)
    return 0
