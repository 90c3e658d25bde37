"""The CLI's parser loads no engine: `--help`, usage errors and parsing stay quick.

The test suite starts `tuidl` hundreds of times, most of them for one-line errors; numba alone
takes 0.4 s to import. Each check runs in a fresh interpreter, whose `sys.modules` this one's
imports do not touch.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tuidl.commands.sweep import METRIC_NAMES
from tuidl.sweep.store import METRICS

HEAVY = (
    "numpy", "numba", "tuidl.kernels", "tuidl.trainer", "tuidl.model", "tuidl.layers",
    "textual", "distributed", "plotext",
)  # fmt: skip
# valid arguments of every command, parsed and not run
COMMAND_LINES = [
    ["run", "spiral-mlp", "--epochs", "3", "--set", "optimizer.lr=0.1", "--threads", "1"],
    ["run", "--resume", "runs/spiral-mlp-1"],
    ["compare", "spiral-mlp", "--optimizers", "sgd,adam", "--vary", "model.init=he,xavier"],
    ["sweep", "spiral-mlp", "--space", "optimizer.lr=loguniform(1e-3,1e-1)", "--metric", "val_acc"],
    ["summary", "digits-cnn"],
    ["gradcheck", "digits-cnn", "--tol", "1e-5"],
    ["presets"],
    ["data", "list"],
    ["data", "show", "spiral", "-n", "3"],
    ["data", "fetch", "mnist"],
    ["view", "runs/a", "runs/b", "--color", "256"],
    ["bench", "--quick", "--no-torch"],
    ["export", "runs/a", "--format", "npz"],
    ["predict", "runs/a", "x.csv", "--top", "2"],
    ["diff", "runs/a", "runs/b"],
]
PARSE = """
import contextlib, io, json, sys
import tuidl.cli

for argv in json.loads(sys.argv[1]):
    tuidl.cli.build_parser().parse_args(argv)
    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
        tuidl.cli.build_parser().parse_args([argv[0], "--help"])
tuidl.cli.build_app_parser().parse_args(["spiral-mlp", "--set", "seed=3", "--color", "256"])
print(json.dumps([name for name in json.loads(sys.argv[2]) if name in sys.modules]))
"""


def test_parsing_every_command_imports_no_engine():
    result = subprocess.run(
        [sys.executable, "-c", PARSE, json.dumps(COMMAND_LINES), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == [], result.stdout


def test_a_usage_error_exits_2_before_numba_loads():
    for argv in (["run", "--epoch", "3"], ["run", "spiral-mlp", "--epochs", "x"]):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "tuidl", *argv],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 2, result.stderr
        errors = [line for line in result.stderr.splitlines() if "import time:" not in line]
        assert len(errors) == 1 and errors[0].startswith("tuidl: error: "), errors
        imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()]
        assert not [name for name in imported if name.split(".")[0] == "numba"], argv


def test_sweep_metric_choices_are_the_metrics_a_sweep_ranks_by():
    assert list(METRIC_NAMES) == list(METRICS)
