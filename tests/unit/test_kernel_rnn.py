"""tanh RNN kernel against the slow numpy reference in `reference_recurrent.py`.

Fresh random inputs every run (the `seed` fixture; the seed is in every failure message), on
fixed edge shapes. Tolerances, float32 kernel vs float64 reference: `rtol = 1e-5` and
`atol = 1e-6 * K`, K the number of terms summed into one output entry: D + H per pre-activation
(h), H for dx (= dA W_x^T), N*T for dW_x, dW_h and db (sums over samples and steps). Measured
over 1500 seeds x these shapes x both gradient patterns: error / tolerance <= 0.23 (with tanh
evaluated in float32, 0.9: see `kernels/rnn.py`). The inputs come from
`reference_recurrent.random_problem`, whose W_h does not expand (an exploding recurrence
amplifies float32 rounding like the gradient, beyond any fixed tolerance).
"""

import numpy as np
import pytest
import reference_recurrent as ref

from tuidl.kernels.rnn import (
    rnn_backward,
    rnn_forward,
)

RTOL_32 = 1e-5
ATOL_PER_TERM_32 = 1e-6
# float64 kernel vs float64 reference: only summation order differs. Measured abs error beyond
# 1e-10 * |expected| <= 1e-17 * K, so 1e-15 * K keeps 100x room.
RTOL_64 = 1e-10
ATOL_PER_TERM_64 = 1e-15

SHAPES = {  # (N, T, D, H)
    "batch1": (1, 4, 3, 5),
    "T1": (2, 1, 3, 4),
    "D1": (3, 6, 1, 4),
    "H1": (3, 5, 4, 1),
    "odd": (3, 7, 5, 9),
    "larger": (16, 20, 8, 32),
}


def terms(N, T, D, H):
    """K per output: h, dx, dW_x, dW_h, db."""
    return {"h": D + H, "dx": H, "dW_x": N * T, "dW_h": N * T, "db": N * T}


def run_both(x, W_x, W_h, b, dh_seq, dtype):
    """Kernel in `dtype` and the float64 reference: `({name: kernel}, {name: reference})`."""
    h_ref, steps = ref.rnn_forward(x, W_x, W_h, b)
    grads_ref = ref.rnn_backward(dh_seq, W_x, W_h, steps)
    x_, W_x_, W_h_, b_, dh_ = (a.astype(dtype) for a in (x, W_x, W_h, b, dh_seq))
    h, cache = rnn_forward(x_, W_x_, W_h_, b_)
    grads = rnn_backward(dh_, x_, W_x_, W_h_, cache, True)
    names = ["h", "dx", "dW_x", "dW_h", "db"]
    got = dict(zip(names, (h, *grads), strict=True))
    return got, dict(zip(names, (h_ref, *grads_ref), strict=True))


def assert_match(got, want, K, rtol, atol_per_term, seed):
    for name in want:
        assert got[name].dtype == got["h"].dtype, name
        np.testing.assert_allclose(
            got[name],
            want[name],
            rtol=rtol,
            atol=atol_per_term * K[name],
            err_msg=f"seed={seed}: {name}",
        )


@pytest.mark.parametrize("last_only", [False, True], ids=["dh_every_step", "dh_last_step"])
@pytest.mark.parametrize("shape", list(SHAPES.values()) + ["random"], ids=[*SHAPES, "random"])
def test_float32_matches_reference(shape, last_only, seed):
    rng = np.random.default_rng(seed)
    if shape == "random":
        shape = tuple(int(v) for v in rng.integers(1, [9, 13, 9, 17]))
    problem = ref.random_problem(rng, *shape, gates=1, last_only=last_only)
    got, want = run_both(*problem, np.float32)
    assert_match(got, want, terms(*shape), RTOL_32, ATOL_PER_TERM_32, f"{seed} shape={shape}")


@pytest.mark.parametrize("last_only", [False, True], ids=["dh_every_step", "dh_last_step"])
@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_float64_matches_reference(shape, last_only, seed):
    problem = ref.random_problem(np.random.default_rng(seed), *shape, gates=1, last_only=last_only)
    got, want = run_both(*problem, np.float64)
    assert_match(got, want, terms(*shape), RTOL_64, ATOL_PER_TERM_64, seed)


def test_long_sequence_backward_keeps_the_base_tolerance(seed):
    # Each backward step multiplies the carried gradient by tanh' <= 1 and W_h^T, so with an
    # orthogonal W_h (gain 1, the slowest decay that does not explode) old rounding errors fade
    # instead of adding up. Measured worst error / module tolerance over 300 seeds (N = D = 4,
    # H = 16): 0.08 at T = 25, 0.11 at T = 200, 0.09 at T = 800 (60 seeds); so T = 200 keeps
    # the module tolerance, with 9x room.
    N, T, D, H = 4, 200, 4, 16
    rng = np.random.default_rng(seed)
    x, W_x, _, b, dh_seq = ref.random_problem(rng, N, T, D, H, gates=1)
    W_h = np.linalg.qr(rng.standard_normal((H, H)))[0]
    got, want = run_both(x, W_x, W_h, b, dh_seq, np.float32)
    assert_match(got, want, terms(N, T, D, H), RTOL_32, ATOL_PER_TERM_32, seed)


def test_saturated_units_stay_finite_and_match(seed):
    # Pre-activations of about +-20: the float32 tanh clamps at +-9 (where it rounds to 1).
    rng = np.random.default_rng(seed)
    x, W_x, W_h, b, dh_seq = ref.random_problem(rng, 3, 6, 4, 5, gates=1)
    got, want = run_both(x, W_x, W_h, 20 * np.sign(b), dh_seq, np.float32)
    for name in want:
        assert np.all(np.isfinite(got[name])), f"seed={seed}: {name}"
    assert_match(got, want, terms(3, 6, 4, 5), RTOL_32, ATOL_PER_TERM_32, seed)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_input_gives_nan_output(dtype):
    # The trainer detects divergence by NaN: the fast tanh must not clamp it away.
    x, W_x, W_h, b, _ = (
        a.astype(dtype) for a in ref.random_problem(np.random.default_rng(0), 2, 3, 2, 3, gates=1)
    )
    x[0, 0, 0] = np.nan
    h, _ = rnn_forward(x, W_x, W_h, b)
    assert np.all(np.isnan(h[0])), "NaN must reach every later state of its sample"
    assert np.all(np.isfinite(h[1])), "and no other sample"


def test_without_dx_returns_none_and_the_same_weight_grads(seed):
    x, W_x, W_h, b, dh_seq = (
        a.astype(np.float32)
        for a in ref.random_problem(np.random.default_rng(seed), 3, 5, 4, 6, gates=1)
    )
    _, cache = rnn_forward(x, W_x, W_h, b)
    full = rnn_backward(dh_seq, x, W_x, W_h, cache, True)
    partial = rnn_backward(dh_seq, x, W_x, W_h, cache, False)
    assert partial[0] is None
    for a, b_ in zip(full[1:], partial[1:], strict=True):
        np.testing.assert_array_equal(a, b_, err_msg=f"seed={seed}")


def test_inputs_are_not_modified(seed):
    arrays = [
        a.astype(np.float32)
        for a in ref.random_problem(np.random.default_rng(seed), 2, 4, 3, 5, gates=1)
    ]
    copies = [a.copy() for a in arrays]
    x, W_x, W_h, b, dh_seq = arrays
    _, cache = rnn_forward(x, W_x, W_h, b)
    rnn_backward(dh_seq, x, W_x, W_h, cache, True)
    for a, c in zip(arrays, copies, strict=True):
        np.testing.assert_array_equal(a, c)


def _valid():
    rng = np.random.default_rng(0)
    return {
        "x": rng.standard_normal((2, 3, 4)).astype(np.float32),
        "W_x": rng.standard_normal((4, 5)).astype(np.float32),
        "W_h": rng.standard_normal((5, 5)).astype(np.float32),
        "b": np.zeros(5, np.float32),
    }


@pytest.mark.parametrize(
    "name, value, match",
    [
        (
            "x",
            np.zeros((2, 3, 4, 1), np.float32),
            r"x must be \(N, T, D\), got shape \(2, 3, 4, 1\)",
        ),
        ("W_h", np.zeros((5, 5), np.float64), "W_h float64"),
        ("x", np.zeros((2, 0, 4), np.float32), "at least one sample and one step"),
        ("W_x", np.zeros((4, 6), np.float32), r"W_x must be \(D, H\) = \(4, 5\)"),
        ("W_h", np.zeros((5, 4), np.float32), r"W_h must be \(H, H\)"),
        ("b", np.zeros((1, 5), np.float32), r"b must be \(H,\) = \(5,\)"),
        ("b", [0.0] * 5, "b must be a numpy array, got list"),
    ],
)
def test_forward_rejects_bad_arrays(name, value, match):
    args = _valid()
    args[name] = value
    with pytest.raises(ValueError, match=match):
        rnn_forward(**args)


def test_backward_rejects_bad_gradient_and_cache():
    args = _valid()
    h, cache = rnn_forward(**args)
    x, W_x, W_h = args["x"], args["W_x"], args["W_h"]
    with pytest.raises(ValueError, match=r"dh_seq must be \(2, 3, 5\) float32"):
        rnn_backward(h[:1], x, W_x, W_h, cache, True)
    with pytest.raises(ValueError, match=r"cache.z must be \(2, 4, 9\) float32"):
        # h_seq is a view of z without its first step and inputs
        rnn_backward(h, x, W_x, W_h, cache._replace(z=h), True)
    with pytest.raises(ValueError, match="cache must be the RNNCache"):
        rnn_backward(h, x, W_x, W_h, cache.z, True)


def test_reused_cache_is_overwritten_in_place_and_gives_the_same_results(seed):
    rng = np.random.default_rng(seed)
    first = [a.astype(np.float32) for a in ref.random_problem(rng, 3, 5, 4, 6, gates=1)]
    second = [a.astype(np.float32) for a in ref.random_problem(rng, 3, 5, 4, 6, gates=1)]
    x, W_x, W_h, b, dh_seq = second
    h_new, fresh = rnn_forward(x, W_x, W_h, b)
    grads_new = rnn_backward(dh_seq, x, W_x, W_h, fresh, True)
    _, old = rnn_forward(*first[:4])
    rnn_backward(first[4], *first[:3], old, True)
    h, cache = rnn_forward(x, W_x, W_h, b, reuse=old)
    assert all(a is b_ for a, b_ in zip(cache, old, strict=True))
    np.testing.assert_array_equal(h, h_new)
    for a, b_ in zip(rnn_backward(dh_seq, x, W_x, W_h, cache, True), grads_new, strict=True):
        np.testing.assert_array_equal(a, b_, err_msg=f"seed={seed}")
    # A cache that does not fit (a smaller last batch) is replaced, not used.
    _, smaller = rnn_forward(x[:2], W_x, W_h, b, reuse=cache)
    assert smaller.z.shape == (2, 6, 10) and smaller.z is not cache.z
