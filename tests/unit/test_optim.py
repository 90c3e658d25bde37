"""Optimizers against hand-written numpy versions of the published update rules."""

import re

import numpy as np
import pytest

from tuidl.errors import ConfigError
from tuidl.optimizers import (
    OPTIMIZERS,
    SGD,
    Adadelta,
    AdaGrad,
    Adam,
    Momentum,
    Nesterov,
    RMSProp,
    make_optimizer,
)

# float64 runs agree to rounding; float32 runs are compared with a float64 reference started
# from the same float32 values: ~10 roundings of w stay < 1e-6 of it. Parameters start at
# |w| in [0.5, 1.5] but momentum can carry one near 0 in 10 steps, where its rounding errors
# (from values of size ~1) are large relative to it: hence atol = rtol * 1, the size of w.
RTOL = {np.float64: 1e-12, np.float32: 1e-6}
STEPS = 10
SHAPES = {"dense_0.W": (4, 3), "dense_0.b": (3,), "prelu_1.alpha": (1,), "conv2d_2.W": (2, 3, 3, 3)}

# Non-default hyper-parameters, so a key the class ignored would show.
HYPER = {
    "sgd": {"lr": 0.05},
    "momentum": {"lr": 0.02, "momentum": 0.8},
    "nesterov": {"lr": 0.02, "momentum": 0.7},
    "adagrad": {"lr": 0.05, "eps": 1e-6},
    "rmsprop": {"lr": 0.01, "rho": 0.8, "eps": 1e-6},
    "adadelta": {"lr": 0.5, "rho": 0.9, "eps": 1e-5},
    "adam": {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-7},
}
# The decay terms stay below the (clipped) gradients, so no gradient cancels to about 0: there
# g / (sqrt(h) + eps) is steep in g (slope 1/eps) and float32 rounding of g would dominate.
EXTRAS = {
    "plain": {},
    "weight_decay": {"weight_decay": 0.01},
    "l1": {"l1": 0.001},
    "clip_norm": {"clip_norm": 2.0},  # the global norm of the random grads is about 10
    "clip_value": {"clip_value": 0.5},
    "all": {"weight_decay": 0.01, "l1": 0.001, "clip_norm": 2.0, "clip_value": 0.5},
}


# --- the published rules, one parameter at a time, in float64 -------------------------------


def ref_sgd(w, g, s, t, lr):
    return w - lr * g


def ref_momentum(w, g, s, t, lr, momentum):
    s["v"] = momentum * s.get("v", 0.0) - lr * g
    return w + s["v"]


def ref_nesterov(w, g, s, t, lr, momentum):
    # PyTorch SGD(nesterov=True): buffer of raw gradients, look-ahead gradient g + mu * b.
    s["b"] = momentum * s.get("b", 0.0) + g
    return w - lr * (g + momentum * s["b"])


def ref_adagrad(w, g, s, t, lr, eps):
    s["h"] = s.get("h", 0.0) + g**2
    return w - lr * g / (np.sqrt(s["h"]) + eps)


def ref_rmsprop(w, g, s, t, lr, rho, eps):
    s["h"] = rho * s.get("h", 0.0) + (1 - rho) * g**2
    return w - lr * g / (np.sqrt(s["h"]) + eps)


def ref_adadelta(w, g, s, t, lr, rho, eps):
    s["Eg2"] = rho * s.get("Eg2", 0.0) + (1 - rho) * g**2
    dx = -np.sqrt(s.get("Edx2", 0.0) + eps) / np.sqrt(s["Eg2"] + eps) * g
    s["Edx2"] = rho * s.get("Edx2", 0.0) + (1 - rho) * dx**2
    return w + lr * dx


def ref_adam(w, g, s, t, lr, beta1, beta2, eps):
    s["m"] = beta1 * s.get("m", 0.0) + (1 - beta1) * g
    s["v"] = beta2 * s.get("v", 0.0) + (1 - beta2) * g**2
    m_hat = s["m"] / (1 - beta1**t)
    v_hat = s["v"] / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps)


REFERENCE = {
    "sgd": ref_sgd,
    "momentum": ref_momentum,
    "nesterov": ref_nesterov,
    "adagrad": ref_adagrad,
    "rmsprop": ref_rmsprop,
    "adadelta": ref_adadelta,
    "adam": ref_adam,
}


def ref_gradients(params, grads, weight_decay=0.0, l1=0.0, clip_norm=None, clip_value=None):
    """Clip the loss gradients (value, then global norm), then add the L2 and L1 terms."""
    g = dict(grads)
    if clip_value is not None:
        g = {k: np.minimum(np.maximum(v, -clip_value), clip_value) for k, v in g.items()}
    if clip_norm is not None:
        norm = np.sqrt(sum(np.sum(v**2) for v in g.values()))
        if norm > clip_norm:
            g = {k: v * (clip_norm / norm) for k, v in g.items()}
    return {k: v + weight_decay * params[k] + l1 * np.sign(params[k]) for k, v in g.items()}


def ref_run(name, params, grad_seq, hyper, extras):
    params = {k: v.astype(np.float64) for k, v in params.items()}
    state = {k: {} for k in params}
    for t, grads in enumerate(grad_seq, start=1):
        grads = {k: v.astype(np.float64) for k, v in grads.items()}
        g = ref_gradients(params, grads, **extras)
        params = {k: REFERENCE[name](params[k], g[k], state[k], t, **hyper) for k in params}
    return params


def signed(rng, low, high, shape, dtype):
    return (rng.choice([-1.0, 1.0], shape) * rng.uniform(low, high, shape)).astype(dtype)


def draw(seed, dtype, steps=STEPS):
    """Parameters in +-[0.5, 1.5] and gradients in +-[0.2, 2]: both off zero (see EXTRAS)."""
    rng = np.random.default_rng(seed)
    params = {k: signed(rng, 0.5, 1.5, s, dtype) for k, s in SHAPES.items()}
    grads = [{k: signed(rng, 0.2, 2.0, s, dtype) for k, s in SHAPES.items()} for _ in range(steps)]
    return params, grads


def run(opt, params, grad_seq):
    for grads in grad_seq:
        opt.step(params, grads)


# --- update rules ------------------------------------------------------------------------------


@pytest.mark.parametrize("extras", list(EXTRAS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_matches_reference(name, dtype, extras, seed):
    params, grad_seq = draw(seed, dtype)
    expected = ref_run(name, params, grad_seq, HYPER[name], EXTRAS[extras])
    opt = OPTIMIZERS[name](**HYPER[name], **EXTRAS[extras])
    run(opt, params, grad_seq)
    for key, value in params.items():
        np.testing.assert_allclose(
            value, expected[key], rtol=RTOL[dtype], atol=RTOL[dtype], err_msg=f"{key}, seed={seed}"
        )


@pytest.mark.parametrize("extras", ["plain", "all"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_in_place_grads_untouched_dtype_kept(name, dtype, extras, seed):
    params, grad_seq = draw(seed, dtype, steps=3)
    arrays = dict(params)
    ids = {k: id(v) for k, v in params.items()}
    saved = [{k: v.copy() for k, v in grads.items()} for grads in grad_seq]
    opt = OPTIMIZERS[name](**HYPER[name], **EXTRAS[extras])
    before = {k: v.copy() for k, v in params.items()}
    run(opt, params, grad_seq)
    for key, value in params.items():
        assert value is arrays[key] and id(value) == ids[key]
        assert value.dtype == dtype
        assert not np.array_equal(value, before[key]), key
    for grads, copy in zip(grad_seq, saved, strict=True):
        for key in grads:
            np.testing.assert_array_equal(grads[key], copy[key], err_msg=f"{key} was written")
    for key, value in opt.state_dict().items():
        if "/" in key:
            assert value.dtype == dtype, key


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_numpy_float64_lr_keeps_float32(name, seed):
    params, grad_seq = draw(seed, np.float32, steps=2)
    opt = OPTIMIZERS[name](**HYPER[name])
    opt.lr = np.float64(0.01)
    assert type(opt.lr) is float
    run(opt, params, grad_seq)
    assert all(v.dtype == np.float32 for v in params.values())


def test_nesterov_is_keras_form():
    """The stated rule: v = mu*v - lr*g; w += mu*v - lr*g (differs from DLFS's Nesterov)."""
    w, g1, g2 = np.array([1.0]), np.array([2.0]), np.array([-1.0])
    opt = Nesterov(lr=0.1, momentum=0.5)
    opt.step({"w": w}, {"w": g1})  # v = -0.2; w = 1 - 0.1 - 0.2
    np.testing.assert_allclose(w, [0.7], rtol=1e-15)
    opt.step({"w": w}, {"w": g2})  # v = -0.1 + 0.1 = 0; w = 0.7 + 0 + 0.1
    np.testing.assert_allclose(w, [0.8], rtol=1e-15)


def test_adam_first_step_is_lr_sized():
    """Bias correction makes the first step lr * sign(g) (up to eps), whatever |g| is."""
    w = np.array([0.0, 0.0, 0.0])
    Adam(lr=0.01).step({"w": w}, {"w": np.array([1e-3, -5.0, 300.0])})
    np.testing.assert_allclose(w, [-0.01, 0.01, -0.01], rtol=1e-4)


def test_clip_norm_scales_globally():
    a, b = np.zeros(3), np.zeros(2)
    grads = {"a": np.array([3.0, 0, 0]), "b": np.array([0, 4.0])}  # global norm 5
    SGD(lr=1.0, clip_norm=1.0).step({"a": a, "b": b}, grads)
    np.testing.assert_allclose(a, [-0.6, 0, 0], rtol=1e-15)
    np.testing.assert_allclose(b, [0, -0.8], rtol=1e-15)


def test_clip_norm_survives_float32_overflow():
    """The square of 1e30 overflows float32; the norm is summed in float64."""
    w = np.zeros(4, dtype=np.float32)
    SGD(lr=1.0, clip_norm=2.0).step({"w": w}, {"w": np.full(4, 1e30, dtype=np.float32)})
    np.testing.assert_allclose(w, [-1.0] * 4, rtol=1e-6)


def test_lr_is_live():
    w = np.array([1.0])
    opt = SGD(lr=0.1)
    opt.lr = 0.5
    opt.step({"w": w}, {"w": np.array([1.0])})
    assert w[0] == 0.5
    with pytest.raises(ValueError, match=re.escape("-1.0")):
        opt.lr = -1


def test_step_needs_matching_keys_and_shapes():
    opt = SGD()
    with pytest.raises(ValueError, match="'b'"):
        opt.step({"a": np.zeros(2), "b": np.zeros(2)}, {"a": np.zeros(2)})
    with pytest.raises(ValueError, match=re.escape("(3,)")):
        opt.step({"a": np.zeros(2)}, {"a": np.zeros(3)})


# --- state_dict ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_round_trip_is_bit_exact(name, seed, tmp_path):
    params, grad_seq = draw(seed, np.float32)
    config = {**HYPER[name], **EXTRAS["all"]}
    straight = {k: v.copy() for k, v in params.items()}
    opt = OPTIMIZERS[name](**config)
    run(opt, straight, grad_seq)

    first = OPTIMIZERS[name](**config)
    run(first, params, grad_seq[:5])
    first.lr = 0.5 * first.lr  # a live change is part of the state
    np.savez(tmp_path / "opt.npz", **first.state_dict())
    with np.load(tmp_path / "opt.npz", allow_pickle=False) as npz:
        state = dict(npz)
    second = OPTIMIZERS[name](**config)
    second.load_state_dict(state)
    assert second.lr == first.lr and second.t == 5
    second.lr = opt.lr  # compare against the run without the change
    run(second, params, grad_seq[5:])
    for key in params:
        np.testing.assert_array_equal(params[key], straight[key], err_msg=f"{key}, seed={seed}")
    expected = opt.state_dict()
    assert second.state_dict().keys() == expected.keys()
    for key, value in second.state_dict().items():
        np.testing.assert_array_equal(value, expected[key], err_msg=key)


def test_state_dict_keys_and_copies():
    w = np.ones((2, 2))
    opt = Adam()
    opt.step({"dense_0.W": w}, {"dense_0.W": np.ones((2, 2))})
    state = opt.state_dict()
    assert set(state) == {"t", "lr", "m/dense_0.W", "v/dense_0.W"}
    assert state["t"].dtype == np.int64 and state["t"] == 1
    state["m/dense_0.W"][...] = 99.0  # a copy: the optimizer is unaffected
    assert opt.state_dict()["m/dense_0.W"][0, 0] != 99.0


def adam_state():
    opt = Adam()
    params = {"a": np.ones(3), "b": np.ones((2, 2))}
    opt.step(params, {k: np.ones_like(v) for k, v in params.items()})
    return opt.state_dict(), params


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda s: s.pop("v/a"), "v/a"),
        (lambda s: s.pop("t"), "'t'"),
        (lambda s: s.update({"h/a": np.ones(3)}), "h/a"),
        (lambda s: s.update({"bogus": np.ones(3)}), "bogus"),
        (lambda s: s.update({"v/a": np.ones(4)}), "v/a"),
    ],
)
def test_load_state_rejects_bad_keys(change, key):
    state, _ = adam_state()
    change(state)
    with pytest.raises(ValueError, match=re.escape(key)):
        Adam().load_state_dict(state)


def test_load_state_of_another_optimizer():
    state, _ = adam_state()
    with pytest.raises(ValueError, match=re.escape("m/a")):
        RMSProp().load_state_dict(state)


def test_load_state_checks_params():
    state, params = adam_state()
    wrong = {"a": np.ones(4), "b": np.ones((2, 2))}
    with pytest.raises(ValueError, match=re.escape("m/a")):
        Adam().load_state_dict(state, params=wrong)
    opt = Adam()
    opt.load_state_dict(state)  # checked at the next step instead
    with pytest.raises(ConfigError, match=re.escape("m/a")):
        opt.step(wrong, {k: np.ones_like(v) for k, v in wrong.items()})
    extra = {**params, "c": np.ones(2)}
    with pytest.raises(ValueError, match=re.escape("m/c")):
        Adam().load_state_dict(state, params=extra)
    Adam().load_state_dict(state, params=params)


def test_load_state_casts_to_param_dtype():
    state, params = adam_state()
    params32 = {k: v.astype(np.float32) for k, v in params.items()}
    opt = Adam()
    opt.load_state_dict(state, params=params32)
    opt.step(params32, {k: np.ones_like(v) for k, v in params32.items()})
    assert all(v.dtype == np.float32 for k, v in opt.state_dict().items() if "/" in k)


# --- sanity: every optimizer descends a quadratic ---------------------------------------------


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_decreases_quadratic(name, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(20, 5)) / np.sqrt(20)
    y = A @ rng.normal(size=5)  # reachable: the minimum is 0
    w = np.zeros(5)

    def f(w):
        return float(np.sum((A @ w - y) ** 2))

    losses = [f(w)]
    # Default lr: rmsprop and adam move w by at most 0.2 here; their worst ratio over 3000
    # seeds was 0.86, momentum's 7e-6.
    opt = OPTIMIZERS[name]()
    for _ in range(200):
        opt.step({"w": w}, {"w": 2 * A.T @ (A @ w - y)})
        losses.append(f(w))
    assert losses[200] < losses[100] < losses[0], f"seed={seed}"
    assert losses[200] < 0.95 * losses[0], f"seed={seed}"


# --- validation and config ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (SGD, {"lr": 0}),
        (SGD, {"lr": -0.1}),
        (SGD, {"lr": "0.1"}),
        (SGD, {"lr": True}),
        (SGD, {"lr": float("nan")}),
        (SGD, {"weight_decay": -1e-4}),
        (SGD, {"l1": -0.5}),
        (SGD, {"clip_norm": 0.0}),
        (SGD, {"clip_value": -1.0}),
        (Momentum, {"momentum": 1.0}),
        (Momentum, {"momentum": -0.1}),
        (Nesterov, {"momentum": 1.5}),
        (AdaGrad, {"eps": 0.0}),
        (RMSProp, {"rho": 0.0}),
        (RMSProp, {"rho": 1.0}),
        (Adadelta, {"rho": 1.0}),
        (Adadelta, {"eps": -1e-6}),
        (Adam, {"beta1": 1.0}),
        (Adam, {"beta2": -0.1}),
        (Adam, {"eps": 0}),
    ],
)
def test_bad_values_are_quoted(cls, kwargs):
    ((key, value),) = kwargs.items()
    with pytest.raises(ValueError, match=re.escape(f"{key} must be a number")) as info:
        cls(**kwargs)
    assert f"got {value!r}" in str(info.value)


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (SGD, {"lr": -1}, "sgd: lr must be a number > 0, got -1"),
        (SGD, {"weight_decay": float("inf")}, "sgd: weight_decay must be a number >= 0, got inf"),
        (Adam, {"beta1": 2}, "adam: beta1 must be a number in [0, 1), got 2"),
        (RMSProp, {"rho": 1.0}, "rmsprop: rho must be a number in (0, 1), got 1.0"),
    ],
)
def test_messages_name_the_optimizer_the_key_the_range_and_the_value(cls, kwargs, message):
    with pytest.raises(ValueError) as info:
        cls(**kwargs)
    assert str(info.value) == message


DEFAULTS = {
    "sgd": {"lr": 0.01},
    "momentum": {"lr": 0.01, "momentum": 0.9},
    "nesterov": {"lr": 0.01, "momentum": 0.9},
    "adagrad": {"lr": 0.01, "eps": 1e-7},
    "rmsprop": {"lr": 0.001, "rho": 0.9, "eps": 1e-7},
    "adadelta": {"lr": 1.0, "rho": 0.95, "eps": 1e-6},
    "adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_defaults_and_config_round_trip(name):
    config = make_optimizer({"name": name}).get_config()
    assert config == {"name": name, **DEFAULTS[name], "weight_decay": 0.0, "l1": 0.0}
    full = {"name": name, **HYPER[name], **EXTRAS["all"]}
    opt = make_optimizer({**full, "schedule": {"type": "step", "step_size": 2}})
    assert type(opt) is OPTIMIZERS[name]
    assert opt.get_config() == full
    assert make_optimizer(opt.get_config()).get_config() == full


def test_make_optimizer_errors():
    with pytest.raises(ConfigError, match="did you mean 'adam'"):
        make_optimizer({"name": "adma"})
    with pytest.raises(ConfigError, match="missing key 'name'"):
        make_optimizer({"lr": 0.1})
    with pytest.raises(ConfigError, match="'beta_1'.*did you mean 'beta1'.*beta2") as info:
        make_optimizer({"name": "adam", "beta_1": 0.9})
    assert "clip_norm" in str(info.value)
    with pytest.raises(ConfigError, match="'momentum'.*allowed: name, lr, eps"):
        make_optimizer({"name": "adagrad", "momentum": 0.9})
    with pytest.raises(ConfigError, match=re.escape("got -3")):
        make_optimizer({"name": "sgd", "lr": -3})
