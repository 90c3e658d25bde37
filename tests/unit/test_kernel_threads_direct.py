"""The direct convolution on 1 and 2 threads (the pools': `test_kernel_pool2d.py`).

The parallel cores split the batch into `direct.BLOCKS` blocks of samples fixed by the shapes,
with a dW/db partial per block summed in block order, so the results must be the same bits on
1 and 2 threads, and match the float64 reference in `reference.py` on either. Shapes: batch 1,
batches that are not a multiple of the block count (blocks of 1 and 2 samples), more samples
than blocks, odd and non-square sizes, lopsided padding, padding wider than the kernel.
Tolerances as in `test_kernel_conv2d.py`: float32 `rtol = 1e-5`, `atol = 1e-6 * K`, K the
terms summed into one output entry.
"""

import numpy as np
import pytest
import reference as ref

from tuidl.kernels import direct, threads
from tuidl.kernels.conv2d import (
    conv2d_backward,
    conv2d_forward,
    conv2d_forward_train,
    conv2d_output_size,
)

RTOL_32 = 1e-5
ATOL_PER_TERM_32 = 1e-6
RTOL_64 = 1e-10
ATOL_PER_TERM_64 = 1e-14
COUNTS = [1, 2] if threads.most() >= 2 else [1]
needs_two = pytest.mark.skipif(threads.most() < 2, reason="numba runs one thread here")
DEFAULT_MACS = direct.PARALLEL_MACS

CONV_SHAPES = {  # x (N, C, H, W), W (F, C, KH, KW), pad (top, bottom, left, right)
    "batch1_mnist_first_layer": ((1, 1, 28, 28), (8, 1, 5, 5), (2, 2, 2, 2)),
    "19_samples_odd_nonsquare": ((19, 3, 7, 10), (5, 3, 3, 3), (1, 1, 1, 1)),
    "37_samples_lopsided_pad": ((37, 2, 9, 8), (3, 2, 5, 3), (0, 2, 1, 3)),
    "pad_wider_than_kernel": ((5, 2, 6, 6), (3, 2, 3, 3), (3, 3, 0, 4)),
    "lenet_second_layer": ((20, 8, 14, 14), (16, 8, 5, 5), (0, 0, 0, 0)),
}
CONV_CASES = [pytest.param(*spec, id=name) for name, spec in CONV_SHAPES.items()]


@pytest.fixture(autouse=True)
def one_thread_after(monkeypatch):
    # the shapes here are small: on 2 threads they run the parallel cores only without the
    # minimum work for them (`direct.PARALLEL_MACS`, tested below)
    monkeypatch.setattr(direct, "PARALLEL_MACS", 0)
    yield
    threads.set_threads(1)


def conv_grads(x, W, b, dy, pad, count):
    """y, dx, dW, db on `count` threads, and dW, db again without workspace and dx."""
    threads.set_threads(count)
    y, workspace = conv2d_forward_train(x, W, b, 1, pad, method="direct")
    dx, dW, db = conv2d_backward(dy, x, W, 1, pad, True, workspace=workspace)
    no_dx, dW2, db2 = conv2d_backward(dy, x, W, 1, pad, False, method="direct")
    assert no_dx is None
    np.testing.assert_array_equal(dW2, dW)  # the same blocks, in the same order
    np.testing.assert_array_equal(db2, db)
    np.testing.assert_array_equal(conv2d_forward(x, W, b, 1, pad, method="direct"), y)
    return {"y": y, "dx": dx, "dW": dW, "db": db}


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("x_shape, w_shape, pad", CONV_CASES)
def test_direct_matches_reference_on_each_thread_count(x_shape, w_shape, pad, count, seed):
    rng = np.random.default_rng(seed)
    x, W = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    y_ref = ref.conv2d_forward(x, W, b, 1, pad)
    dy = rng.standard_normal(y_ref.shape)
    want = dict(
        zip(["y", "dx", "dW", "db"], (y_ref, *ref.conv2d_backward(dy, x, W, 1, pad)), strict=True)
    )
    N, C = x_shape[:2]
    F, _, KH, KW = w_shape
    OH, OW = y_ref.shape[2:]
    K = {"y": C * KH * KW, "dx": F * KH * KW, "dW": N * OH * OW, "db": N * OH * OW}
    # float64 (gradient checks) runs on one thread; on two it would only compile the parallel
    # cores a second time
    dtypes = [(np.float32, RTOL_32, ATOL_PER_TERM_32)]
    if count == 1:
        dtypes.append((np.float64, RTOL_64, ATOL_PER_TERM_64))
    for dtype, rtol, atol in dtypes:
        args = (a.astype(dtype) for a in (x, W, b, dy))
        got = conv_grads(*args, pad, count)
        for name, value in got.items():
            assert value.dtype == dtype
            np.testing.assert_allclose(
                value.reshape(want[name].shape),
                want[name],
                rtol=rtol,
                atol=atol * K[name],
                err_msg=f"seed={seed}: {name} {dtype.__name__} on {count} thread(s)",
            )


@needs_two
@pytest.mark.parametrize("x_shape, w_shape, pad", CONV_CASES)
def test_direct_gives_the_same_bits_on_one_and_two_threads(x_shape, w_shape, pad, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape, np.float32)
    W = rng.standard_normal(w_shape, np.float32)
    b = rng.standard_normal(w_shape[0], np.float32)
    OH, OW = conv2d_output_size(x_shape[2:], w_shape[2:], 1, pad)
    y_shape = (x_shape[0], w_shape[0], OH, OW)
    dy = rng.standard_normal(y_shape, np.float32)
    one, two = (conv_grads(x, W, b, dy, pad, count) for count in (1, 2))
    for name in one:
        np.testing.assert_array_equal(two[name], one[name], err_msg=f"seed={seed}: {name}")


def test_direct_splits_batches_into_blocks_fixed_by_the_batch_size():
    assert direct._block_count(1) == 1
    assert direct._block_count(7) == 7
    assert direct._block_count(64) == direct._block_count(1000) == direct.BLOCKS


@needs_two
def test_small_convolutions_stay_on_the_calling_thread(monkeypatch, seed):
    # digits-cnn's first layer (4.6k multiply-adds a sample) on a probe's 256 samples: the
    # parallel cores are not started, and the results are the bits they give (the same blocks
    # and partials)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((256, 1, 8, 8), np.float32)
    W = rng.standard_normal((8, 1, 3, 3), np.float32)
    b = rng.standard_normal(8, np.float32)
    dy = rng.standard_normal((256, 8, 8, 8), np.float32)
    pad = (1, 1, 1, 1)
    forced = conv_grads(x, W, b, dy, pad, 2)  # PARALLEL_MACS is 0 in this module's tests

    def refuse(*args):
        raise AssertionError("a parallel core started for 4.6k multiply-adds a sample")

    monkeypatch.setattr(direct, "PARALLEL_MACS", DEFAULT_MACS)
    monkeypatch.setattr(direct, "_forward_core", refuse)
    monkeypatch.setattr(direct, "_backward_core", refuse)
    serial = conv_grads(x, W, b, dy, pad, 2)
    for name in forced:
        np.testing.assert_array_equal(serial[name], forced[name], err_msg=f"seed={seed}")
