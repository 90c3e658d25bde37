"""The gemm (im2col) and winograd convolutions on 1 and 2 threads.

Both split the batch into blocks of samples fixed by the shapes (`im2col._block_size`,
`winograd._Plan`), so their results must be the same bits on 1 and 2 threads, and match the
float64 reference in `reference.py` on either. Shapes: batch 1, batches that are not a
multiple of the block size (a short last block, a part-filled winograd tile group), stride 2
and 3, lopsided padding, conv2d B's channels; the block size is also forced down to one
sample (gemm) or one tile group (winograd) so that small batches run in many blocks.
Tolerances as in `test_kernel_conv2d.py`: float32 `rtol = 1e-5`, `atol = 1e-6 * K` (winograd
1e-5 * K), K the terms summed into one output entry.
"""

import numpy as np
import pytest
import reference as ref

from tuidl.kernels import im2col, threads, winograd
from tuidl.kernels.conv2d import conv2d_backward, conv2d_forward, conv2d_forward_train

RTOL_32 = 1e-5
ATOL_PER_TERM_32 = 1e-6
ATOL_PER_TERM_WINOGRAD_32 = 1e-5
RTOL_64 = 1e-10
ATOL_PER_TERM_64 = 1e-14
COUNTS = [1, 2] if threads.most() >= 2 else [1]
needs_two = pytest.mark.skipif(threads.most() < 2, reason="numba runs one thread here")

SHAPES = {  # x (N, C, H, W), W (F, C, KH, KW), stride, pad (top, bottom, left, right), methods
    "batch1": ((1, 3, 7, 10), (4, 3, 3, 3), 1, (1, 1, 1, 1), ("gemm", "winograd")),
    "conv_b_channels_20_samples": ((20, 16, 14, 14), (32, 16, 3, 3), 1, (1, 1, 1, 1), ("gemm",)),
    "19_samples_lopsided_pad": ((19, 3, 7, 8), (5, 3, 3, 3), 1, (0, 2, 2, 1), ("gemm", "winograd")),
    "tall_5x3_kernel": ((7, 2, 6, 6), (3, 2, 5, 3), 1, (2, 2, 1, 1), ("gemm",)),
    "stride2_asymmetric_pad": ((11, 3, 9, 10), (4, 3, 3, 3), 2, (1, 0, 0, 1), ("gemm",)),
    "stride3_pad": ((6, 2, 11, 10), (3, 2, 3, 2), 3, (2, 1, 1, 2), ("gemm",)),
}
CASES = [
    pytest.param(*spec[:4], method, id=f"{name}-{method}")
    for name, spec in SHAPES.items()
    for method in spec[4]
]
# conv2d B's channels at the default block sizes: winograd runs 8-sample blocks (3 here)
WINOGRAD_B = pytest.param((20, 16, 14, 14), (32, 16, 3, 3), 1, (1, 1, 1, 1), "winograd", id="B")


@pytest.fixture(autouse=True)
def one_thread_after():
    yield
    threads.set_threads(1)


@pytest.fixture(params=["default", "small"])
def blocks(request, monkeypatch):
    """The default block sizes, or the smallest: one sample (gemm), one tile group (winograd)."""
    if request.param == "small":
        monkeypatch.setattr(im2col, "BLOCK_BYTES", 1)
        monkeypatch.setattr(winograd, "BLOCK_BYTES", 1)
    return request.param


def grads(x, W, b, dy, stride, pad, method, count):
    """y, dx, dW, db on `count` threads (backward from the workspace), checked against the same
    pass without a workspace and without dx, and against inference."""
    threads.set_threads(count)
    y, workspace = conv2d_forward_train(x, W, b, stride, pad, method=method)
    dx, dW, db = conv2d_backward(dy, x, W, stride, pad, True, workspace=workspace)
    no_dx, dW2, db2 = conv2d_backward(dy, x, W, stride, pad, False, method=method)
    assert no_dx is None
    np.testing.assert_array_equal(dW2, dW)  # the same blocks, in the same order
    np.testing.assert_array_equal(db2, db)
    np.testing.assert_array_equal(conv2d_forward(x, W, b, stride, pad, method=method), y)
    return {"y": y, "dx": dx, "dW": dW, "db": db}


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("x_shape, w_shape, stride, pad, method", [*CASES, WINOGRAD_B])
def test_matches_reference_on_each_thread_count(
    x_shape, w_shape, stride, pad, method, count, blocks, seed
):
    rng = np.random.default_rng(seed)
    x, W = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    y_ref = ref.conv2d_forward(x, W, b, stride, pad)
    dy = rng.standard_normal(y_ref.shape)
    names = ["y", "dx", "dW", "db"]
    want = dict(zip(names, (y_ref, *ref.conv2d_backward(dy, x, W, stride, pad)), strict=True))
    N, C = x_shape[:2]
    F, _, KH, KW = w_shape
    OH, OW = y_ref.shape[2:]
    K = {"y": C * KH * KW, "dx": F * KH * KW, "dW": N * OH * OW, "db": N * OH * OW}
    atol_32 = ATOL_PER_TERM_WINOGRAD_32 if method == "winograd" else ATOL_PER_TERM_32
    for dtype, rtol, atol in (
        (np.float32, RTOL_32, atol_32),
        (np.float64, RTOL_64, ATOL_PER_TERM_64),
    ):
        args = (a.astype(dtype) for a in (x, W, b, dy))
        got = grads(*args, stride, pad, method, count)
        for name, value in got.items():
            assert value.dtype == dtype
            np.testing.assert_allclose(
                value,
                want[name],
                rtol=rtol,
                atol=atol * K[name],
                err_msg=f"seed={seed}: {name} {dtype.__name__} {method} on {count} thread(s), "
                f"{blocks} blocks",
            )


@needs_two
@pytest.mark.parametrize("x_shape, w_shape, stride, pad, method", [*CASES, WINOGRAD_B])
def test_same_bits_on_one_and_two_threads(x_shape, w_shape, stride, pad, method, blocks, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape, np.float32)
    W = rng.standard_normal(w_shape, np.float32)
    b = rng.standard_normal(w_shape[0], np.float32)
    y_shape = conv2d_forward(x, W, b, stride, pad, method=method).shape
    dy = rng.standard_normal(y_shape, np.float32)
    one, two = (grads(x, W, b, dy, stride, pad, method, count) for count in (1, 2))
    for name in one:
        np.testing.assert_array_equal(two[name], one[name], err_msg=f"seed={seed}: {name}")


@needs_two
@pytest.mark.parametrize("method", ["gemm", "winograd"])
def test_a_workspace_from_one_thread_count_serves_another(method, seed):
    # the workers' buffers are sized by the thread count, winograd's kept V by the blocks
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((19, 3, 7, 8), np.float32)
    W = rng.standard_normal((5, 3, 3, 3), np.float32)
    b = rng.standard_normal(5, np.float32)
    pad = (1, 1, 1, 1)
    y, workspace = conv2d_forward_train(x, W, b, 1, pad, method=method)
    dy = rng.standard_normal(y.shape, np.float32)
    want = conv2d_backward(dy, x, W, 1, pad, True, workspace=workspace)
    for count in (2, 1, 2):
        threads.set_threads(count)
        y2, workspace = conv2d_forward_train(x, W, b, 1, pad, method=method, reuse=workspace)
        np.testing.assert_array_equal(y2, y, err_msg=f"seed={seed}")
        got = conv2d_backward(dy, x, W, 1, pad, True, workspace=workspace)
        for name, a, r in zip(["dx", "dW", "db"], got, want, strict=True):
            np.testing.assert_array_equal(a, r, err_msg=f"seed={seed}: {name} on {count}")


def test_blocks_depend_on_the_shapes_alone():
    sample = 16 * 9 * 14 * 14 * 4  # conv2d B's col matrix per sample
    plans = []
    for count in COUNTS:
        threads.set_threads(count)
        assert im2col._block_size(64, sample) == 8
        plan = winograd._Plan((64, 16, 14, 14), (32, 16, 3, 3), (1, 1, 1, 1), np.float32)
        plans.append((plan.nb, plan.blocks))
    assert plans == [(8, 8)] * len(COUNTS)
    assert im2col._block_size(32, sample) == 8  # MIN_BLOCKS blocks
    plan = winograd._Plan((32, 16, 8, 8), (32, 16, 3, 3), (1, 1, 1, 1), np.float32)
    assert (plan.nb, plan.blocks) == (8, 4)  # one 1 MiB block would hold them all
    assert im2col._block_size(1, sample) == 1
    assert im2col._block_size(7, 2 * im2col.BLOCK_BYTES) == 1  # a sample bigger than a block
