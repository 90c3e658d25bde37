"""Bad input anywhere gives exit 2, one line on stderr naming the problem, and no traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from clitools import assert_one_line_error, run_tuidl

BASE = """
name = "bad"
[data]
name = "spiral"
n = 100
[model]
loss = "softmax_cross_entropy"
layers = [{ type = "dense", units = 8 }, { type = "relu" }, { type = "dense", units = 2 }]
[optimizer]
name = "sgd"
lr = 0.1
[train]
epochs = 1
"""

DIGITS_CONV = """
[data]
name = "digits"
[model]
loss = "softmax_cross_entropy"
layers = [
  { type = "conv2d", filters = 4, kernel = %s },
  { type = "flatten" },
  { type = "dense", units = 10 },
]
"""
NO_FLATTEN = DIGITS_CONV.replace('  { type = "flatten" },\n', "")

DBN = """
[data]
name = "digits"
normalize = "minmax"
[model]
loss = "softmax_cross_entropy"
layers = [{ type = "flatten" }, { type = "rbm", units = 8 }, { type = "dense", units = 10 }]
"""


def variant(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new)


# (experiment file text or None, extra arguments, words the error line must hold)
FILE_CASES = [
    ("[data\nname = 1", [], ["TOML syntax error", "line 1"]),
    ("colour = 1\n" + BASE, [], ["unknown top-level key 'colour'"]),
    (variant('type = "relu"', 'type = "rleu"'), [], ["layer 1", "did you mean 'relu'"]),
    (variant("units = 8", "unitz = 8"), [], ["layer 0 (dense)", "did you mean 'units'"]),
    (variant("units = 8", 'units = "eight"'), [], ["units must be a positive integer", "'eight'"]),
    (variant('name = "spiral"', 'name = "spirals"'), [], ["spirals", "did you mean 'spiral'"]),
    (variant('name = "sgd"', 'name = "adamw"'), [], ["adamw"]),
    (variant("lr = 0.1", "lr = -0.1"), [], ["lr must be", "-0.1"]),
    (variant("lr = 0.1", "lr = 0"), [], ["lr must be"]),
    (variant("epochs = 1", "epochs = -1"), [], ["[train] epochs must be a non-negative integer"]),
    (BASE + "batch_size = -4", [], ["batch_size must be a positive integer, got -4"]),
    (variant('"softmax_cross_entropy"', '"hinge"'), [], ["unknown loss 'hinge'"]),
    (BASE.replace("[model]", '[model]\ninit = "glorot"'), [], ["unknown init 'glorot'"]),
    (BASE, ["--set", "model.init=gaussian:abc"],
     ["[model] init 'gaussian:abc' needs a positive number after ':', e.g. gaussian:0.01"]),
    (BASE.replace("[model]", '[model]\ninit = "he:0.1"'), [],
     ["[model] init 'he:0.1': he takes no scale", "write init = 'he'"]),
    (BASE.replace("[model]", '[model]\ninit = "gausian:0.1"'), [],
     ["[model] unknown init 'gausian:0.1'; did you mean 'gaussian'?"]),
    (BASE.replace("[model]", '[model]\ninit = { name = "uniform", std = 0.1 }'), [],
     ["[model] init table: unknown key 'std'; uniform takes only limit"]),
    (variant("units = 8 }", 'units = 8, init = "uniform:0" }'), [],
     ["layer 0 (dense): init 'uniform:0' needs a positive number after ':'"]),
    (variant("units = 2 }", "units = 3 }"), [], ["has 2 classes", "units = 2"]),
    (variant("n = 100", "n = 100\nnoise_level = 0.1"), [], ["noise_level"]),
    (variant("n = 100", "n = 100\nval_split = 1.5"), [], ["val_split", "1.5"]),
    (variant("n = 100", 'n = 100\nnormalize = "zscore"'), [], ["zscore"]),
    (NO_FLATTEN % 3, [], ["layer 1 (dense)", "(4, 6, 6)", "flatten"]),
    (DIGITS_CONV % 9, [], ["layer 0 (conv2d)", "(1, 8, 8)"]),
    (BASE, ["--epochs", "-1"], ["--epochs must be at least 0"]),
    (BASE, ["--set", "train.epochs"], ["write key=value"]),
    (BASE, ["--set", "model.layers.7.units=3"], ["model.layers.7 must be an index from 0 to 2"]),
    (BASE, ["--set", "optimizer.momentum=2"], ["momentum"]),
    (BASE, ["--epoch", "3"], ["unrecognized arguments: --epoch"]),
    (BASE + "[train.early_stopping]\npatience = -1", [], ["patience must be"]),
    (DBN.replace("units = 8", "units = 8, cd_k = 0"), [],
     ["layer 1 (rbm)", "cd_k must be a", "got 0"]),
    (DBN.replace("units = 8", "units = 8, cdk = 2"), [], ["layer 1 (rbm)", "did you mean 'cd_k'"]),
    (DBN.replace('"minmax"', '"standard"'), [], ["layer 1 (rbm)", 'data.normalize = "minmax"']),
    (variant('"softmax_cross_entropy"', '"binary_cross_entropy"').replace(
        "units = 2 }", 'units = 2 }, { type = "softmax" }'), [],
     ["layer 3 (softmax)", 'use loss = "softmax_cross_entropy"']),
]  # fmt: skip


@pytest.mark.parametrize("text, extra, needles", FILE_CASES, ids=[c[2][0] for c in FILE_CASES])
def test_bad_experiment_files_and_options(tmp_path, text, extra, needles):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = run_tuidl("run", str(path), *extra, "--out", "out", tmp_path=tmp_path)
    assert_one_line_error(result, *needles)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


COMMAND_CASES = [
    (["run", "missing.toml"], ["missing.toml does not exist"]),
    (["run", "spirl-mlp"], ["neither a preset nor a file", "did you mean 'spiral-mlp'"]),
    (["run"], ["name an experiment"]),
    (["summary", "nope"], ["'nope' is neither a preset nor a file"]),
    (["gradcheck", "xor-mpl"], ["did you mean 'xor-mlp'"]),
    (["compare", "xor-mlp", "--optimizers", "sgd,adamm"], ["unknown optimizer 'adamm'"]),
    (["compare", "xor-mlp", "--optimizers", "sgd:fast"], ["needs a number after ':'"]),
    (["compare", "xor-mlp"], ["--optimizers"]),
    (["run", "--resume", "no-such-run"], ["no-such-run is not a run directory"]),
    (["frobnicate"], ["'frobnicate' is not a command, a preset or a file"]),
    (["rnu", "spiral-mlp"], ["did you mean 'run'"]),
]


@pytest.mark.parametrize(
    "args, needles", COMMAND_CASES, ids=[" ".join(c[0]) for c in COMMAND_CASES]
)
def test_bad_commands(tmp_path, args, needles):
    assert_one_line_error(run_tuidl(*args, tmp_path=tmp_path), *needles)


def test_mnist_without_files_says_where_to_put_them(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_tuidl("summary", "mnist-lenet", "--data-dir", str(empty), tmp_path=tmp_path,
                       TUIDL_DATA=str(empty))  # fmt: skip
    assert_one_line_error(result, "mnist", "tuidl data fetch mnist")


@pytest.fixture
def finished_run(tmp_path) -> Path:
    (tmp_path / "ok.toml").write_text(BASE)
    assert run_tuidl("run", "ok.toml", "--out", "o", tmp_path=tmp_path).returncode == 0
    return tmp_path / "o" / "bad-1"


def test_resume_with_a_corrupt_checkpoint_keeps_every_file(tmp_path, finished_run):
    (finished_run / "checkpoint.npz").write_bytes(b"garbage")
    before = {p.name: p.read_bytes() for p in finished_run.iterdir()}
    result = run_tuidl("run", "--resume", str(finished_run), tmp_path=tmp_path)
    assert_one_line_error(result, "checkpoint", "damaged")
    assert {p.name: p.read_bytes() for p in finished_run.iterdir()} == before


def test_resume_with_a_foreign_checkpoint(tmp_path, finished_run):
    other = tmp_path / "other.toml"
    other.write_text(variant("units = 8", "units = 5"))
    assert run_tuidl("run", str(other), "--out", "p", tmp_path=tmp_path).returncode == 0
    shutil.copy(tmp_path / "p" / "bad-1" / "checkpoint.npz", finished_run / "checkpoint.npz")
    result = run_tuidl("run", "--resume", str(finished_run), tmp_path=tmp_path)
    assert_one_line_error(result, "checkpoint", "shape")


def test_resume_without_checkpoint(tmp_path, finished_run):
    (finished_run / "checkpoint.npz").unlink()
    result = run_tuidl("run", "--resume", str(finished_run), tmp_path=tmp_path)
    assert_one_line_error(result, "no checkpoint.npz")


def test_resume_refuses_other_options(tmp_path, finished_run):
    result = run_tuidl("run", "--resume", str(finished_run), "--epochs", "3", tmp_path=tmp_path)
    assert_one_line_error(result, "drop the other options")


def test_the_app_without_a_terminal_says_to_use_tuidl_run(tmp_path, finished_run):
    # run_tuidl gives no terminal: stdin from /dev/null, stdout and stderr captured
    result = run_tuidl("spiral-mlp", tmp_path=tmp_path, timeout=30)
    assert_one_line_error(result, "needs a terminal", "tuidl run spiral-mlp")
    assert result.stdout == "" and not (tmp_path / "runs").exists()  # no escape codes, no run
    result = run_tuidl("view", str(finished_run), tmp_path=tmp_path, timeout=30)
    assert_one_line_error(result, "needs a terminal")
