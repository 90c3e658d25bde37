"""The rbm layer: its network pass (a sigmoid dense layer), its CD-k update against numpy with
the same random numbers, and its keys."""

import numpy as np
import pytest
from layertools import assert_gradcheck, built

from tuidl.errors import ConfigError
from tuidl.layers import RBM, make_layer

CD_TOL = 1e-5  # float32 update against float64: sums of N=7 products of values <= 1, times lr


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def rbm(units, d, seed, dtype=np.float64, **keys):
    """An rbm layer of `units` on `d` inputs, xavier-initialised, its parameters in `dtype`."""
    return built(RBM(units=units, **keys), (d,), seed, "xavier", dtype)


@pytest.mark.parametrize("batch, d, units", [(1, 5, 3), (4, 1, 2), (7, 6, 9)])
def test_forward_is_a_sigmoid_dense_layer(batch, d, units, seed):
    layer = rbm(units, d, seed, np.float32)
    x = np.random.default_rng(seed + 1).random((batch, d), dtype=np.float32)
    y = layer.forward(x, train=True)
    assert y.dtype == np.float32 and y.shape == (batch, units)
    W, b = (np.float64(layer.params[k]) for k in "Wb")
    np.testing.assert_allclose(y, sigmoid(x @ W + b), atol=1e-6, err_msg=f"seed={seed}")


@pytest.mark.parametrize("batch, d, units", [(1, 5, 3), (4, 1, 2), (7, 6, 9)])
def test_gradients_match_central_differences_and_c_gets_none(batch, d, units, seed):
    layer = rbm(units, d, seed)
    x = np.random.default_rng(seed + 1).random((batch, d))
    assert_gradcheck([layer], x, seed)
    assert not layer.grads["c"].any()


def test_first_layer_skips_the_input_gradient():
    layer = rbm(2, 3, 0)
    layer.needs_input_grad = False
    layer.forward(np.ones((2, 3)), train=True)
    assert layer.backward(np.ones((2, 2))) is None


def hinton_cd1(params, velocity, data, rand, lr, momentum, weight_cost):
    """One CD-1 update written out as in Hinton & Salakhutdinov's rbm.m, in float64.

    `rand` are the uniform numbers that decide the hidden states (poshidprobs > rand).
    """
    W, b, c = (np.float64(params[k]) for k in "Wbc")
    n = len(data)
    poshidprobs = sigmoid(data @ W + b)
    posprods = data.T @ poshidprobs
    poshidstates = (poshidprobs > rand).astype(np.float64)
    negdata = sigmoid(poshidstates @ W.T + c)
    neghidprobs = sigmoid(negdata @ W + b)
    negprods = negdata.T @ neghidprobs
    err = np.mean((data - negdata) ** 2)
    grads = {
        "W": (posprods - negprods) / n - weight_cost * W,
        "b": (poshidprobs.sum(0) - neghidprobs.sum(0)) / n,
        "c": (data.sum(0) - negdata.sum(0)) / n,
    }
    new = {}
    for key, old in (("W", W), ("b", b), ("c", c)):
        velocity[key] = momentum * velocity[key] + lr * grads[key]
        new[key] = old + velocity[key]
    return new, err


def twin_stream(layer) -> np.random.Generator:
    """A generator that will draw exactly the numbers the layer's stream draws next."""
    twin = np.random.default_rng()
    twin.bit_generator.state = layer.rng.bit_generator.state
    return twin


@pytest.mark.parametrize("batch, d, units", [(1, 4, 3), (7, 6, 5), (32, 64, 16)])
def test_cd1_updates_match_hinton_cd1_with_the_same_random_numbers(batch, d, units, seed):
    keys = {"pretrain_lr": 0.1, "momentum": 0.5, "weight_decay": 0.01}
    layer = rbm(units, d, seed, np.float32, **keys)
    rng = np.random.default_rng(seed + 1)
    batches = [rng.random((batch, d), dtype=np.float32) for _ in range(3)]
    layer.start_pretraining(np.mean(batches[0], axis=0))
    params = {k: np.float64(v) for k, v in layer.params.items()}
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    for v0 in batches:  # three updates: the momentum carries over
        rand = twin_stream(layer).random((batch, units), dtype=np.float32)
        error = layer.contrastive_divergence(v0)
        params, expected_error = hinton_cd1(
            params, velocity, np.float64(v0), rand, keys["pretrain_lr"], keys["momentum"],
            keys["weight_decay"],
        )  # fmt: skip
        assert error == pytest.approx(expected_error, rel=1e-5), f"seed={seed}"
        for key, value in params.items():
            assert layer.params[key].dtype == np.float32
            np.testing.assert_allclose(layer.params[key], value, atol=CD_TOL,
                                       err_msg=f"seed={seed} {key}")  # fmt: skip


def test_cd_k_runs_k_gibbs_steps_with_sampled_hidden_states_but_the_last(seed):
    k, batch, d, units = 3, 5, 6, 4
    layer = rbm(units, d, seed, cd_k=k, momentum=0.0, weight_decay=0.0)
    layer.start_pretraining(np.full(d, 0.5))
    v0 = np.random.default_rng(seed + 1).random((batch, d))
    twin = twin_stream(layer)
    W, b, c = (layer.params[key].copy() for key in "Wbc")
    ph0 = ph = sigmoid(v0 @ W + b)
    for _ in range(k):
        h = (twin.random(ph.shape) < ph).astype(float)
        v = sigmoid(h @ W.T + c)
        ph = sigmoid(v @ W + b)
    layer.contrastive_divergence(v0)
    lr = layer.pretrain_lr
    expected_W = W + lr * (v0.T @ ph0 - v.T @ ph) / batch
    np.testing.assert_allclose(layer.params["W"], expected_W, atol=1e-12, err_msg=f"seed={seed}")
    np.testing.assert_allclose(layer.params["c"], c + lr * (v0 - v).mean(0), atol=1e-12)


def test_pretraining_starts_from_the_visible_log_odds():
    layer = rbm(2, 4, 0, np.float32)
    layer.start_pretraining(np.array([0.5, 0.9, 0.0, 1.0], np.float32))
    p = np.array([0.5, 0.9, 1e-3, 1 - 1e-3])
    np.testing.assert_allclose(layer.params["c"], np.log(p / (1 - p)), rtol=1e-4)
    assert not any(v.any() for v in layer.velocity.values())


def test_rbm_rejects_images_with_a_hint():
    with pytest.raises(ValueError, match="add a flatten layer"):
        RBM(units=3).build((1, 4, 4), np.random.default_rng(0))


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"type": "rbm"}, "missing key 'units'"),
        ({"type": "rbm", "units": 4, "cd_k": 0}, "cd_k must be a positive integer, got 0"),
        ({"type": "rbm", "units": 4, "cdk": 2}, "did you mean 'cd_k'"),
        ({"type": "rbm", "units": 4, "pretrain_epochs": -1}, "pretrain_epochs must be"),
        ({"type": "rbm", "units": 4, "pretrain_epochs": 1.5}, "got 1.5"),
        (
            {"type": "rbm", "units": 4, "pretrain_lr": 0},
            "pretrain_lr must be a number in (0, 10], got 0",
        ),
        ({"type": "rbm", "units": 4, "momentum": 1}, "momentum must be a number in [0, 1), got 1"),
        ({"type": "rbm", "units": 4, "weight_decay": "a"}, "weight_decay"),
        ({"type": "rbm", "units": 4, "init": "glorot"}, "unknown init 'glorot'"),
    ],
)
def test_bad_rbm_keys_name_the_layer_and_the_fix(spec, message):
    with pytest.raises(ConfigError) as error:
        make_layer(spec, 2)
    assert str(error.value).startswith("layer 2 (rbm)")
    assert message in str(error.value)


def test_get_config_round_trips_through_make_layer():
    spec = {"type": "rbm", "units": 5, "pretrain_epochs": 0, "cd_k": 2, "pretrain_lr": 0.05,
            "momentum": 0.9, "weight_decay": 0.0, "init": "xavier"}  # fmt: skip
    layer = make_layer(spec, 0)
    assert {"type": layer.type, **layer.get_config()} == spec
