"""Conv2D layer: keys, shape inference, padding modes, init, and float64 gradient checks.

Gradient checks run in float64 through `tuidl.gradcheck.check_layers` (central differences,
h = 1e-5): a convolution is linear in x and in W, so the only error is rounding, far below 1e-6.
Layers built without an init get the default, "he" (test_params_and_init).
"""

import numpy as np
import pytest
from layertools import assert_gradcheck, built

from tuidl.layers.conv import Conv2D, same_padding


@pytest.mark.parametrize(
    "size, kernel, stride, expected",
    [
        (7, 3, 2, (1, 1)),  # out 4: needs 2
        (10, 3, 2, (0, 1)),  # out 5: needs 1, the odd pixel goes after
        (8, 4, 1, (1, 2)),  # even kernel
        (28, 5, 1, (2, 2)),
        (5, 1, 1, (0, 0)),
        (6, 1, 4, (0, 0)),  # out 2 already covered
        (7, 3, 3, (1, 1)),
    ],
)
def test_same_padding_follows_tensorflow(size, kernel, stride, expected):
    assert same_padding(size, kernel, stride) == expected
    before, after = expected
    assert (size + before + after - kernel) // stride + 1 == -(-size // stride)


@pytest.mark.parametrize(
    "keys, input_shape, output_shape",
    [
        ({"filters": 8, "kernel": 5}, (1, 28, 28), (8, 24, 24)),
        ({"filters": 8, "kernel": 5, "padding": "same"}, (1, 28, 28), (8, 28, 28)),
        ({"filters": 4, "kernel": 3, "stride": 2, "padding": "same"}, (3, 7, 10), (4, 4, 5)),
        ({"filters": 4, "kernel": 3, "stride": 2, "padding": "same"}, (3, 8, 8), (4, 4, 4)),
        ({"filters": 2, "kernel": 4, "padding": "same"}, (2, 8, 9), (2, 8, 9)),
        ({"filters": 3, "kernel": [3, 5], "padding": 1}, (3, 7, 10), (3, 7, 8)),
        ({"filters": 3, "kernel": 3, "stride": 3, "padding": 2}, (3, 7, 10), (3, 3, 4)),
        ({"filters": 5, "kernel": 3, "stride": 2}, (1, 8, 9), (5, 3, 4)),
        ({"filters": 1, "kernel": 1}, (1, 1, 1), (1, 1, 1)),
    ],
)
@pytest.mark.parametrize("batch", [1, 3])
def test_output_shape_matches_forward(keys, input_shape, output_shape, batch, seed):
    layer = built(Conv2D(**keys), input_shape, seed)
    assert layer.output_shape == output_shape
    x = np.random.default_rng(seed).standard_normal((batch, *input_shape)).astype(np.float32)
    y = layer.forward(x, train=True)
    assert y.shape == (batch, *output_shape) and y.dtype == np.float32
    np.testing.assert_array_equal(layer.forward(x, train=False), y)


def test_params_and_init(seed):
    layer = built(Conv2D(filters=64, kernel=3), (32, 9, 9), seed, init="xavier")
    W, b = layer.params["W"], layer.params["b"]
    assert W.shape == (64, 32, 3, 3) and W.dtype == np.float32
    assert b.shape == (64,) and not b.any() and b.dtype == np.float32
    fan_in, fan_out = 32 * 9, 64 * 9
    assert W.std() == pytest.approx(np.sqrt(2 / (fan_in + fan_out)), rel=0.05)  # the model's init
    assert set(layer.grads) == {"W", "b"}
    he = built(Conv2D(filters=64, kernel=3), (32, 9, 9), seed, init=None).params["W"]
    assert he.std() == pytest.approx(np.sqrt(2 / fan_in), rel=0.05)  # the default, "he"
    own = built(Conv2D(filters=64, kernel=3, init="lecun"), (32, 9, 9), seed, "xavier")
    assert own.params["W"].std() == pytest.approx(np.sqrt(1 / fan_in), rel=0.05)  # its own key


@pytest.mark.parametrize(
    "keys",
    [
        {"filters": 8, "kernel": 5},
        {"filters": 4, "kernel": [3, 5], "stride": 2, "padding": "same"},
        {"filters": 4, "kernel": 3, "padding": 2, "init": "xavier"},
    ],
)
def test_config_round_trips(keys):
    layer = Conv2D(**keys)
    config = layer.get_config()
    assert config == {"stride": 1, "padding": "valid", **keys}
    assert Conv2D(**config).get_config() == config


@pytest.mark.parametrize(
    "keys, message",
    [
        ({"filters": 0, "kernel": 3}, "filters must be a positive integer, got 0"),
        ({"filters": "8", "kernel": 3}, "filters must be a positive integer, got '8'"),
        ({"filters": 8, "kernel": 0}, "kernel must be a positive integer, got 0"),
        ({"filters": 8, "kernel": True}, "kernel must be a positive integer, got True"),
        ({"filters": 8, "kernel": [3]}, r"kernel must be .*\[height, width\].*got \[3\]"),
        ({"filters": 8, "kernel": [3, 0]}, r"got \[3, 0\]"),
        ({"filters": 8, "kernel": 3, "stride": 0}, "stride must be a positive integer, got 0"),
        ({"filters": 8, "kernel": 3, "padding": "full"}, r"padding must be .*got 'full'"),
        ({"filters": 8, "kernel": 3, "padding": -1}, r"padding must be .*got -1"),
        ({"filters": 8, "kernel": 3, "padding": 1.5}, r"padding must be .*got 1.5"),
        ({"filters": 8, "kernel": 3, "init": "bogus"}, "unknown init 'bogus'"),
    ],
)
def test_rejects_bad_keys(keys, message):
    with pytest.raises(ValueError, match=message):
        Conv2D(**keys)


@pytest.mark.parametrize(
    "keys, input_shape, message",
    [
        ({"filters": 8, "kernel": 3}, (28, 28), r"\(channels, height, width\).*got \(28, 28\)"),
        ({"filters": 8, "kernel": 3}, (784,), r"got \(784,\)"),
        ({"filters": 8, "kernel": 5}, (1, 3, 3), r"5x5 does not fit input \(1, 3, 3\)"),
        ({"filters": 8, "kernel": [2, 4]}, (1, 6, 3), r"output would be \(8, 5, 0\)"),
    ],
)
def test_build_rejects_shapes_it_cannot_take(keys, input_shape, message, seed):
    with pytest.raises(ValueError, match=message):
        built(Conv2D(**keys), input_shape, seed)


GRADCHECK_CASES = {  # keys, input shape (C, H, W), batch
    "3x3_same": ({"filters": 3, "kernel": 3, "padding": "same"}, (2, 5, 6), 2),
    "batch1_valid_nonsquare": ({"filters": 2, "kernel": [3, 2]}, (3, 6, 5), 1),
    "stride2_same": ({"filters": 3, "kernel": 3, "stride": 2, "padding": "same"}, (2, 7, 6), 2),
    "stride2_valid": ({"filters": 2, "kernel": 2, "stride": 2}, (1, 7, 7), 2),
    "stride3_int_padding": ({"filters": 2, "kernel": 3, "stride": 3, "padding": 2}, (2, 5, 7), 1),
    "1x1": ({"filters": 3, "kernel": 1}, (4, 3, 3), 3),
    "5x5_same_1ch": ({"filters": 2, "kernel": 5, "padding": "same"}, (1, 6, 6), 2),
}


@pytest.mark.parametrize(
    "keys, input_shape, batch", [pytest.param(*c, id=k) for k, c in GRADCHECK_CASES.items()]
)
def test_gradients_match_central_differences(keys, input_shape, batch, seed):
    layer = built(Conv2D(**keys), input_shape, seed)
    rng = np.random.default_rng(seed + 1)
    layer.params["b"] = rng.standard_normal(layer.params["b"].shape).astype(np.float32)
    layer.astype(np.float64)
    x = rng.standard_normal((batch, *input_shape))
    assert layer.forward(x, train=True).dtype == np.float64
    errors = assert_gradcheck([layer], x, seed)
    assert set(errors) == {"input", "conv2d.W", "conv2d.b"}
    assert layer.grads["W"].dtype == np.float64


@pytest.mark.parametrize("stride", [1, 2])
def test_first_layer_skips_dx_but_keeps_param_grads(stride, seed):
    layer = built(Conv2D(filters=4, kernel=3, stride=stride, padding="same"), (2, 7, 8), seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 2, 7, 8)).astype(np.float32)
    dy = rng.standard_normal((3, *layer.output_shape)).astype(np.float32)
    dy_before = dy.copy()
    layer.forward(x, train=True)
    dx = layer.backward(dy)
    assert dx.shape == x.shape and dx.dtype == np.float32
    grads = {key: value.copy() for key, value in layer.grads.items()}
    layer.needs_input_grad = False
    layer.forward(x, train=True)
    assert layer.backward(dy) is None
    for key, value in grads.items():
        np.testing.assert_array_equal(layer.grads[key], value, err_msg=f"seed={seed}: {key}")
    np.testing.assert_array_equal(dy, dy_before)  # backward never writes into dy


def test_backward_after_an_evaluation_forward(seed):
    layer = built(Conv2D(filters=2, kernel=3), (1, 5, 5), seed)
    x = np.random.default_rng(seed).standard_normal((2, 1, 5, 5)).astype(np.float32)
    y = layer.forward(x, train=True)
    layer.backward(np.ones_like(y))
    grads = {key: value.copy() for key, value in layer.grads.items()}
    layer.forward(x, train=False)  # keeps no workspace; backward recomputes it
    layer.backward(np.ones_like(y))
    for key, value in grads.items():
        np.testing.assert_allclose(layer.grads[key], value, rtol=1e-6, err_msg=f"seed={seed}")
