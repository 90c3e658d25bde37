"""The order training runs a model's layers in: a relu that feeds a max pool runs after it
(`pool_before_relu`), and the numbers are those of the declared order."""

import numpy as np
from layertools import assert_model_gradcheck, built_model

from tuidl.model import pool_before_relu

CNN = {
    "loss": "softmax_cross_entropy",
    "layers": [
        {"type": "relu"},  # a first layer stays first: nothing upstream needs its dx
        {"type": "conv2d", "filters": 4, "kernel": 3},
        {"type": "relu"},
        {"type": "maxpool2d", "size": 2},
        {"type": "conv2d", "filters": 5, "kernel": 3, "padding": "same"},
        {"type": "relu"},
        {"type": "maxpool2d", "size": 2, "stride": 1},  # overlapping windows
        {"type": "maxpool2d", "size": 2},
        {"type": "leaky_relu"},
        {"type": "avgpool2d", "size": 1},  # only max pooling commutes with relu
        {"type": "flatten"},
        {"type": "dense", "units": 3},
    ],
}
INPUT = (2, 11, 13)  # odd sides: the pools drop edges


def test_each_relu_before_a_max_pool_moves_after_it():
    model = built_model(CNN, INPUT)
    names = [layer.name for layer in model.run_layers]
    assert names == [
        "relu_0", "conv2d_0", "maxpool2d_0", "relu_1", "conv2d_1", "maxpool2d_1",
        "maxpool2d_2", "relu_2", "leaky_relu_0", "avgpool2d_0", "flatten_0", "dense_0",
    ]  # fmt: skip
    declared = [layer.name for layer in model.layers]
    assert [layer.name for layer in model.logit_layers] == declared, "export and probes keep it"
    assert pool_before_relu([]) == []


def declared(seed):
    """The model `built_model(CNN, INPUT, seed)` running its layers in the declared order."""
    twin = built_model(CNN, INPUT, seed)
    twin.run_layers = list(twin.logit_layers)
    twin._run_all = list(twin.layers)
    return twin


def test_training_gives_the_numbers_of_the_declared_order(seed):
    rng = np.random.default_rng(seed)
    model = built_model(CNN, INPUT, seed)
    twin = declared(seed)
    for step in range(4):
        x = rng.standard_normal((6, *INPUT)).astype(np.float32)
        t = rng.integers(0, 3, 6)
        losses = [m.loss_and_grads(x, t) for m in (model, twin)]
        assert losses[0] == losses[1], f"seed={seed} step {step}"
        np.testing.assert_array_equal(model.flat_grads, twin.flat_grads, f"seed={seed}")
        for m in (model, twin):
            m.flat_params -= 0.1 * m.flat_grads
    # the test saw windows whose maximum is not positive (zero gradient in either order)
    conv = model.layers[1].forward(x, train=False)
    windows = conv[:, :, :8, :10].reshape(6, 4, 4, 2, 5, 2).max(axis=(3, 5))
    assert (windows <= 0).any() and (windows > 0).any()
    np.testing.assert_array_equal(model.forward(x), twin.forward(x))
    np.testing.assert_array_equal(model.predict(x, logits=True), twin.predict(x, logits=True))


def test_a_relu_shows_its_own_output_to_the_probes(seed):
    model = built_model(CNN, INPUT, seed)
    x = np.random.default_rng(seed).standard_normal((3, *INPUT)).astype(np.float32)
    relu = model.layers[2]
    maps = model.forward_to(x, relu)
    assert maps.shape == (3, 4, 9, 11) and maps.min() == 0


def test_whole_model_gradcheck_in_the_run_order(seed):
    model = built_model(CNN, INPUT, seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, *INPUT))
    errors = assert_model_gradcheck(model, x, rng.integers(0, 3, 3), seed)
    assert set(errors) == {"input", *model.params}
