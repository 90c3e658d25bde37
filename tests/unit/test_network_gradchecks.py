"""End to end on real data: a small CNN learns a 1,000-image slice of MNIST; whole-network
gradient checks of a CNN and an LSTM net."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from clitools import run_tuidl

from tuidl.datasets import Dataset, load_dataset
from tuidl.experiment import Experiment
from tuidl.gradcheck import check_model
from tuidl.model import Sequential
from tuidl.presets import preset
from tuidl.trainer import Trainer

GRADCHECK_TOL = 1e-6
MNIST_DIR = Path(os.environ.get("TUIDL_DATA", "/nonexistent"))
needs_mnist = pytest.mark.skipif(
    not (MNIST_DIR / "mnist" / "t10k-images-idx3-ubyte.gz").exists(),
    reason="MNIST files not found: set TUIDL_DATA to a folder with mnist/t10k-*.gz",
)
LENET = preset("mnist-lenet").model  # the preset's network, trained on 1/8 of its data


@needs_mnist
def test_small_cnn_learns_a_1000_image_slice_of_mnist():
    full = load_dataset("mnist", data_dir=str(MNIST_DIR))
    data = Dataset(
        name="mnist-1000", x_train=full.x_train[:1000], y_train=full.y_train[:1000],
        x_val=full.x_val, y_val=full.y_val, input_shape=full.input_shape,
        task="classification", num_outputs=10,
    )  # fmt: skip
    experiment = Experiment.from_dict({
        "name": "small-cnn", "seed": 0, "data": {"name": "mnist"}, "model": LENET,
        "optimizer": {"name": "adam", "lr": 0.003}, "train": {"epochs": 10, "batch_size": 32},
    })  # fmt: skip
    trainer = Trainer(experiment, dataset=data)
    trainer.fit()
    accuracy = trainer.evaluate(data.x_val, data.y_val, "val")["val_acc"]
    assert accuracy > 0.90, f"val accuracy on 2,000 held-out images: {accuracy:.2%}"


def assert_model_gradcheck(config, input_shape, t, seed):
    model = Sequential.from_config(config)
    model.build(input_shape, np.random.default_rng(seed))
    x = np.random.default_rng(seed + 1).standard_normal((3, *input_shape))
    errors = check_model(model, x, t, max_entries=40)
    worst = max(errors, key=errors.get)
    assert errors[worst] < GRADCHECK_TOL, f"seed={seed}: {worst} {errors[worst]:.2e}"


def test_cnn_gradcheck(seed):
    config = {
        "loss": "softmax_cross_entropy",
        "layers": [
            {"type": "conv2d", "filters": 3, "kernel": 3, "padding": "same"},
            {"type": "batchnorm"},
            {"type": "tanh"},
            {"type": "maxpool2d", "size": 2},
            {"type": "conv2d", "filters": 4, "kernel": 2, "stride": 2},
            {"type": "avgpool2d", "size": 2, "stride": 1},
            {"type": "flatten"},
            {"type": "dense", "units": 5},
        ],
    }
    assert_model_gradcheck(config, (2, 9, 9), np.array([1, 4, 0]), seed)


def test_lstm_network_gradcheck(seed):
    config = {
        "loss": "mse",
        "layers": [
            {"type": "lstm", "units": 5, "return_sequences": True},
            {"type": "rnn", "units": 4},
            {"type": "dense", "units": 2},
        ],
    }
    t = np.random.default_rng(seed).standard_normal((3, 2))
    assert_model_gradcheck(config, (6, 3), t, seed)


def test_sequence_labelling_network_gradcheck(seed):
    config = {
        "loss": "softmax_cross_entropy",
        "layers": [
            {"type": "lstm", "units": 6, "return_sequences": True},
            {"type": "dense", "units": 4},
        ],
    }
    t = np.random.default_rng(seed).integers(0, 4, (3, 5))
    assert_model_gradcheck(config, (5, 3), t, seed)


def test_summary_counts_parameters_of_a_small_cnn(tmp_path):
    path = tmp_path / "cnn.toml"
    path.write_text(
        '[data]\nname = "digits"\n[model]\nloss = "softmax_cross_entropy"\nlayers = [\n'
        '  { type = "conv2d", filters = 4, kernel = 3, padding = "same" },\n'
        '  { type = "relu" },\n  { type = "maxpool2d", size = 2 },\n'
        '  { type = "conv2d", filters = 6, kernel = 3 },\n  { type = "flatten" },\n'
        '  { type = "dense", units = 10 },\n]\n'
    )
    result = run_tuidl("summary", str(path), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = {
        line.split()[1]: line for line in result.stdout.splitlines() if "_" in line and "│" in line
    }
    # conv 1->4, 3x3: 4*1*9 + 4 = 40; output (4, 8, 8); pool -> (4, 4, 4)
    assert "(4, 8, 8)" in lines["conv2d_0"] and " 40 " in lines["conv2d_0"]
    # conv 4->6, 3x3 valid: 6*4*9 + 6 = 222; output (6, 2, 2) -> flatten 24
    assert "(6, 2, 2)" in lines["conv2d_1"] and " 222 " in lines["conv2d_1"]
    # dense 24->10: 250
    assert "(10,)" in lines["dense_0"] and " 250 " in lines["dense_0"]
    assert "512" in result.stdout.splitlines()[-2]  # total 40 + 222 + 250
