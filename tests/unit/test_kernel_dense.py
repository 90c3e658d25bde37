"""kernels.dense.matmul: numpy's product on one thread, in row or column blocks on two; the
same bits on a repeat at a given count."""

import numpy as np
import pytest

from tuidl.kernels import dense, threads


@pytest.fixture(params=[1, 2], ids=["1 thread", "2 threads"])
def count(request):
    if request.param > threads.most():
        pytest.skip("numba runs one thread here")
    threads.set_threads(request.param)
    yield request.param
    threads.set_threads(1)


# (M, K, N): one block, column blocks, row blocks, sides no block count divides, a single row
SHAPES = [(64, 120, 10), (64, 784, 256), (784, 64, 256), (97, 513, 300), (301, 257, 97),
          (1, 300, 200)]  # fmt: skip


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_matches_numpy_and_repeats_bit_for_bit(shape, dtype, seed, count):
    M, K, N = shape
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((M, K)).astype(dtype)
    b = rng.standard_normal((K, N)).astype(dtype)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    y = dense.matmul(a, b)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    err = np.abs(y - exact).max() / np.abs(exact).max()
    assert err < tol, f"seed {seed}: relative error {err:.2e}"
    assert np.array_equal(dense.matmul(a, b), y), f"seed {seed}: a repeat differs"


def test_transposed_operands_and_out(seed, count):
    # the dense layer's backward: x.T @ dy into the gradient array (row blocks), dy @ W.T
    # (column blocks of a transposed view)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 784)).astype(np.float32)
    dy = rng.standard_normal((64, 256)).astype(np.float32)
    W = rng.standard_normal((784, 256)).astype(np.float32)
    dW = np.empty((784, 256), np.float32)
    assert dense.matmul(x.T, dy, out=dW) is dW
    np.testing.assert_allclose(dW, x.T.astype(np.float64) @ dy, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dense.matmul(dy, W.T), dy.astype(np.float64) @ W.T, atol=1e-3)


def test_blocks_follow_the_shapes_and_the_count():
    assert dense.blocks(64, 10, 120, 2)[0] == 1  # too small to share
    assert dense.blocks(16, 4096, 4096, 2) == (2, False)  # few rows: columns
    assert dense.blocks(16, 40, 4096, 2)[0] == 1  # too few rows and columns to cut
    assert dense.blocks(64, 256, 784, 2) == (2, False)  # the input is the smaller operand
    assert dense.blocks(784, 256, 64, 2) == (2, True)  # dy is
    assert dense.blocks(4096, 4096, 4096, 8) == (8, True)
    assert dense.blocks(4096, 4096, 4096, 1) == (1, True)


def test_set_threads_refuses_counts_numba_cannot_run():
    for bad in (0, threads.most() + 1, 1.5, True):
        with pytest.raises(ValueError, match="threads must be an integer"):
            threads.set_threads(bad)
    assert threads.threads() >= 1
