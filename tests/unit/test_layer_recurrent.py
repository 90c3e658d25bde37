"""LSTM and RNN layers: keys, shapes, initialization and float64 gradient checks.

The kernels themselves are checked against the numpy reference in test_kernel_lstm.py and
test_kernel_rnn.py; here backprop through the layers is checked against central differences.
"""

import numpy as np
import pytest
from layertools import assert_gradcheck, built

from tuidl.layers.recurrent import LSTM, RNN

GATES = {LSTM: 4, RNN: 1}


@pytest.mark.parametrize("cls", [LSTM, RNN])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize(
    "batch, steps, features, units",
    [(3, 4, 3, 5), (1, 5, 2, 3), (2, 1, 3, 4)],
    ids=["batch3", "batch1", "T1"],
)
def test_gradients_match_central_differences(
    cls, return_sequences, batch, steps, features, units, seed
):
    layer = built(cls(units=units, return_sequences=return_sequences), (steps, features), seed)
    layer.astype(np.float64)
    x = np.random.default_rng(seed + 1).standard_normal((batch, steps, features))
    y = layer.forward(x, train=True)
    assert y.shape == (batch, *layer.output_shape)
    assert y.dtype == np.float64
    errors = assert_gradcheck([layer], x, seed)
    assert set(errors) == {"input", f"{cls.type}.W_x", f"{cls.type}.W_h", f"{cls.type}.b"}


@pytest.mark.parametrize("first, second", [(LSTM, LSTM), (RNN, LSTM), (LSTM, RNN)])
def test_stacked_gradients_flow_through_the_whole_sequence(first, second, seed):
    # The lower layer returns sequences, so its backward gets a gradient on every step.
    lower = built(first(units=4, return_sequences=True), (5, 3), seed)
    upper = built(second(units=3), lower.output_shape, seed + 1)
    lower.name, upper.name = f"{first.type}_0", f"{second.type}_1"
    for layer in (lower, upper):
        layer.astype(np.float64)
    x = np.random.default_rng(seed + 2).standard_normal((2, 5, 3))
    assert_gradcheck([lower, upper], x, seed)


@pytest.mark.parametrize("cls", [LSTM, RNN])
def test_float32_in_float32_out_and_shapes(cls):
    layer = built(cls(units=6, return_sequences=True), (7, 3), 0)
    assert layer.output_shape == (7, 6)
    x = np.random.default_rng(1).standard_normal((4, 7, 3)).astype(np.float32)
    y = layer.forward(x, train=True)
    assert y.shape == (4, 7, 6) and y.dtype == np.float32
    dx = layer.backward(np.ones_like(y))
    assert dx.shape == x.shape and dx.dtype == np.float32
    g = GATES[cls]
    assert {k: v.shape for k, v in layer.params.items()} == {
        "W_x": (3, g * 6),
        "W_h": (6, g * 6),
        "b": (g * 6,),
    }
    for key, value in layer.params.items():
        assert value.dtype == np.float32
        assert layer.grads[key].shape == value.shape and layer.grads[key].dtype == np.float32


@pytest.mark.parametrize("cls", [LSTM, RNN])
def test_last_step_output_is_the_last_state_of_the_sequence(cls, seed):
    x = np.random.default_rng(seed).standard_normal((3, 6, 2)).astype(np.float32)
    last = built(cls(units=4), (6, 2), seed)
    full = built(cls(units=4, return_sequences=True), (6, 2), seed)
    assert last.output_shape == (4,)
    np.testing.assert_array_equal(last.forward(x, True), full.forward(x, True)[:, -1])
    dy = np.random.default_rng(seed + 1).standard_normal((3, 4)).astype(np.float32)
    dy_seq = np.zeros((3, 6, 4), np.float32)
    dy_seq[:, -1] = dy
    np.testing.assert_array_equal(last.backward(dy), full.backward(dy_seq))
    for key in last.grads:
        np.testing.assert_array_equal(last.grads[key], full.grads[key], err_msg=key)


@pytest.mark.parametrize("cls", [LSTM, RNN])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_backward_leaves_dy_alone_and_honours_needs_input_grad(cls, return_sequences, seed):
    layer = built(cls(units=3, return_sequences=return_sequences), (4, 2), seed)
    x = np.random.default_rng(seed).standard_normal((2, 4, 2)).astype(np.float32)
    y = layer.forward(x, train=True)
    dy = np.random.default_rng(seed + 1).standard_normal(y.shape).astype(np.float32)
    dy_copy = dy.copy()
    dx = layer.backward(dy)
    grads = {key: value.copy() for key, value in layer.grads.items()}
    np.testing.assert_array_equal(dy, dy_copy)
    assert dx.shape == x.shape
    layer.needs_input_grad = False
    layer.forward(x, train=True)
    assert layer.backward(dy) is None
    for key, value in grads.items():
        np.testing.assert_array_equal(layer.grads[key], value, err_msg=key)


@pytest.mark.parametrize("cls", [LSTM, RNN])
def test_repeated_batches_give_the_results_of_a_fresh_layer(cls, seed):
    # The layer hands its previous cache to the kernel to overwrite; a smaller last batch
    # must not see stale values.
    rng = np.random.default_rng(seed)
    batches = [rng.standard_normal((n, 5, 3)).astype(np.float32) for n in (4, 4, 2)]
    layer = built(cls(units=6, return_sequences=True), (5, 3), seed)
    for x in batches:
        fresh = built(cls(units=6, return_sequences=True), (5, 3), seed)
        y, y_fresh = layer.forward(x, train=True), fresh.forward(x, train=True)
        np.testing.assert_array_equal(y, y_fresh)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        np.testing.assert_array_equal(layer.backward(dy), fresh.backward(dy))
        for key in layer.grads:
            np.testing.assert_array_equal(layer.grads[key], fresh.grads[key], err_msg=key)


def test_lstm_init_forget_bias_one_orthogonal_recurrent_blocks_fans_per_gate():
    D, H = 5, 7
    layer = built(LSTM(units=H), (3, D), 0)
    b = layer.params["b"]
    np.testing.assert_array_equal(b[H : 2 * H], 1.0)  # Jozefowicz et al. 2015
    np.testing.assert_array_equal(np.delete(b, np.s_[H : 2 * H]), 0.0)
    W_h = layer.params["W_h"].astype(np.float64)
    blocks = [W_h[:, k * H : (k + 1) * H] for k in range(4)]
    for block in blocks:
        np.testing.assert_allclose(block.T @ block, np.eye(H), atol=1e-6)
    assert not np.allclose(blocks[0], blocks[1]), "each gate draws its own block"
    limit = np.sqrt(6 / (D + H))  # xavier_uniform with fan_in = D, fan_out = H per gate
    W_x = layer.params["W_x"]
    assert np.abs(W_x).max() <= limit
    assert np.abs(W_x).max() > 0.8 * limit, "fan_out is H per gate, not 4H"


def test_rnn_init_zero_bias_orthogonal_recurrence():
    layer = built(RNN(units=6), (3, 4), 0)
    np.testing.assert_array_equal(layer.params["b"], 0.0)
    W_h = layer.params["W_h"].astype(np.float64)
    np.testing.assert_allclose(W_h.T @ W_h, np.eye(6), atol=1e-6)


@pytest.mark.parametrize("cls", [LSTM, RNN])
def test_init_key_wins_over_the_model_init(cls):
    D, H = 40, 3
    own = built(cls(units=H, init="gaussian"), (2, D), 0, init="he_uniform")
    model = built(cls(units=H), (2, D), 0, init="he_uniform")
    default = built(cls(units=H), (2, D), 0)
    assert np.std(own.params["W_x"]) < 0.02  # gaussian: std 0.01
    he_limit = np.sqrt(6 / D)
    assert 0.8 * he_limit < np.abs(model.params["W_x"]).max() <= he_limit
    xavier_limit = np.sqrt(6 / (D + H))
    assert 0.8 * xavier_limit < np.abs(default.params["W_x"]).max() <= xavier_limit


@pytest.mark.parametrize("cls", [LSTM, RNN])
def test_build_is_reproducible_from_the_rng(cls):
    a = built(cls(units=4), (3, 2), 7)
    b = built(cls(units=4), (3, 2), 7)
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])


@pytest.mark.parametrize("cls", [LSTM, RNN])
def test_config_round_trip(cls):
    layer = cls(units=5, return_sequences=True, init="orthogonal")
    assert layer.get_config() == {"units": 5, "return_sequences": True, "init": "orthogonal"}
    assert cls(**layer.get_config()).get_config() == layer.get_config()
    assert cls(units=2).get_config() == {"units": 2, "return_sequences": False}
    assert cls.type == {LSTM: "lstm", RNN: "rnn"}[cls]


@pytest.mark.parametrize("cls", [LSTM, RNN])
@pytest.mark.parametrize(
    "keys, match",
    [
        ({"units": 0}, "units must be a positive integer, got 0"),
        ({"units": "8"}, "units must be a positive integer, got '8'"),
        ({"units": True}, "got True"),
        (
            {"units": 4, "return_sequences": "yes"},
            "return_sequences must be true or false, got 'yes'",
        ),
        ({"units": 4, "init": "glorot"}, "unknown init 'glorot'; choose one of .*xavier_uniform"),
    ],
)
def test_bad_keys_are_rejected_quoting_the_value(cls, keys, match):
    with pytest.raises(ValueError, match=match):
        cls(**keys)


@pytest.mark.parametrize("cls", [LSTM, RNN])
@pytest.mark.parametrize(
    "input_shape, hint",
    [
        ((10,), r"got \(10,\); reshape each sample to \(steps, features\), e.g. \(10, 1\)"),
        ((1, 28, 28), r"got \(1, 28, 28\); .*image rows as steps: \(28, 28\)"),
        ((2, 3, 4, 5), r"got \(2, 3, 4, 5\); reshape each sample to \(steps, features\)"),
    ],
)
def test_wrong_input_shape_names_it_and_says_what_to_do(cls, input_shape, hint):
    with pytest.raises(
        ValueError, match=f"{cls.type} takes \\(steps, features\\) per sample, {hint}"
    ):
        cls(units=3).build(input_shape, np.random.default_rng(0))


@pytest.mark.parametrize("cls", [LSTM, RNN])
def test_forward_rejects_batches_that_do_not_fit(cls):
    layer = built(cls(units=3), (4, 2), 0)
    with pytest.raises(ValueError, match=r"per sample, got \(8,\)"):
        layer.forward(np.zeros((5, 8), np.float32), train=True)
    with pytest.raises(ValueError, match=r"built for 2 features per step, got input of shape"):
        layer.forward(np.zeros((5, 4, 3), np.float32), train=True)
