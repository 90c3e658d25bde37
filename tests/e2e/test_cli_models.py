"""Model options through the CLI as real processes: a scaled init from `--set`, and `tuidl
summary`'s weight-sharing lines."""

from __future__ import annotations

import math

import pytest
from clitools import run_tuidl

from tuidl.experiment import Experiment, parse_value

TWO_CONV = """
[data]
name = "digits"
[model]
loss = "softmax_cross_entropy"
layers = [
  { type = "conv2d", filters = 4, kernel = 3, padding = "same" },
  { type = "conv2d", filters = 6, kernel = [3, 2], stride = 2 },
  { type = "flatten" },
  { type = "dense", units = 10 },
]
"""


def dense_params(in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> int:
    """Parameters of a dense layer from in_shape to out_shape: in*out weights, out biases."""
    return math.prod(in_shape) * math.prod(out_shape) + math.prod(out_shape)


def sharing_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("weight sharing:")]


def test_summary_says_what_weight_sharing_saves_a_preset(tmp_path):
    result = run_tuidl("summary", "digits-cnn", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    # conv2d 1->8 filters 3x3, same padding on 8x8 digits: 8*(1*3*3) + 8 parameters
    assert sharing_lines(result.stdout) == [
        f"weight sharing: conv2d_0 has {8 * 9 + 8} parameters; a dense layer from 1x8x8 to "
        f"8x8x8 would need {dense_params((1, 8, 8), (8, 8, 8)):,}"
    ]
    assert "would need 33,280" in result.stdout  # 64 * 512 + 512, written out once


def test_summary_says_it_for_every_conv_layer(tmp_path):
    (tmp_path / "cnn.toml").write_text(TWO_CONV)
    result = run_tuidl("summary", "cnn.toml", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    # second conv: 3x2 kernel, stride 2, valid on 4x8x8: (8-3)//2+1 = 3 rows, (8-2)//2+1 = 4 cols
    assert sharing_lines(result.stdout) == [
        f"weight sharing: conv2d_0 has {4 * 9 + 4} parameters; a dense layer from 1x8x8 to "
        f"4x8x8 would need {dense_params((1, 8, 8), (4, 8, 8)):,}",
        f"weight sharing: conv2d_1 has {6 * 4 * 6 + 6} parameters; a dense layer from 4x8x8 "
        f"to 6x3x4 would need {dense_params((4, 8, 8), (6, 3, 4)):,}",
    ]


def test_summary_of_a_model_without_conv_layers_has_no_such_line(tmp_path):
    result = run_tuidl("summary", "xor-mlp", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sharing_lines(result.stdout) == []


@pytest.mark.parametrize("value", ["gaussian:1", "uniform:0.1", '{ name = "gaussian", std = 0.5 }'])
def test_a_scaled_init_from_set_reaches_the_run(tmp_path, value):
    args = ["--epochs", "1", "--set", f"model.init={value}", "--out", "runs"]
    result = run_tuidl("run", "xor-mlp", *args, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert Experiment.load(run_dir / "config.toml").model["init"] == parse_value(value)
