"""kernels.elementwise: ReLU forward and backward against numpy, on 1 and 2 threads."""

import numpy as np
import pytest

from tuidl.kernels import elementwise, threads


@pytest.fixture(params=[1, 2], ids=["1 thread", "2 threads"])
def thread_count(request):
    if request.param > threads.most():
        pytest.skip("numba runs one thread here")
    threads.set_threads(request.param)
    yield request.param
    threads.set_threads(1)


# (2, 1100, 1000) is above PARALLEL_MIN: on 2 threads it runs the parallel cores
SHAPES = [(64, 8, 28, 28), (2, 1100, 1000), (1, 3), (7, 13, 5), (1,)]


def test_the_large_shape_is_large_enough_for_two_threads():
    assert np.prod(SHAPES[1]) >= elementwise.PARALLEL_MIN


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_matches_numpy_exactly(shape, dtype, seed, thread_count):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[0] = 0.0  # the kink: max(0, 0) = 0 and no gradient through it
    dy = rng.standard_normal(shape).astype(dtype)
    y = elementwise.relu_forward(x)
    dx = elementwise.relu_backward(dy, x)
    assert y.dtype == dx.dtype == dtype
    assert np.array_equal(y, np.maximum(x, 0)), f"seed {seed}"
    assert np.array_equal(dx, np.where(x > 0, dy, 0)), f"seed {seed}"


def test_relu_takes_views_and_keeps_nan(thread_count):
    x = np.arange(-6, 6, dtype=np.float32).reshape(3, 4).T  # not contiguous
    assert np.array_equal(elementwise.relu_forward(x), np.maximum(x, 0))
    poisoned = np.array([np.nan, -1.0, 2.0], np.float32)
    y = elementwise.relu_forward(poisoned)
    assert np.isnan(y[0]) and y[1] == 0 and y[2] == 2  # a diverged layer stays visible
    dx = elementwise.relu_backward(np.array([np.nan, 1.0, 1.0], np.float32), poisoned)
    assert np.isnan(dx[0]) and dx[1] == 0 and dx[2] == 1
    with pytest.raises(ValueError, match="differ"):
        elementwise.relu_backward(np.ones(3, np.float32), np.ones(4, np.float32))
