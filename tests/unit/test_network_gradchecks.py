"""Whole-network gradient checks of a CNN, an LSTM net and a sequence-labelling net (float64
central differences through every layer and the loss)."""

import numpy as np
from layertools import assert_model_gradcheck, built_model


def assert_network_gradcheck(config, input_shape, t, seed):
    """The network of `config`, built from `seed`, on a batch of 3 standard normal inputs."""
    model = built_model(config, input_shape, seed)
    x = np.random.default_rng(seed + 1).standard_normal((3, *input_shape))
    assert_model_gradcheck(model, x, t, seed, max_entries=40)


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
    assert_network_gradcheck(config, (2, 9, 9), np.array([1, 4, 0]), seed)


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
    assert_network_gradcheck(config, (6, 3), t, seed)


def test_sequence_labelling_network_gradcheck(seed):
    config = {
        "loss": "softmax_cross_entropy",
        "layers": [
            {"type": "lstm", "units": 6, "return_sequences": True},
            {"type": "dense", "units": 4},
        ],
    }
    t = np.random.default_rng(seed).integers(0, 4, (3, 5))
    assert_network_gradcheck(config, (5, 3), t, seed)
