"""kernels.dense.matmul: numpy's product in row blocks, the same bits on 1 and 2 threads."""

import numpy as np
import pytest

from tuidl.kernels import dense, threads


@pytest.fixture
def two_threads():
    if threads.most() < 2:
        pytest.skip("numba runs one thread here")
    yield
    threads.set_threads(1)


# (M, K, N): one block, several blocks, a row count no block size divides, a single row
SHAPES = [(64, 120, 10), (64, 784, 256), (784, 64, 256), (97, 513, 300), (1, 300, 200)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_matches_numpy_at_1_and_2_threads_bit_for_bit(shape, dtype, seed, two_threads):
    M, K, N = shape
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((M, K)).astype(dtype)
    b = rng.standard_normal((K, N)).astype(dtype)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    results = []
    for count in (1, 2):
        threads.set_threads(count)
        results.append(dense.matmul(a, b))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    err = np.abs(results[0] - exact).max() / np.abs(exact).max()
    assert err < tol, f"seed {seed}: relative error {err:.2e}"
    assert np.array_equal(results[0], results[1]), f"seed {seed}: 1 and 2 threads differ"


def test_transposed_operands_and_out(seed, two_threads):
    # the dense layer's backward: x.T @ dy into the gradient array, dy @ W.T
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 784)).astype(np.float32)
    dy = rng.standard_normal((64, 256)).astype(np.float32)
    W = rng.standard_normal((784, 256)).astype(np.float32)
    threads.set_threads(2)
    dW = np.empty((784, 256), np.float32)
    assert dense.matmul(x.T, dy, out=dW) is dW
    np.testing.assert_allclose(dW, x.T.astype(np.float64) @ dy, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dense.matmul(dy, W.T), dy.astype(np.float64) @ W.T, atol=1e-3)


def test_blocks_depend_on_the_shapes_only():
    assert dense.blocks(64, 10, 120) == 1  # too small to share
    assert dense.blocks(16, 4096, 4096) == 1  # too few rows
    assert dense.blocks(64, 256, 784) == 2
    assert dense.blocks(4096, 4096, 4096) == dense.MAX_BLOCKS


def test_set_threads_refuses_counts_numba_cannot_run():
    for bad in (0, threads.most() + 1, 1.5, True):
        with pytest.raises(ValueError, match="threads must be an integer"):
            threads.set_threads(bad)
    assert threads.threads() >= 1
