"""Whole training runs judged by what they reach, with fixed seeds: the presets teach what they
claim (issue: headless training), and a small CNN learns a 1,000-image slice of MNIST. The
slow presets' runs on their own seed (0) are the session's `healthy_runs` (`presetruns`),
which the alert calibration judges too."""

from __future__ import annotations

import pytest
from realdata import DATA, needs_mnist

from tuidl.datasets import Dataset, load_dataset
from tuidl.experiment import Experiment
from tuidl.presets import preset
from tuidl.trainer import Trainer

LENET = preset("mnist-lenet").model  # the preset's network, trained on 1/8 of its data


def test_default_spiral_mlp_learns_the_spiral():
    trainer = Trainer(preset("spiral-mlp"))
    trainer.fit()
    ds = trainer.dataset
    assert trainer.evaluate(ds.x_val, ds.y_val, "val")["val_acc"] > 0.9


def test_digits_dbn_pretraining_beats_the_same_net_without_it():
    accuracies = []
    for epochs in (10, 0):
        overrides = [f"model.layers.{i}.pretrain_epochs={epochs}" for i in (1, 2)]
        trainer = Trainer(preset("digits-dbn").with_overrides(overrides))
        trainer.fit()
        ds = trainer.dataset
        accuracies.append(trainer.evaluate(ds.x_val, ds.y_val, "val")["val_acc"])
    pretrained, plain = accuracies
    assert pretrained > 0.92 and pretrained > plain + 0.03, accuracies  # measured 94.4%, 87.7%


@pytest.mark.slow
def test_lstm_solves_the_adding_problem_and_a_plain_rnn_does_not(healthy_runs):
    assert preset("adding-lstm").seed == preset("adding-rnn").seed == 0
    rnn = Trainer(preset("adding-rnn"))
    rnn.fit()
    lstm_mse = healthy_runs["adding-lstm", 0].val["val_loss"]
    rnn_mse = rnn.evaluate(rnn.dataset.x_val, rnn.dataset.y_val, "val")["val_loss"]
    assert lstm_mse < 0.01, lstm_mse
    assert rnn_mse > 0.1, rnn_mse  # predicting the mean gives 1/6


@needs_mnist
@pytest.mark.slow
def test_mnist_lenet_reaches_98_percent_within_10_epochs(healthy_runs):
    assert preset("mnist-lenet").seed == 0
    accuracies = [epoch["val_acc"] for epoch in healthy_runs["mnist-lenet", 0].epochs]
    assert len(accuracies) == 10 and max(accuracies) >= 0.98, accuracies


@needs_mnist
def test_small_cnn_learns_a_1000_image_slice_of_mnist():
    full = load_dataset("mnist", data_dir=str(DATA))
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
