"""`tuidl summary`, `tuidl gradcheck` and `tuidl presets`: look at a network without training.

Importing this module is cheap (the CLI's parser imports it): the engine and numpy load inside
the functions that run the commands.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .run import add_experiment_options, experiment_from_args

if TYPE_CHECKING:
    from ..experiment import Experiment

GRADCHECK_TOL = 1e-6
GRADCHECK_BATCH = 4
GRADCHECK_ENTRIES = 20  # random entries checked per array: two forward passes each


def add_inspect_commands(commands) -> None:
    summary = commands.add_parser(
        "summary", help="layer table: output shapes and parameters; what conv weight sharing saves"
    )
    summary.add_argument("experiment", help="preset name or experiment .toml file")
    add_experiment_options(summary)
    summary.set_defaults(run=summary_command)

    gradcheck = commands.add_parser("gradcheck", help="numerical vs backprop gradients")
    gradcheck.add_argument("experiment", help="preset name or experiment .toml file")
    gradcheck.add_argument(
        "--tol",
        type=float,
        default=GRADCHECK_TOL,
        help=f"largest relative error that passes (default {GRADCHECK_TOL})",
    )
    gradcheck.add_argument(
        "--entries",
        type=int,
        default=GRADCHECK_ENTRIES,
        help="entries checked per parameter array (default %(default)s)",
    )
    add_experiment_options(gradcheck)
    gradcheck.set_defaults(run=gradcheck_command)

    presets = commands.add_parser("presets", help="list the built-in experiments")
    presets.set_defaults(run=presets_command)


def _built_model(experiment: Experiment, data_dir: str | None):
    import numpy as np

    from ..trainer import load_experiment_data

    dataset = load_experiment_data(experiment, data_dir)
    model = experiment.make_model()
    model.build(dataset.input_shape, np.random.default_rng(experiment.seed))
    return model, dataset


def summary_command(args: argparse.Namespace) -> int:
    from ..console import make_console, summary_table, weight_sharing_lines

    experiment = experiment_from_args(args)
    model, dataset = _built_model(experiment, args.data_dir)
    console = make_console()
    console.print(f"{experiment.name}: input {dataset.input_shape} from {dataset.name}")
    console.print(summary_table(model.summary(), model.count_params()))
    for line in weight_sharing_lines(model.weight_sharing()):
        console.print(line)
    return 0


def gradcheck_command(args: argparse.Namespace) -> int:
    """Check backprop against central differences in float64 on random inputs.

    Random inputs (not the dataset's) keep values off ties: images have flat regions whose
    pooling windows tie, where the gradient is not defined and any check fails.
    """
    import numpy as np
    from rich.table import Table

    from ..console import make_console
    from ..gradcheck import check_model

    experiment = experiment_from_args(args)
    model, dataset = _built_model(experiment, args.data_dir)
    rng = np.random.default_rng(experiment.seed)
    x = rng.standard_normal((GRADCHECK_BATCH, *dataset.input_shape))
    sample = dataset.y_train[:1]
    if np.issubdtype(sample.dtype, np.integer):
        t = rng.integers(0, dataset.num_outputs, (GRADCHECK_BATCH, *sample.shape[1:]))
    else:
        t = rng.standard_normal((GRADCHECK_BATCH, *sample.shape[1:]))
    errors = check_model(model, x, t, max_entries=args.entries)
    table = Table("array", "shape", "relative error", "ok")
    shapes = {"input": x.shape[1:], **{k: v.shape for k, v in model.params.items()}}
    for key, error in errors.items():
        table.add_row(key, str(shapes[key]), f"{error:.2e}", "yes" if error < args.tol else "NO")
    console = make_console()
    console.print(table)
    failed = [key for key, error in errors.items() if not error < args.tol]
    if failed:
        console.print(f"FAIL: {len(failed)} of {len(errors)} arrays above {args.tol:g}")
        return 1
    console.print(f"ok: all {len(errors)} arrays below {args.tol:g}")
    return 0


def presets_command(args: argparse.Namespace) -> int:
    from ..presets import PRESETS

    width = max(map(len, PRESETS))
    for name, (about, _) in PRESETS.items():
        print(f"{name:<{width}} {about}")
    return 0
