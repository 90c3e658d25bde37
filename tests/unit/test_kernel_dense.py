"""kernels.dense: the dense layer's forward (x W + b) and backward (dW, db, dx) against float64
numpy, one product on one thread, row or column blocks on two; the same bits on a repeat at a
given count. Tolerance: relative error 1e-5 (float32), 1e-12 (float64)."""

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


# (N, D, U): numpy's calls (fewer weights than MIN_WEIGHTS), a forward cut in depth, row
# blocks, sides no block count divides, a large batch, one block (a small batch), a single row
# (float64 always takes numpy's calls); on 2 threads the backward's two products run side by
# side
SHAPES = [(64, 120, 10), (64, 784, 256), (784, 64, 256), (97, 513, 300), (301, 257, 97),
          (1031, 128, 160), (2, 128, 128), (1, 300, 200)]  # fmt: skip
TOL = {np.float32: 1e-5, np.float64: 1e-12}


def operands(shape, dtype, seed):
    N, D, U = shape
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in ((N, D), (D, U), (U,), (N, U))]


def rel_err(value, exact):
    return np.abs(value - exact).max() / np.abs(exact).max()


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_and_backward_match_numpy_and_repeat_bit_for_bit(shape, dtype, seed, count):
    x, W, b, dy = operands(shape, dtype, seed)
    x64, W64, dy64 = (a.astype(np.float64) for a in (x, W, dy))
    y = dense.forward(x, W, b)
    assert rel_err(y, x64 @ W64 + b) < TOL[dtype], f"seed {seed}: y"
    dW, db = np.full_like(W, np.nan), np.full_like(b, np.nan)
    dx = dense.backward(x, W, dy, dW, db)
    for name, value, exact in (
        ("dW", dW, x64.T @ dy64),
        ("db", db, dy64.sum(axis=0)),
        ("dx", dx, dy64 @ W64.T),
    ):
        assert rel_err(value, exact) < TOL[dtype], f"seed {seed}: {name}"
    again = np.empty_like(dW), np.empty_like(db)
    assert np.array_equal(dense.forward(x, W, b), y), f"seed {seed}: a repeat's y differs"
    assert np.array_equal(dense.backward(x, W, dy, *again), dx), f"seed {seed}: dx differs"
    assert np.array_equal(again[0], dW) and np.array_equal(again[1], db), f"seed {seed}"


@pytest.mark.parametrize("shape", [(64, 784, 256), (1031, 128, 160)], ids=["rows", "depth"])
def test_backward_without_dx_writes_the_weight_gradients(shape, seed, count):
    # a first layer's: dW takes every thread (with dx, each product takes half of them)
    x, W, b, dy = operands(shape, np.float32, seed)
    dW, db = np.full_like(W, np.nan), np.full_like(b, np.nan)
    assert dense.backward(x, W, dy, dW, db, need_dx=False) is None
    assert rel_err(dW, x.T.astype(np.float64) @ dy) < 1e-5, f"seed {seed}"
    assert rel_err(db, dy.astype(np.float64).sum(axis=0)) < 1e-5, f"seed {seed}"


def test_views_without_contiguous_rows(seed, count):
    # a slice of a wider batch (rows apart by more than their length) and a transposed input
    x, W, b, dy = operands((64, 784, 256), np.float32, seed)
    wide = np.zeros((64, 800), np.float32)
    wide[:, 7:791] = x
    for view in (wide[:, 7:791], np.asfortranarray(x)):
        np.testing.assert_array_equal(dense.forward(view, W, b), dense.forward(x, W, b))
        dW, db = np.empty_like(W), np.empty_like(b)
        dx = dense.backward(view, W, dy, dW, db)
        np.testing.assert_allclose(dW, x.T.astype(np.float64) @ dy, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(dx, dy.astype(np.float64) @ W.T, rtol=1e-4, atol=1e-3)


def test_blocks_follow_the_shapes_and_the_count():
    rows, cols, depth = dense.ROWS, dense.COLUMNS, dense.DEPTH
    assert dense.blocks(64, 10, 120, 2)[0] == 1  # too small to share
    assert dense.blocks(16, 4096, 4096, 2) == (2, cols)  # few rows: columns
    assert dense.blocks(16, 40, 300, 2)[0] == 1  # too few rows and columns to cut
    assert dense.blocks(64, 256, 784, 2) == (2, depth)  # a small output of a deep product
    assert dense.blocks(64, 784, 256, 2) == (2, cols)  # the input is the smaller operand
    assert dense.blocks(784, 256, 64, 2) == (2, rows)  # dy is
    assert dense.blocks(128, 160, 1031, 2) == (2, depth)  # dW of a large batch
    assert dense.blocks(4096, 4096, 4096, 8) == (8, rows)
    assert dense.blocks(4096, 4096, 4096, 1) == (1, rows)


def test_set_threads_refuses_counts_numba_cannot_run():
    for bad in (0, threads.most() + 1, 1.5, True):
        with pytest.raises(ValueError, match="threads must be an integer"):
            threads.set_threads(bad)
    assert threads.threads() >= 1
