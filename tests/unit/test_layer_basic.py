"""Dense, flatten, activations, dropout, batchnorm, maxout: shapes, validation, gradchecks.

Gradient checks run in float64 (central differences, h = 1e-5) with inputs kept away from the
kinks of relu-like functions and from ties inside maxout groups.
"""

import numpy as np
import pytest
from layertools import assert_gradcheck, built

from tuidl.errors import ConfigError
from tuidl.layers import (
    ELU,
    BatchNorm,
    Dense,
    Dropout,
    Flatten,
    LeakyReLU,
    Maxout,
    PReLU,
    ReLU,
    Sigmoid,
    Tanh,
    make_layer,
)


def off_kinks(rng: np.random.Generator, shape: tuple[int, ...], margin: float = 0.1) -> np.ndarray:
    """Normal samples pushed at least `margin` away from 0."""
    x = rng.standard_normal(shape)
    return np.sign(x) * (margin + np.abs(x))


@pytest.mark.parametrize(
    "make, input_shape",
    [
        (lambda: Dense(units=7), (5,)),
        (lambda: Dense(units=1), (1,)),
        (lambda: Dense(units=4), (6, 3)),  # time-distributed over steps
        (lambda: ReLU(), (9,)),
        (lambda: LeakyReLU(alpha=0.1), (3, 4, 5)),
        (lambda: PReLU(), (6,)),
        (lambda: PReLU(), (3, 4, 5)),
        (lambda: PReLU(), (4, 3)),
        (lambda: ELU(alpha=0.7), (2, 3, 3)),
        (lambda: Sigmoid(), (8,)),
        (lambda: Tanh(), (4, 5)),
        (lambda: Flatten(), (2, 3, 4)),
        (lambda: BatchNorm(), (6,)),
        (lambda: BatchNorm(), (3, 5, 4)),
        (lambda: BatchNorm(), (5, 4)),
        (lambda: Dropout(rate=0.3), (10,)),
    ],
)
@pytest.mark.parametrize("batch", [1, 4])
def test_layer_gradients_match_central_differences(make, input_shape, batch, seed):
    layer = built(make(), input_shape, seed, "he", np.float64)
    x = off_kinks(np.random.default_rng(seed + 1), (batch, *input_shape))
    y = layer.forward(x, train=True)
    assert y.shape == (batch, *layer.output_shape)
    assert y.dtype == np.float64
    assert_gradcheck([layer], x, seed)


@pytest.mark.parametrize("input_shape", [(6,), (4, 3, 3), (5, 6)])
def test_maxout_gradients_and_shapes(input_shape, seed):
    layer = built(Maxout(pieces=2), input_shape, seed, "he", np.float64)
    rng = np.random.default_rng(seed)
    # a permutation keeps every group's maximum unique, so the gradient is defined
    x = rng.permutation(4 * int(np.prod(input_shape))).reshape(4, *input_shape) / 7.0
    expected = (
        (input_shape[0] // 2, *input_shape[1:])
        if len(input_shape) == 3
        else (
            *input_shape[:-1],
            input_shape[-1] // 2,
        )
    )
    assert layer.output_shape == expected
    assert_gradcheck([layer], x, seed)


def test_maxout_picks_group_maximum():
    layer = Maxout(pieces=3)
    layer.build((6,), np.random.default_rng(0))
    x = np.array([[1.0, 5.0, 2.0, -1.0, -3.0, -2.0]])
    np.testing.assert_array_equal(layer.forward(x, train=True), [[5.0, -1.0]])


def test_dense_forward_matches_matmul(seed):
    rng = np.random.default_rng(seed)
    layer = Dense(units=3)
    layer.build((4,), rng)
    layer.params["b"][...] = rng.standard_normal(3)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    expected = x.astype(np.float64) @ layer.params["W"] + layer.params["b"]
    y = layer.forward(x, train=False)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6 * 4, err_msg=f"seed={seed}")


def test_dropout_is_identity_at_eval_and_scales_in_training(seed):
    layer = Dropout(rate=0.25)
    layer.build((1000,), np.random.default_rng(seed))
    x = np.ones((20, 1000), np.float32)
    assert layer.forward(x, train=False) is x
    y = layer.forward(x, train=True)
    kept = y != 0
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert abs(kept.mean() - 0.75) < 0.02, f"seed={seed}"


def test_dropout_masks_follow_the_seed():
    masks = []
    for _ in range(2):
        layer = Dropout(rate=0.5)
        layer.build((50,), np.random.default_rng(3))
        masks.append(layer.forward(np.ones((4, 50), np.float32), train=True))
    np.testing.assert_array_equal(*masks)


def test_batchnorm_running_statistics_used_at_eval(seed):
    rng = np.random.default_rng(seed)
    layer = BatchNorm(momentum=0.0)  # running stats = last batch's
    layer.build((2, 3, 3), rng)
    x = (rng.standard_normal((8, 2, 3, 3)) * 3 + 5).astype(np.float32)
    train_out = layer.forward(x, train=True)
    np.testing.assert_allclose(train_out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(layer.running_mean, x.mean(axis=(0, 2, 3)), rtol=1e-5)
    eval_out = layer.forward(x, train=False)
    np.testing.assert_allclose(eval_out, train_out, rtol=1e-4, atol=1e-4)


def test_batchnorm_eval_backward_is_affine(seed):
    layer = built(BatchNorm(), (4,), seed, "he", np.float64)
    x = np.random.default_rng(seed).standard_normal((3, 4))
    layer.forward(x, train=False)
    dy = np.ones((3, 4))
    expected = layer.params["gamma"] / np.sqrt(layer.running_var + layer.eps)
    np.testing.assert_allclose(layer.backward(dy), dy * expected)


def test_first_layer_skips_input_gradient():
    layer = Dense(units=2)
    layer.build((3,), np.random.default_rng(0))
    layer.needs_input_grad = False
    layer.forward(np.ones((2, 3), np.float32), train=True)
    assert layer.backward(np.ones((2, 2), np.float32)) is None
    np.testing.assert_array_equal(layer.grads["b"], [2, 2])


def test_backward_leaves_dy_untouched(seed):
    rng = np.random.default_rng(seed)
    for layer, shape in [
        (Dense(units=3), (4,)),
        (ReLU(), (4,)),
        (BatchNorm(), (4,)),
        (Maxout(pieces=2), (4,)),
        (PReLU(), (4,)),
        (Dropout(rate=0.5), (4,)),
    ]:
        layer.build(shape, rng)
        x = rng.standard_normal((5, 4)).astype(np.float32)
        y = layer.forward(x, train=True)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        before = dy.copy()
        layer.backward(dy)
        np.testing.assert_array_equal(dy, before, err_msg=layer.type)


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"type": "dense"}, "missing key 'units'"),
        ({"type": "dense", "units": 0}, "units must be a positive integer, got 0"),
        ({"type": "dense", "units": 2.5}, "got 2.5"),
        ({"type": "dense", "unit": 3}, "did you mean 'units'"),
        ({"type": "dense", "units": 3, "init": "glorot"}, "unknown init 'glorot'"),
        ({"type": "dens", "units": 3}, "did you mean 'dense'"),
        ({"type": "relu", "alpha": 1}, "relu takes no keys"),
        ({"type": "dropout", "rate": 1.0}, "rate must be a number in [0, 1), got 1.0"),
        ({"type": "leaky_relu", "alpha": "big"}, "got 'big'"),
        ({"type": "maxout", "pieces": -2}, "got -2"),
        ({"units": 3}, "needs a table with a type"),
    ],
)
def test_bad_layer_tables_name_the_layer_and_the_fix(spec, message):
    with pytest.raises(ConfigError) as error:
        make_layer(spec, 3)
    assert str(error.value).startswith("layer 3")
    assert message in str(error.value)


def test_dense_rejects_images_with_a_hint():
    with pytest.raises(ValueError, match="add a flatten layer"):
        Dense(units=3).build((1, 4, 4), np.random.default_rng(0))


def test_get_config_round_trips_through_make_layer():
    for spec in [
        {"type": "dense", "units": 5, "init": "xavier"},
        {"type": "dropout", "rate": 0.1},
        {"type": "leaky_relu", "alpha": 0.2},
        {"type": "maxout", "pieces": 3},
        {"type": "batchnorm", "momentum": 0.8, "eps": 1e-3},
        {"type": "flatten"},
    ]:
        layer = make_layer(spec, 0)
        assert {"type": layer.type, **layer.get_config()} == spec


@pytest.mark.parametrize(
    "spec, input_shape",
    [
        ({"type": "dense", "units": 7}, (5,)),
        ({"type": "dense", "units": 4}, (6, 3)),
        ({"type": "conv2d", "filters": 4, "kernel": [3, 2]}, (3, 8, 8)),
        ({"type": "lstm", "units": 5}, (6, 3)),
        ({"type": "rnn", "units": 5, "return_sequences": True}, (6, 3)),
        ({"type": "rbm", "units": 6}, (5,)),
        ({"type": "batchnorm"}, (3, 8, 8)),
        ({"type": "batchnorm"}, (5,)),
        ({"type": "prelu"}, (3, 8, 8)),
        ({"type": "prelu"}, (6, 4)),
        ({"type": "maxpool2d"}, (3, 8, 8)),
        ({"type": "maxout"}, (6,)),
        ({"type": "dropout"}, (5,)),
        ({"type": "flatten"}, (3, 8, 8)),
        ({"type": "softmax"}, (5,)),
    ],
)
def test_param_count_is_what_build_makes(spec, input_shape):
    """The model checks memory with `param_count` before building: it must not drift."""
    layer = make_layer(spec, 0)
    expected = layer.param_count(input_shape)
    built(layer, input_shape)
    assert expected == sum(value.size for value in layer.params.values())
    assert layer.activation_floats(input_shape) >= 2 * np.prod(layer.output_shape)


def test_param_count_of_a_huge_layer_needs_no_memory():
    assert Dense(units=10**12).param_count((10**6,)) == (10**6 + 1) * 10**12
