"""`tuidl run` on surface experiments, through the real executable: every step's position in
`metrics.jsonl`, and a surface mixed with other layers refused in one line."""

from __future__ import annotations

import json

import pytest
from clitools import CONTROL, assert_one_line_error, run_tuidl


def test_run_surface_bowl_writes_every_position(tmp_path):
    result = run_tuidl("run", "surface-bowl", "--out", "out", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not CONTROL.search(result.stdout) and "alert" not in result.stdout
    lines = (tmp_path / "out" / "surface-bowl-1" / "metrics.jsonl").read_text().splitlines()
    steps = [record for record in map(json.loads, lines) if record["kind"] == "step"]
    assert [step["step"] for step in steps] == list(range(1, 31))  # log_every = 1
    assert steps[0]["position"] == [-7.0, 2.0]  # where the first update started
    assert all(step["surface"] == "bowl" for step in steps)
    for step in steps:  # each loss is f where its step stood
        x, y = step["position"]
        assert step["loss"] == pytest.approx(x * x / 20 + y * y, rel=1e-5)
    # SGD at lr 0.95 flips y each update: y <- y - 0.95 * 2y = -0.9 y
    ys = [step["position"][1] for step in steps]
    assert all(b == pytest.approx(-0.9 * a, rel=1e-5) for a, b in zip(ys, ys[1:], strict=False))


def test_a_surface_with_other_layers_is_one_line_error(tmp_path):
    (tmp_path / "mixed.toml").write_text(
        '[data]\nname = "point"\n[model]\nloss = "value"\n'
        'layers = [{ type = "surface", function = "bowl" }, { type = "dense", units = 1 }]\n'
    )
    result = run_tuidl("run", "mixed.toml", tmp_path=tmp_path)
    assert_one_line_error(
        result, "layer 0 (surface) is a whole model", "keep the surface layer alone"
    )
