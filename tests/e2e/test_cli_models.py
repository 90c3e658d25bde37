"""Model options through the CLI as real processes: a scaled init from `--set`."""

from __future__ import annotations

import pytest
from clitools import run_tuidl

from tuidl.experiment import Experiment, parse_value


@pytest.mark.parametrize("value", ["gaussian:1", "uniform:0.1", '{ name = "gaussian", std = 0.5 }'])
def test_a_scaled_init_from_set_reaches_the_run(tmp_path, value):
    args = ["--epochs", "1", "--set", f"model.init={value}", "--out", "runs"]
    result = run_tuidl("run", "xor-mlp", *args, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert Experiment.load(run_dir / "config.toml").model["init"] == parse_value(value)
