"""MaxPool2D and AvgPool2D layers: keys, shapes, and float64 gradient checks.

Max pooling is checked on inputs with distinct values 0.1 apart inside every window, so the
central-difference step (1e-5) never changes which element is the maximum.
"""

import numpy as np
import pytest
from layertools import assert_gradcheck, built

from tuidl.layers.conv import Conv2D
from tuidl.layers.pool import AvgPool2D, MaxPool2D

POOLS = [MaxPool2D, AvgPool2D]


def spaced(rng, shape):
    """Distinct values, 0.1 apart, in random order."""
    return 0.1 * (rng.permutation(int(np.prod(shape))).reshape(shape) - np.prod(shape) / 2)


@pytest.mark.parametrize("cls", POOLS)
@pytest.mark.parametrize(
    "keys, input_shape, output_shape",
    [
        ({}, (16, 28, 28), (16, 14, 14)),  # size 2, stride = size
        ({"size": 2}, (3, 7, 10), (3, 3, 5)),  # odd edges dropped
        ({"size": 3, "stride": 2}, (2, 9, 11), (2, 4, 5)),  # overlapping
        ({"size": 2, "stride": 3}, (1, 10, 11), (1, 3, 4)),  # gaps
        ({"size": 3}, (4, 3, 3), (4, 1, 1)),
    ],
)
@pytest.mark.parametrize("batch", [1, 2])
def test_output_shape_matches_forward(cls, keys, input_shape, output_shape, batch, seed):
    layer = built(cls(**keys), input_shape, seed)
    assert layer.output_shape == output_shape
    assert layer.params == {} and layer.grads == {}
    x = np.random.default_rng(seed).standard_normal((batch, *input_shape)).astype(np.float32)
    y = layer.forward(x, train=True)
    assert y.shape == (batch, *output_shape) and y.dtype == np.float32
    dx = layer.backward(np.ones_like(y))
    assert dx.shape == x.shape and dx.dtype == np.float32


@pytest.mark.parametrize("cls", POOLS)
def test_keys_and_config(cls):
    assert cls().get_config() == {"size": 2}
    assert cls().stride == 2 and cls(size=3).stride == 3
    assert cls(size=3, stride=1).get_config() == {"size": 3, "stride": 1}
    assert cls(**cls(size=3, stride=1).get_config()).stride == 1


@pytest.mark.parametrize("cls", POOLS)
@pytest.mark.parametrize(
    "keys, message",
    [
        ({"size": 0}, "size must be a positive integer, got 0"),
        ({"size": 2.0}, "size must be a positive integer, got 2.0"),
        ({"size": "2"}, "size must be a positive integer, got '2'"),
        ({"stride": 0}, "stride must be a positive integer, got 0"),
        ({"stride": False}, "stride must be a positive integer, got False"),
    ],
)
def test_rejects_bad_keys(cls, keys, message):
    with pytest.raises(ValueError, match=message):
        cls(**keys)


@pytest.mark.parametrize("cls", POOLS)
@pytest.mark.parametrize(
    "keys, input_shape, message",
    [
        ({}, (28, 28), r"\(channels, height, width\).*got \(28, 28\)"),
        ({"size": 4}, (2, 3, 8), r"4x4 does not fit input \(2, 3, 8\).*\(2, 0, 2\)"),
    ],
)
def test_build_rejects_shapes_it_cannot_take(cls, keys, input_shape, message, seed):
    with pytest.raises(ValueError, match=message):
        built(cls(**keys), input_shape, seed)


@pytest.mark.parametrize("cls", POOLS)
@pytest.mark.parametrize(
    "keys, input_shape, batch",
    [
        ({}, (2, 6, 6), 2),
        ({}, (3, 7, 5), 1),  # dropped edges
        ({"size": 3, "stride": 2}, (2, 7, 9), 2),  # overlapping windows
        ({"size": 2, "stride": 3}, (1, 8, 8), 1),  # gaps
    ],
)
def test_gradients_match_central_differences(cls, keys, input_shape, batch, seed):
    layer = built(cls(**keys), input_shape, seed, dtype=np.float64)
    x = spaced(np.random.default_rng(seed), (batch, *input_shape))
    assert layer.forward(x, train=True).dtype == np.float64
    assert set(assert_gradcheck([layer], x, seed)) == {"input"}  # no parameters


def test_conv_then_pools_gradcheck(seed):
    rng = np.random.default_rng(seed)
    conv = built(Conv2D(filters=3, kernel=3, padding="same"), (2, 6, 8), seed, "he", np.float64)
    pool = built(MaxPool2D(), conv.output_shape, seed, dtype=np.float64)
    avg = built(AvgPool2D(size=3, stride=1), pool.output_shape, seed, dtype=np.float64)
    conv.name, pool.name, avg.name = "conv2d_0", "maxpool2d_0", "avgpool2d_0"
    for _ in range(100):  # an input whose max windows have no near-tie h = 1e-5 could swap
        x = rng.standard_normal((2, 2, 6, 8))
        y = conv.forward(x, train=True).reshape(2, 3, 3, 2, 4, 2).transpose(0, 1, 2, 4, 3, 5)
        top2 = np.sort(y.reshape(2, 3, 3, 4, 4), axis=-1)[..., -2:]
        if np.min(top2[..., 1] - top2[..., 0]) > 1e-3:
            break
    assert_gradcheck([conv, pool, avg], x, seed)


@pytest.mark.parametrize("cls", POOLS)
def test_first_layer_returns_no_input_gradient(cls, seed):
    layer = built(cls(), (2, 4, 4), seed)
    x = np.random.default_rng(seed).standard_normal((2, 2, 4, 4)).astype(np.float32)
    y = layer.forward(x, train=True)
    layer.needs_input_grad = False
    assert layer.backward(np.ones_like(y)) is None
