"""Max and average pooling kernels against the slow numpy reference in `reference.py`.

Max pooling inputs are random permutations, so every window has one maximum and argmax is
unique; ties and NaN are tested on hand-made inputs. Max pooling only copies values, so it
must match exactly; average pooling sums size*size terms: float32 within `rtol = 1e-5`,
`atol = 1e-6 * K`, K = size*size (terms per output; for dx, the windows covering one input).
"""

import numpy as np
import pytest
import reference as ref

from tuidl.kernels import pool2d, threads
from tuidl.kernels.pool2d import (
    avgpool2d_backward,
    avgpool2d_forward,
    maxpool2d_backward,
    maxpool2d_forward,
)

RTOL_32 = 1e-5
ATOL_PER_TERM_32 = 1e-6
RTOL_64 = 1e-10
ATOL_PER_TERM_64 = 1e-14

SHAPES = {  # x (N, C, H, W), size, stride
    "2x2_tiling": ((2, 3, 8, 8), 2, 2),
    "2x2_odd_nonsquare_drops_edge": ((2, 3, 7, 10), 2, 2),
    "2x2_odd_width_drops_edge": ((2, 3, 10, 9), 2, 2),
    "batch1_1ch": ((1, 1, 6, 6), 2, 2),
    "2x2_overlapping": ((2, 2, 7, 9), 2, 1),
    "2x2_gaps": ((2, 2, 10, 11), 2, 3),
    "3x3_stride2_overlapping": ((1, 2, 9, 11), 3, 2),
    "3x3_stride1": ((2, 3, 8, 8), 3, 1),
    "3x3_tiling": ((2, 3, 7, 9), 3, 3),
    "1x1": ((2, 2, 5, 5), 1, 1),
    "whole_plane": ((3, 4, 6, 6), 6, 6),
    "mnist": ((4, 16, 28, 28), 2, 2),
}
CASES = [pytest.param(*spec, id=name) for name, spec in SHAPES.items()]
COUNTS = [1, 2] if threads.most() >= 2 else [1]
needs_two = pytest.mark.skipif(threads.most() < 2, reason="numba runs one thread here")
DTYPES = [
    pytest.param(np.float32, RTOL_32, ATOL_PER_TERM_32, id="float32"),
    pytest.param(np.float64, RTOL_64, ATOL_PER_TERM_64, id="float64"),
]


def distinct(rng, shape, dtype):
    """Distinct values (a permutation, exact in float32 below 2**24) in random order."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) - 100.5).astype(dtype)


@pytest.fixture(autouse=True)
def one_thread_after():
    yield
    threads.set_threads(1)


@pytest.mark.parametrize("dtype, rtol, atol_per_term", DTYPES)
@pytest.mark.parametrize("x_shape, size, stride", CASES)
def test_maxpool_matches_reference(x_shape, size, stride, dtype, rtol, atol_per_term, seed):
    rng = np.random.default_rng(seed)
    x = distinct(rng, x_shape, dtype)
    y, argmax = maxpool2d_forward(x, size, stride)
    y_ref, argmax_ref = ref.maxpool2d_forward(x, size, stride)
    assert y.dtype == dtype and argmax.dtype == np.int32
    np.testing.assert_array_equal(y, y_ref, err_msg=f"seed={seed}")
    np.testing.assert_array_equal(argmax, argmax_ref, err_msg=f"seed={seed}")
    dy = rng.standard_normal(y.shape).astype(dtype)
    dy_before = dy.copy()
    dx = maxpool2d_backward(dy, argmax, x.shape)
    assert dx.dtype == dtype
    # overlapping windows may send several dy to one input: at most ceil(size/stride)**2 terms
    K = (-(-size // stride)) ** 2
    np.testing.assert_allclose(
        dx,
        ref.maxpool2d_backward(dy, x, size, stride),
        rtol=rtol,
        atol=atol_per_term * K,
        err_msg=f"seed={seed}",
    )
    np.testing.assert_array_equal(dy, dy_before)


@pytest.mark.parametrize("dtype, rtol, atol_per_term", DTYPES)
@pytest.mark.parametrize("x_shape, size, stride", CASES)
def test_avgpool_matches_reference(x_shape, size, stride, dtype, rtol, atol_per_term, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    y = avgpool2d_forward(x, size, stride)
    assert y.dtype == dtype
    np.testing.assert_allclose(
        y,
        ref.avgpool2d_forward(x, size, stride),
        rtol=rtol,
        atol=atol_per_term * size * size,
        err_msg=f"seed={seed}",
    )
    dy = rng.standard_normal(y.shape).astype(dtype)
    dy_before = dy.copy()
    dx = avgpool2d_backward(dy, x.shape, size, stride)
    assert dx.dtype == dtype
    np.testing.assert_allclose(
        dx,
        ref.avgpool2d_backward(dy, x.shape, size, stride),
        rtol=rtol,
        atol=atol_per_term * (-(-size // stride)) ** 2,
        err_msg=f"seed={seed}",
    )
    np.testing.assert_array_equal(dy, dy_before)


@pytest.mark.parametrize("size, stride", [(2, 2), (2, 1), (3, 2), (3, 3)])
def test_max_ties_go_to_the_first_element_in_row_major_order(size, stride):
    x = np.zeros((1, 1, 7, 7), np.float32)  # all ties: every window picks its top-left
    y, argmax = maxpool2d_forward(x, size, stride)
    OH, OW = y.shape[2:]
    top_left = (np.arange(OH)[:, None] * stride) * 7 + np.arange(OW)[None, :] * stride
    np.testing.assert_array_equal(argmax[0, 0], top_left)
    x[0, 0, 1, 1] = x[0, 0, 0, 1] = 5.0  # two maxima in the first window: row 0 comes first
    _, argmax = maxpool2d_forward(x, size, stride)
    assert argmax[0, 0, 0, 0] == 1
    x[0, 0, 0, 1] = 0.0
    x[0, 0, 1, 0] = 5.0  # (1, 0) and (1, 1): the left one
    _, argmax = maxpool2d_forward(x, size, stride)
    assert argmax[0, 0, 0, 0] == 7
    dx = maxpool2d_backward(np.ones_like(y), argmax, x.shape)
    assert dx[0, 0, 1, 0] >= 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_2x2_ties_between_any_two_elements_go_to_the_first(dtype):
    # one window per pair of tied maxima, the other two elements lower (a 2x2 stride-2 plane)
    corners = [(0, 0), (0, 1), (1, 0), (1, 1)]
    pairs = [(p, q) for k, p in enumerate(corners) for q in corners[k + 1 :]]
    x = np.zeros((1, 1, 2, 2 * len(pairs)), dtype)
    for k, (p, q) in enumerate(pairs):
        x[0, 0, p[0], 2 * k + p[1]] = x[0, 0, q[0], 2 * k + q[1]] = 3.0
    _, argmax = maxpool2d_forward(x, 2, 2)
    _, argmax_ref = ref.maxpool2d_forward(x, 2, 2)
    np.testing.assert_array_equal(argmax, argmax_ref)


@pytest.mark.parametrize("size, stride", [(2, 2), (2, 1), (3, 3), (3, 2)])
def test_max_propagates_the_first_nan(size, stride):
    x = np.arange(36, dtype=np.float32).reshape(1, 1, 6, 6)
    x[0, 0, 0, 1] = np.nan
    x[0, 0, 1, 0] = np.nan
    x[0, 0, 4, 4] = np.inf
    y, argmax = maxpool2d_forward(x, size, stride)
    assert np.isnan(y[0, 0, 0, 0]) and argmax[0, 0, 0, 0] == 1
    y_ref, argmax_ref = ref.maxpool2d_forward(x, size, stride)  # numpy's argmax: first NaN
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(argmax, argmax_ref)


def test_windows_that_do_not_fit_get_zero_gradient(seed):
    rng = np.random.default_rng(seed)
    x = distinct(rng, (2, 2, 7, 9), np.float32)
    y, argmax = maxpool2d_forward(x, 2, 2)
    assert y.shape == (2, 2, 3, 4)
    dx = maxpool2d_backward(np.ones_like(y), argmax, x.shape)
    assert not dx[:, :, 6:].any() and not dx[:, :, :, 8:].any()
    assert dx.sum() == y.size
    dx = avgpool2d_backward(np.ones_like(y), x.shape, 2, 2)
    assert not dx[:, :, 6:].any() and not dx[:, :, :, 8:].any()
    np.testing.assert_allclose(dx[:, :, :6, :8], 0.25)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: maxpool2d_forward(np.zeros((3, 4, 4), np.float32), 2, 2), r"x \(3, 4, 4\)"),
        (lambda: avgpool2d_forward(np.zeros((1, 1, 4, 4), np.int64), 2, 2), "float32 or float64"),
        (lambda: maxpool2d_forward(np.zeros((1, 1, 3, 5), np.float32), 4, 1), "would be empty"),
        (lambda: avgpool2d_forward(np.zeros((1, 1, 4, 4)), 0, 1), "size must be a positive"),
        (lambda: maxpool2d_forward(np.zeros((1, 1, 4, 4)), 2, 2.0), "stride must be a positive"),
        (
            lambda: avgpool2d_backward(np.zeros((1, 1, 3, 3)), (1, 1, 4, 4), 2, 2),
            r"dy \(1, 1, 3, 3\) does not match x_shape \(1, 1, 4, 4\)",
        ),
        (
            lambda: maxpool2d_backward(
                np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2), np.int64), (1, 1, 4, 4)
            ),
            r"argmax \(1, 1, 2, 2\) int64 should be",
        ),
        (
            lambda: maxpool2d_backward(
                np.zeros((1, 2, 2, 2)), np.zeros((1, 2, 2, 2), np.int32), (1, 1, 4, 4)
            ),
            "does not match x_shape",
        ),
    ],
)
def test_rejects_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- on 1 and 2 threads
# The planes split into `pool2d.BLOCKS` blocks; a plane's outputs depend on that plane alone, so
# the results are the same bits on any thread count. Odd plane counts leave uneven blocks.
# Most shapes are below `pool2d.PARALLEL_MIN`: the tests take the minimum away, so that they
# run the parallel cores on 2 threads.


@pytest.fixture
def parallel_cores(monkeypatch):
    monkeypatch.setattr(pool2d, "PARALLEL_MIN", 0)


THREAD_SHAPES = {  # x (N, C, H, W), size, stride
    "lenet_first_pool": ((64, 8, 28, 28), 2, 2),
    "lenet_second_pool": ((64, 16, 8, 8), 2, 2),  # small planes: taken 16 at a time
    "small_planes_partial_groups": ((50, 41, 8, 6), 2, 2),  # groups of 21 in 64-65 planes
    "batch1": ((1, 1, 6, 6), 2, 2),
    "odd_planes_odd_sizes": ((19, 3, 7, 10), 2, 2),
    "3x3_stride2_overlapping": ((11, 3, 9, 11), 3, 2),
    "2x2_gaps": ((5, 7, 10, 11), 2, 3),
    "2x2_stride1": ((9, 4, 7, 6), 2, 1),
}
THREAD_CASES = [pytest.param(*spec, id=name) for name, spec in THREAD_SHAPES.items()]


def pool_results(x, size, stride, dy, count):
    threads.set_threads(count)
    y, argmax = maxpool2d_forward(x, size, stride)
    return {
        "max": y,
        "argmax": argmax,
        "max dx": maxpool2d_backward(dy, argmax, x.shape),
        "avg": avgpool2d_forward(x, size, stride),
        "avg dx": avgpool2d_backward(dy, x.shape, size, stride),
    }


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("x_shape, size, stride", THREAD_CASES)
def test_pools_match_reference_on_each_thread_count(
    x_shape, size, stride, count, seed, parallel_cores
):
    rng = np.random.default_rng(seed)
    x = distinct(rng, x_shape, np.float32)
    OH, OW = pool2d.pool2d_output_size(x_shape[2:], size, stride)
    dy = rng.standard_normal((*x_shape[:2], OH, OW)).astype(np.float32)
    got = pool_results(x, size, stride, dy, count)
    y_ref, argmax_ref = ref.maxpool2d_forward(x, size, stride)
    np.testing.assert_array_equal(got["max"], y_ref, err_msg=f"seed={seed}")
    np.testing.assert_array_equal(got["argmax"], argmax_ref, err_msg=f"seed={seed}")
    K = (-(-size // stride)) ** 2  # the windows covering one input
    tol = {"rtol": RTOL_32, "err_msg": f"seed={seed} on {count} thread(s)"}
    np.testing.assert_allclose(
        got["max dx"], ref.maxpool2d_backward(dy, x, size, stride), atol=ATOL_PER_TERM_32 * K, **tol
    )
    np.testing.assert_allclose(
        got["avg"], ref.avgpool2d_forward(x, size, stride), atol=ATOL_PER_TERM_32 * size**2, **tol
    )
    np.testing.assert_allclose(
        got["avg dx"],
        ref.avgpool2d_backward(dy, x.shape, size, stride),
        atol=ATOL_PER_TERM_32 * K,
        **tol,
    )


@needs_two
@pytest.mark.parametrize("x_shape, size, stride", THREAD_CASES)
def test_pools_give_the_same_bits_on_one_and_two_threads(
    x_shape, size, stride, seed, parallel_cores
):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape, np.float32)
    OH, OW = pool2d.pool2d_output_size(x_shape[2:], size, stride)
    dy = rng.standard_normal((*x_shape[:2], OH, OW), np.float32)
    one, two = (pool_results(x, size, stride, dy, count) for count in (1, 2))
    for name in one:
        np.testing.assert_array_equal(two[name], one[name], err_msg=f"seed={seed}: {name}")


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize(
    "x_shape, nan_at",
    [((40, 3, 6, 6), (33, 2, 1, 0)), ((64, 16, 8, 8), (33, 7, 5, 2))],
    ids=["6x6_planes", "8x8_planes_in_a_group"],
)
def test_max_nan_in_one_plane_of_a_later_block_propagates(count, x_shape, nan_at, parallel_cores):
    # the NaN-exact redo of one plane (or of its group of small planes) inside a block leaves
    # its neighbours' numbers alone
    x = np.arange(np.prod(x_shape), dtype=np.float32).reshape(x_shape)
    x[nan_at] = np.nan
    threads.set_threads(count)
    y, argmax = maxpool2d_forward(x, 2, 2)
    y_ref, argmax_ref = ref.maxpool2d_forward(x, 2, 2)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(argmax, argmax_ref)
    n, c, h, w = nan_at
    assert np.isnan(y[n, c, h // 2, w // 2]) and np.isnan(y).sum() == 1


@needs_two
def test_small_pools_stay_on_the_calling_thread(monkeypatch):
    # digits-cnn's pool (512 inputs a sample) on a probe's 256 samples, on 2 threads: no
    # parallel core starts
    def refuse(*args):
        raise AssertionError("a parallel core started for 512 inputs a sample")

    cores = ("_maxpool_core", "_maxpool_backward_core", "avgpool_core", "avgpool_backward_core")
    for core in cores:
        monkeypatch.setattr(pool2d, core, refuse)
    threads.set_threads(2)
    x = distinct(np.random.default_rng(), (256, 8, 8, 8), np.float32)
    y, argmax = maxpool2d_forward(x, 2, 2)
    np.testing.assert_array_equal(y, ref.maxpool2d_forward(x, 2, 2)[0])
    maxpool2d_backward(np.ones_like(y), argmax, x.shape)
    avgpool2d_backward(avgpool2d_forward(x, 2, 2), x.shape, 2, 2)
