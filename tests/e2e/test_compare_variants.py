"""`tuidl compare` races any variant: values of any key (`--vary`), several experiments on
the same data, combined with optimizers and seeds; run from the real command."""

from __future__ import annotations

import json
from pathlib import Path

from clitools import assert_one_line_error, run_tuidl

SPIRAL = """\
name = "{name}"
seed = 0
[data]
name = "spiral"
n = 200
[model]
loss = "softmax_cross_entropy"
init = "he"
layers = [
  {{ type = "dense", units = {units} }}, {{ type = "tanh" }}, {{ type = "dense", units = 2 }},
]
[optimizer]
name = "sgd"
lr = 0.05
[train]
epochs = 2
batch_size = 16
"""


def spiral_file(tmp_path: Path, name: str, units: int = 8) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(SPIRAL.format(name=name, units=units))
    return path


def step_losses(run_dir: Path) -> list[float]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r["loss"] for r in map(json.loads, lines) if r["kind"] == "step"]


def test_vary_races_values_of_a_key_from_the_same_weights(tmp_path):
    path = spiral_file(tmp_path, "tiny")
    result = run_tuidl(
        "compare", str(path), "--vary", "optimizer.weight_decay=0,0.5", "--seeds", "2",
        "--jobs", "2", "--out", "o", tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    root = tmp_path / "o" / "compare-tiny-1"
    folders = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert folders == [
        f"optimizer.weight_decay-{v}-seed{k}" for v in ("0", "0.5") for k in (0, 1)
    ]  # fmt: skip
    losses = {name: step_losses(root / name) for name in folders}
    # same seed: the same weights and the same first batch, until the decay tells them apart
    assert losses[folders[0]][0] == losses[folders[2]][0]
    assert losses[folders[0]][1] != losses[folders[2]][1]
    assert losses[folders[0]][0] != losses[folders[1]][0]  # another seed, other weights
    report = json.loads((root / "comparison.json").read_text())
    rows = {row["variant"]: row for row in report["variants"]}
    assert list(rows) == ["optimizer.weight_decay=0", "optimizer.weight_decay=0.5"]
    assert all(len(row["runs"]) == 2 for row in rows.values())
    assert "optimizer.weight_decay=0.5" in result.stdout


def test_several_experiments_race_by_name(tmp_path):
    narrow = spiral_file(tmp_path, "narrow", units=4)
    wide = spiral_file(tmp_path, "wide", units=32)
    result = run_tuidl(
        "compare", str(narrow), str(wide), "--optimizers", "sgd,adam", "--jobs", "2",
        "--out", "o", tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    root = tmp_path / "o" / "compare-narrow-1"
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == [
        "narrow_adam", "narrow_sgd", "wide_adam", "wide_sgd",
    ]  # fmt: skip
    config = (root / "wide_adam" / "config.toml").read_text()
    assert "units = 32" in config and 'name = "adam"' in config


def test_a_bad_variant_is_one_line_and_writes_nothing(tmp_path):
    path = spiral_file(tmp_path, "tiny")
    other = tmp_path / "xor.toml"
    other.write_text(path.read_text().replace('name = "spiral"', 'name = "xor"'))
    for args, message in [
        (["--vary", "train.batch_size"], "write KEY=V1,V2"),
        (["--vary", "model.inti=he,xavier"], "unknown key 'inti'"),
        ([], "nothing to race"),
        ([str(other), "--optimizers", "sgd"], "other data"),
    ]:
        result = run_tuidl("compare", str(path), *args, "--out", "o", tmp_path=tmp_path)
        assert_one_line_error(result, message)
    assert not (tmp_path / "o").exists()


def test_a_surface_race_prints_its_paths(tmp_path):
    result = run_tuidl("compare", "surface-bowl", "--out", "o", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "training loss (mean" in out and "the paths on bowl:" in out
    picture = out[out.index("the paths on bowl:") :].splitlines()[1:]
    legend = " ".join(picture[-3:])
    for glyph, label in zip("xo*#%@&", ["sgd:0.95", "momentum:0.1", "nesterov:0.1",
                                        "adagrad:1.5", "rmsprop:0.3", "adadelta:100", "adam:0.3"],
                            strict=True):  # fmt: skip
        assert f"{glyph} {label} (" in legend
    # every path ends on the plot in its glyph: the race's own end positions, on the picture
    assert all(any(glyph in row for row in picture[:-3]) for glyph in "xo*#%@&")
    root = tmp_path / "o" / "compare-surface-bowl-1"
    assert len([p for p in root.iterdir() if p.is_dir()]) == 7
