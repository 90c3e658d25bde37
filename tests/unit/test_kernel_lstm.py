"""LSTM kernel against the slow numpy reference in `reference_recurrent.py`.

Fresh random inputs every run (the `seed` fixture; the seed is in every failure message), on
fixed edge shapes. Tolerances, float32 kernel vs float64 reference: `rtol = 1e-5` and
`atol = 1e-6 * K`, K the number of terms summed into one output entry: D + H per gate
pre-activation (h), 4H for dx (= dA W_x^T), N*T for dW_x, dW_h and db (sums over samples and
steps). Measured over 1500 seeds x these shapes x both gradient patterns: error / tolerance
<= 0.12. The inputs come from `reference_recurrent.random_problem`, whose W_h does not expand
(an exploding recurrence amplifies float32 rounding like the gradient, beyond any fixed
tolerance).
"""

import numpy as np
import pytest
import reference_recurrent as ref

from tuidl.kernels.lstm import lstm_backward, lstm_forward

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
    return {"h": D + H, "dx": 4 * H, "dW_x": N * T, "dW_h": N * T, "db": N * T}


def run_both(x, W_x, W_h, b, dh_seq, dtype):
    """Kernel in `dtype` and the float64 reference: `({name: kernel}, {name: reference})`."""
    h_ref, steps = ref.lstm_forward(x, W_x, W_h, b)
    grads_ref = ref.lstm_backward(dh_seq, W_x, W_h, steps)
    x_, W_x_, W_h_, b_, dh_ = (a.astype(dtype) for a in (x, W_x, W_h, b, dh_seq))
    h, cache = lstm_forward(x_, W_x_, W_h_, b_)
    grads = lstm_backward(dh_, x_, W_x_, W_h_, cache, True)
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
    problem = ref.random_problem(rng, *shape, gates=4, last_only=last_only)
    got, want = run_both(*problem, np.float32)
    assert_match(got, want, terms(*shape), RTOL_32, ATOL_PER_TERM_32, f"{seed} shape={shape}")


@pytest.mark.parametrize("last_only", [False, True], ids=["dh_every_step", "dh_last_step"])
@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_float64_matches_reference(shape, last_only, seed):
    problem = ref.random_problem(np.random.default_rng(seed), *shape, gates=4, last_only=last_only)
    got, want = run_both(*problem, np.float64)
    assert_match(got, want, terms(*shape), RTOL_64, ATOL_PER_TERM_64, seed)


def test_long_sequence_backward_with_a_tolerance_growing_with_T(seed):
    # A long-memory cell (forget bias 3, f ~ 0.95) carries the rounding error of each backward
    # step far back, and the worst-case error grows about linearly in T. Measured worst error /
    # module tolerance over 300 seeds (N = D = 4, H = 16): 0.06 at T = 25, 0.16 at T = 100,
    # 0.32 at T = 200 (numpy's float32 LSTM with libm activations reaches 1.07 on that draw:
    # this is float32 BPTT, not the kernel). Hence rtol and atol scale with T / 50: at T = 200,
    # rtol 4e-5 (still well under 1e-4), of which the worst draw uses 0.08.
    N, T, D, H = 4, 200, 4, 16
    scale = T / 50
    problem = ref.random_problem(np.random.default_rng(seed), N, T, D, H, gates=4, forget_bias=3.0)
    got, want = run_both(*problem, np.float32)
    assert_match(got, want, terms(N, T, D, H), RTOL_32 * scale, ATOL_PER_TERM_32 * scale, seed)


def test_saturated_gates_stay_finite_and_match(seed):
    # Biases of +-20 open or close every gate: the float32 activations clamp (sigmoid bottoms
    # out at 4e-9 instead of ~2e-9, an absolute error the tolerance covers) and never overflow.
    rng = np.random.default_rng(seed)
    x, W_x, W_h, b, dh_seq = ref.random_problem(rng, 3, 6, 4, 5, gates=4)
    b = 20 * np.sign(b)
    got, want = run_both(x, W_x, W_h, b, dh_seq, np.float32)
    for name in want:
        assert np.all(np.isfinite(got[name])), f"seed={seed}: {name}"
    assert_match(got, want, terms(3, 6, 4, 5), RTOL_32, ATOL_PER_TERM_32, seed)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_input_gives_nan_output(dtype):
    # The trainer detects divergence by NaN: the fast activations must not clamp it away.
    x, W_x, W_h, b, _ = (
        a.astype(dtype) for a in ref.random_problem(np.random.default_rng(0), 2, 3, 2, 3, gates=4)
    )
    x[0, 0, 0] = np.nan
    h, _ = lstm_forward(x, W_x, W_h, b)
    assert np.all(np.isnan(h[0])), "NaN must reach every later state of its sample"
    assert np.all(np.isfinite(h[1])), "and no other sample"


def test_without_dx_returns_none_and_the_same_weight_grads(seed):
    x, W_x, W_h, b, dh_seq = (
        a.astype(np.float32)
        for a in ref.random_problem(np.random.default_rng(seed), 3, 5, 4, 6, gates=4)
    )
    _, cache = lstm_forward(x, W_x, W_h, b)
    full = lstm_backward(dh_seq, x, W_x, W_h, cache, True)
    partial = lstm_backward(dh_seq, x, W_x, W_h, cache, False)
    assert partial[0] is None
    for a, b_ in zip(full[1:], partial[1:], strict=True):
        np.testing.assert_array_equal(a, b_, err_msg=f"seed={seed}")


def test_inputs_are_not_modified(seed):
    arrays = [
        a.astype(np.float32)
        for a in ref.random_problem(np.random.default_rng(seed), 2, 4, 3, 5, gates=4)
    ]
    copies = [a.copy() for a in arrays]
    x, W_x, W_h, b, dh_seq = arrays
    _, cache = lstm_forward(x, W_x, W_h, b)
    lstm_backward(dh_seq, x, W_x, W_h, cache, True)
    for a, c in zip(arrays, copies, strict=True):
        np.testing.assert_array_equal(a, c)


def test_accepts_non_contiguous_inputs(seed):
    x, W_x, W_h, b, dh_seq = (
        a.astype(np.float32)
        for a in ref.random_problem(np.random.default_rng(seed), 3, 4, 2, 5, gates=4)
    )
    x_f = np.asfortranarray(x)
    dh_view = np.concatenate([dh_seq, dh_seq], axis=2)[:, :, :5]
    h, cache = lstm_forward(x_f, W_x, W_h, b)
    h_c, cache_c = lstm_forward(x, W_x, W_h, b)
    np.testing.assert_array_equal(h, h_c)
    for a, b_ in zip(
        lstm_backward(dh_view, x_f, W_x, W_h, cache, True),
        lstm_backward(dh_seq, x, W_x, W_h, cache_c, True),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b_)


def _valid():
    rng = np.random.default_rng(0)
    return {
        "x": rng.standard_normal((2, 3, 4)).astype(np.float32),
        "W_x": rng.standard_normal((4, 20)).astype(np.float32),
        "W_h": rng.standard_normal((5, 20)).astype(np.float32),
        "b": np.zeros(20, np.float32),
    }


@pytest.mark.parametrize(
    "name, value, match",
    [
        ("x", np.zeros((3, 4), np.float32), r"x must be \(N, T, D\), got shape \(3, 4\)"),
        ("x", np.zeros((2, 3, 4), np.float64), "W_x float32"),
        ("x", np.zeros((2, 3, 4), np.int64), "float32 or float64"),
        ("x", np.zeros((0, 3, 4), np.float32), r"at least one sample"),
        ("W_x", np.zeros((3, 20), np.float32), r"W_x must be \(D, 4H\) = \(4, 20\)"),
        ("W_h", np.zeros((5, 16), np.float32), r"W_h must be \(H, 4H\)"),
        ("b", np.zeros(16, np.float32), r"b must be \(4H,\) = \(20,\)"),
    ],
)
def test_forward_rejects_bad_arrays(name, value, match):
    args = _valid()
    args[name] = value
    with pytest.raises(ValueError, match=match):
        lstm_forward(**args)


def test_backward_rejects_bad_gradient_and_cache():
    args = _valid()
    h, cache = lstm_forward(**args)
    x, W_x, W_h = args["x"], args["W_x"], args["W_h"]
    with pytest.raises(ValueError, match=r"dh_seq must be \(2, 3, 5\) float32"):
        lstm_backward(h[:, :2], x, W_x, W_h, cache, True)
    with pytest.raises(ValueError, match=r"dh_seq must be \(2, 3, 5\) float32"):
        lstm_backward(h.astype(np.float64), x, W_x, W_h, cache, True)
    with pytest.raises(ValueError, match="cache.c must be"):
        lstm_backward(h, x, W_x, W_h, cache._replace(c=cache.c[:1]), True)
    with pytest.raises(ValueError, match="cache must be the LSTMCache"):
        lstm_backward(h, x, W_x, W_h, cache.c, True)


def test_reused_cache_is_overwritten_in_place_and_gives_the_same_results(seed):
    rng = np.random.default_rng(seed)
    first = [a.astype(np.float32) for a in ref.random_problem(rng, 3, 5, 4, 6, gates=4)]
    second = [a.astype(np.float32) for a in ref.random_problem(rng, 3, 5, 4, 6, gates=4)]
    x, W_x, W_h, b, dh_seq = second
    h_new, fresh = lstm_forward(x, W_x, W_h, b)
    grads_new = lstm_backward(dh_seq, x, W_x, W_h, fresh, True)
    _, old = lstm_forward(*first[:4])
    lstm_backward(first[4], *first[:3], old, True)
    h, cache = lstm_forward(x, W_x, W_h, b, reuse=old)
    assert all(a is b_ for a, b_ in zip(cache, old, strict=True))
    np.testing.assert_array_equal(h, h_new)
    for a, b_ in zip(lstm_backward(dh_seq, x, W_x, W_h, cache, True), grads_new, strict=True):
        np.testing.assert_array_equal(a, b_, err_msg=f"seed={seed}")
    # A cache that does not fit (a smaller last batch) is replaced, not used.
    _, smaller = lstm_forward(x[:2], W_x, W_h, b, reuse=cache)
    assert smaller.gates.shape == (2, 5, 24) and smaller.gates is not cache.gates
