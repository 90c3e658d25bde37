"""conv2d kernels (all methods) against the slow numpy reference in `reference.py`.

Fresh random inputs every run (the `seed` fixture; the seed is in every failure message), on
fixed edge shapes and on random shapes drawn from the seed. Tolerances, float32 kernel vs
float64 reference: `rtol = 1e-5` and `atol = 1e-6 * K`, K the number of terms summed into one
output entry: C*KH*KW for y, F*KH*KW for dx, N*OH*OW for dW and db. Measured over 20 seeds x
the edge shapes x both methods: error / tolerance <= 0.11. Winograd F(4x4, 3x3) sums 36
terms scaled by up to 8 before and after the products, so in float32 its `atol` is 1e-5 per
term: the worst |error| - rtol |reference| measured was 2.7e-6 per term, over 30 seeds x 9
3x3 shapes up to 64 channels (the worst error relative to the output's scale: 5e-6). In
float64 it keeps the tolerances of the other methods (worst: 0.13 of them).
"""

import numpy as np
import pytest
import reference as ref

from tuidl.kernels import conv2d, im2col, winograd
from tuidl.kernels.conv2d import conv2d_backward, conv2d_forward, conv2d_forward_train

RTOL_32 = 1e-5
ATOL_PER_TERM_32 = 1e-6
ATOL_PER_TERM_WINOGRAD_32 = 1e-5
# float64 kernel vs float64 reference: only the summation order differs.
RTOL_64 = 1e-10
ATOL_PER_TERM_64 = 1e-14

SHAPES = {  # x (N, C, H, W), W (F, C, KH, KW), stride, pad (top, bottom, left, right)
    "batch1_1x1": ((1, 1, 5, 5), (1, 1, 1, 1), 1, (0, 0, 0, 0)),
    "1x1_3ch_few_taps": ((2, 3, 5, 4), (2, 3, 1, 1), 1, (0, 0, 0, 0)),
    "odd_nonsquare_valid": ((2, 3, 7, 10), (4, 3, 3, 3), 1, (0, 0, 0, 0)),
    "odd_nonsquare_same": ((2, 3, 7, 10), (4, 3, 3, 3), 1, (1, 1, 1, 1)),
    "kernel_3x5_same_odd_F": ((2, 3, 7, 10), (5, 3, 3, 5), 1, (1, 1, 2, 2)),
    "even_kernel_same": ((1, 4, 8, 9), (2, 4, 4, 4), 1, (1, 2, 1, 2)),
    "explicit_pad_wider_than_kernel": ((2, 2, 6, 6), (3, 2, 3, 3), 1, (3, 3, 0, 4)),
    "stride2_same": ((2, 3, 7, 10), (4, 3, 3, 3), 2, (1, 1, 0, 1)),
    "stride2_valid_drops_edge": ((2, 2, 8, 9), (3, 2, 3, 2), 2, (0, 0, 0, 0)),
    "stride3_pad": ((2, 2, 11, 10), (3, 2, 3, 3), 3, (2, 1, 1, 2)),
    "mnist_first_layer": ((3, 1, 28, 28), (8, 1, 5, 5), 1, (2, 2, 2, 2)),
    "many_channels": ((2, 16, 14, 14), (32, 16, 3, 3), 1, (1, 1, 1, 1)),
    # same width, stride 1 (im2col/col2im move whole planes): kernel taller than the image
    "same_width_tall_kernel": ((1, 2, 3, 6), (2, 2, 5, 3), 1, (2, 2, 1, 1)),
    # same width but padding as wide as the image: the per-row path
    "same_width_pad_past_image": ((2, 2, 5, 2), (3, 2, 3, 5), 1, (1, 1, 2, 2)),
    # 3x3 stride 1, for winograd: odd and even sizes, one pixel, pads 0..2 and lopsided
    "3x3_odd_7x9": ((3, 2, 7, 9), (3, 2, 3, 3), 1, (1, 1, 1, 1)),
    "3x3_valid_5x5_one_filter": ((2, 3, 5, 5), (1, 3, 3, 3), 1, (0, 0, 0, 0)),
    "3x3_one_pixel": ((1, 1, 1, 1), (2, 1, 3, 3), 1, (1, 1, 1, 1)),
    "3x3_even_pad2": ((2, 5, 8, 6), (3, 5, 3, 3), 1, (2, 2, 2, 2)),
    "3x3_lopsided_pad": ((4, 3, 6, 7), (5, 3, 3, 3), 1, (0, 1, 2, 0)),
    "3x3_one_channel_batch9": ((9, 1, 6, 6), (1, 1, 3, 3), 1, (1, 1, 1, 1)),
}


def methods(stride, w_shape):
    if stride != 1:
        return ["gemm", "auto"]
    return ["direct", "gemm", "auto"] + (["winograd"] if w_shape[2:] == (3, 3) else [])


CASES = [
    pytest.param(*spec, method, id=f"{name}-{method}")
    for name, spec in SHAPES.items()
    for method in methods(spec[2], spec[1])
]


def random_case(rng):
    """A random valid (x_shape, W_shape, stride, pad)."""
    while True:
        N, C, F = rng.integers(1, 5), rng.integers(1, 6), rng.integers(1, 7)
        H, W = rng.integers(3, 13, size=2)
        KH, KW = rng.integers(1, 6, size=2)
        stride = int(rng.integers(1, 4))
        pad = tuple(int(p) for p in rng.integers(0, 4, size=4))
        if H + pad[0] + pad[1] >= KH and W + pad[2] + pad[3] >= KW:
            return (N, C, H, W), (F, C, KH, KW), stride, pad


def terms(x_shape, w_shape, y_shape):
    N, C = x_shape[:2]
    F, _, KH, KW = w_shape
    OH, OW = y_shape[2:]
    return {"y": C * KH * KW, "dx": F * KH * KW, "dW": N * OH * OW, "db": N * OH * OW}


def _runs_winograd(x_shape, w_shape, stride, pad, method):
    return conv2d._pick(method, stride, x_shape, w_shape, pad) == "winograd"


def check_against_reference(x_shape, w_shape, stride, pad, method, seed, zero_x=False):
    rng = np.random.default_rng(seed)
    x = np.zeros(x_shape) if zero_x else rng.standard_normal(x_shape)
    W = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    y_ref = ref.conv2d_forward(x, W, b, stride, pad)
    dy = rng.standard_normal(y_ref.shape)
    names = ["y", "dx", "dW", "db"]
    want = dict(zip(names, (y_ref, *ref.conv2d_backward(dy, x, W, stride, pad)), strict=True))
    K = terms(x_shape, w_shape, y_ref.shape)
    atol_32 = (
        ATOL_PER_TERM_WINOGRAD_32
        if _runs_winograd(x_shape, w_shape, stride, pad, method)
        else ATOL_PER_TERM_32
    )
    tolerances = ((np.float32, RTOL_32, atol_32), (np.float64, RTOL_64, ATOL_PER_TERM_64))
    for dtype, rtol, atol_per_term in tolerances:
        x_, W_, b_, dy_ = (a.astype(dtype) for a in (x, W, b, dy))
        y, workspace = conv2d_forward_train(x_, W_, b_, stride, pad, method=method)
        grads = conv2d_backward(dy_, x_, W_, stride, pad, True, workspace=workspace)
        got = dict(zip(names, (y, *grads), strict=True))
        for name in want:
            assert got[name].dtype == dtype, name
            np.testing.assert_allclose(
                got[name],
                want[name],
                rtol=rtol,
                atol=atol_per_term * K[name],
                err_msg=f"seed={seed}: {name} {dtype.__name__} {method}",
            )


@pytest.mark.parametrize("x_shape, w_shape, stride, pad, method", CASES)
def test_matches_reference_on_edge_shapes(x_shape, w_shape, stride, pad, method, seed):
    check_against_reference(x_shape, w_shape, stride, pad, method, seed)


@pytest.mark.parametrize("case", range(6))
def test_matches_reference_on_random_shapes(case, seed):
    seed = seed + case
    x_shape, w_shape, stride, pad = random_case(np.random.default_rng(seed))
    for method in methods(stride, w_shape):
        check_against_reference(x_shape, w_shape, stride, pad, method, seed)


@pytest.mark.parametrize(
    "x_shape, w_shape, stride, pad",
    [
        ((7, 3, 7, 8), (5, 3, 3, 3), 1, (1, 1, 1, 0)),
        ((7, 3, 7, 8), (5, 3, 3, 3), 2, (1, 1, 1, 0)),
        ((7, 3, 7, 8), (5, 3, 3, 3), 1, (0, 2, 2, 0)),  # "same" size: the tall im2col
        ((7, 2, 2, 6), (3, 2, 5, 3), 1, (3, 1, 1, 1)),  # tall, taps shifted by whole samples
    ],
)
def test_gemm_in_several_blocks_matches_reference(x_shape, w_shape, stride, pad, seed, monkeypatch):
    OH, OW = conv2d.conv2d_output_size(x_shape[2:], w_shape[2:], stride, pad)
    sample_bytes = w_shape[1] * w_shape[2] * w_shape[3] * OH * OW * 4
    monkeypatch.setattr(im2col, "BLOCK_BYTES", 3 * sample_bytes)  # float32: blocks of 3, 3, 1
    monkeypatch.setattr(im2col, "MIN_BLOCKS", 1)
    assert im2col._block_size(7, sample_bytes) == 3
    check_against_reference(x_shape, w_shape, stride, pad, "gemm", seed)


@pytest.mark.parametrize(
    "x_shape, w_shape, pad",
    [
        ((19, 3, 7, 8), (5, 3, 3, 3), (1, 1, 1, 0)),  # 8 + 8 + 3 samples: a part-filled group
        ((19, 2, 6, 6), (3, 2, 3, 3), (0, 2, 2, 1)),
    ],
)
def test_winograd_in_several_blocks_matches_reference(x_shape, w_shape, pad, seed, monkeypatch):
    monkeypatch.setattr(winograd, "BLOCK_BYTES", 1)  # one group of LANES samples a block
    plan = winograd._Plan(x_shape, w_shape, pad, np.float32)
    assert (plan.nb, plan.blocks) == (8, 3)
    check_against_reference(x_shape, w_shape, 1, pad, "winograd", seed)


@pytest.mark.parametrize("method", ["direct", "gemm", "winograd"])
def test_all_zero_input_gives_bias_and_zero_weight_gradient(method, seed):
    check_against_reference((2, 3, 7, 10), (4, 3, 3, 3), 1, (1, 1, 1, 1), method, seed, True)
    x = np.zeros((2, 3, 7, 10), np.float32)
    W = np.ones((4, 3, 3, 3), np.float32)
    b = np.arange(4, dtype=np.float32)
    y, workspace = conv2d_forward_train(x, W, b, 1, (1, 1, 1, 1), method=method)
    np.testing.assert_array_equal(y, np.broadcast_to(b[None, :, None, None], y.shape))
    _, dW, db = conv2d_backward(np.ones_like(y), x, W, 1, (1, 1, 1, 1), False, workspace=workspace)
    np.testing.assert_array_equal(dW, 0)
    np.testing.assert_array_equal(db, 2 * 7 * 10)


@pytest.mark.parametrize(
    "stride, method", [(1, "direct"), (1, "gemm"), (2, "gemm"), (1, "winograd")]
)
def test_backward_without_workspace_or_dx_gives_the_same_gradients(stride, method, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 2, 9, 8), np.float32)
    W = rng.standard_normal((4, 2, 3, 3), np.float32)
    b = rng.standard_normal(4, np.float32)
    pad = (1, 1, 1, 1)
    y, workspace = conv2d_forward_train(x, W, b, stride, pad, method=method)
    np.testing.assert_array_equal(y, conv2d_forward(x, W, b, stride, pad, method=method))
    dy = rng.standard_normal(y.shape, np.float32)
    dy_before = dy.copy()
    dx, dW, db = conv2d_backward(dy, x, W, stride, pad, True, workspace=workspace)
    no_dx, dW2, db2 = conv2d_backward(dy, x, W, stride, pad, False, method=method)
    assert no_dx is None
    np.testing.assert_array_equal(dW2, dW, err_msg=f"seed={seed}")
    np.testing.assert_array_equal(db2, db, err_msg=f"seed={seed}")
    np.testing.assert_array_equal(dy, dy_before)  # backward never writes into dy


@pytest.mark.parametrize(
    "stride, method", [(1, "direct"), (1, "gemm"), (2, "gemm"), (1, "winograd")]
)
def test_recycled_and_spent_workspaces_give_the_same_results(stride, method, seed):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((4, 2, 3, 3))
    b = rng.standard_normal(4)
    pad = (1, 0, 2, 1)
    x0 = rng.standard_normal((3, 2, 9, 8))
    _, old = conv2d_forward_train(x0, W, b, stride, pad, method=method)
    x = rng.standard_normal((3, 2, 9, 8))
    y, workspace = conv2d_forward_train(x, W, b, stride, pad, method=method, reuse=old)
    assert not old.valid
    y_ref = ref.conv2d_forward(x, W, b, stride, pad)
    # atol: winograd's y near 0 is off by ~1e-15 (its transforms sum larger terms)
    np.testing.assert_allclose(y, y_ref, rtol=RTOL_64, atol=1e-12, err_msg=f"seed={seed}")
    dy = rng.standard_normal(y.shape)
    want = ref.conv2d_backward(dy, x, W, stride, pad)
    for _ in range(2):  # the second backward finds the col matrix spent and recomputes it
        got = conv2d_backward(dy, x, W, stride, pad, True, workspace=workspace)
        for name, a, r in zip(["dx", "dW", "db"], got, want, strict=True):
            np.testing.assert_allclose(
                a, r, rtol=RTOL_64, atol=1e-12, err_msg=f"seed={seed}: {name}"
            )
    _, other = conv2d_forward_train(x[:2], W, b, stride, pad, method=method, reuse=workspace)
    assert other.x_shape == (2, 2, 9, 8)  # shapes differ: new buffers


def test_winograd_backward_from_a_spent_workspace_recomputes_v(seed):
    rng = np.random.default_rng(seed)
    x, W = rng.standard_normal((3, 2, 6, 7)), rng.standard_normal((4, 2, 3, 3))
    b, pad = rng.standard_normal(4), (1, 0, 2, 1)
    y, spent = conv2d_forward_train(x, W, b, 1, pad, method="winograd")
    conv2d_forward_train(x + 1, W, b, 1, pad, method="winograd", reuse=spent)
    assert not spent.valid  # its V now belongs to the second forward
    dy = rng.standard_normal(y.shape)
    got = conv2d_backward(dy, x, W, 1, pad, True, workspace=spent)
    for name, a, r in zip(
        ["dx", "dW", "db"], got, ref.conv2d_backward(dy, x, W, 1, pad), strict=True
    ):
        np.testing.assert_allclose(a, r, rtol=RTOL_64, atol=1e-12, err_msg=f"seed={seed}: {name}")


def test_auto_picks_direct_for_narrow_layers_and_gemm_or_winograd_for_wide_or_strided():
    def method(x_shape, w_shape, stride):
        x, W = np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32)
        b = np.zeros(w_shape[0], np.float32)
        p = w_shape[2] // 2  # "same"
        return conv2d_forward_train(x, W, b, stride, (p, p, p, p))[1].method

    assert method((64, 1, 28, 28), (8, 1, 5, 5), 1) == "direct"
    assert method((64, 8, 28, 28), (16, 8, 3, 3), 1) == "direct"
    assert method((64, 16, 14, 14), (32, 16, 3, 3), 1) == "winograd"  # conv2d B
    assert method((64, 32, 7, 7), (64, 32, 3, 3), 1) == "winograd"
    assert method((64, 16, 14, 14), (32, 16, 5, 5), 1) == "direct"  # a 20 MB col matrix
    assert method((64, 16, 14, 14), (32, 16, 3, 3), 2) == "gemm"
    assert method((2, 1, 8, 8), (2, 1, 3, 3), 2) == "gemm"


def test_accepts_non_contiguous_inputs(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((5, 6, 3, 2)).transpose(3, 2, 1, 0)  # (2, 3, 6, 5), a view
    W = rng.standard_normal((3, 4, 2, 3)).transpose(2, 3, 0, 1)[:, :, ::-1]  # (2, 3, 3, 4)
    b = rng.standard_normal(4)[::2]
    y = conv2d_forward(x, W, b, 1, (0, 1, 1, 0))
    np.testing.assert_allclose(
        y, ref.conv2d_forward(x, W, b, 1, (0, 1, 1, 0)), rtol=RTOL_64, err_msg=f"seed={seed}"
    )


def _valid():
    return {
        "x": np.zeros((2, 3, 6, 6), np.float32),
        "W": np.zeros((4, 3, 3, 3), np.float32),
        "b": np.zeros(4, np.float32),
        "stride": 1,
        "pad": (0, 0, 0, 0),
    }


@pytest.mark.parametrize(
    "change, message",
    [
        ({"x": np.zeros((3, 6, 6), np.float32)}, r"x \(3, 6, 6\)"),
        ({"W": np.zeros((4, 2, 3, 3), np.float32)}, r"x \(2, 3, 6, 6\) has 3 channels"),
        ({"b": np.zeros(3, np.float32)}, r"b \(3,\) should be \(4,\)"),
        ({"W": np.zeros((4, 3, 3, 3))}, "x float32, W float64, b float32"),
        ({"x": np.zeros((2, 3, 6, 6), np.int32)}, "float32 or float64"),
        ({"W": np.zeros((4, 3, 7, 3), np.float32)}, "output would be empty"),
        ({"stride": 0}, "stride must be a positive integer, got 0"),
        ({"pad": (1, 1, 1)}, r"pad must be 4 non-negative ints"),
        ({"pad": (0, -1, 0, 0)}, r"pad must be 4 non-negative ints"),
    ],
)
def test_forward_rejects_bad_arguments(change, message):
    args = {**_valid(), **change}
    with pytest.raises(ValueError, match=message):
        conv2d_forward(**args)


def test_method_is_checked():
    with pytest.raises(ValueError, match="method must be one of"):
        conv2d_forward(**_valid(), method="fft")
    with pytest.raises(ValueError, match="direct method needs stride 1, got stride 2"):
        conv2d_forward(**{**_valid(), "stride": 2}, method="direct")
    with pytest.raises(ValueError, match="winograd method needs a 3x3 kernel and stride 1"):
        conv2d_forward(**{**_valid(), "stride": 2}, method="winograd")
    with pytest.raises(ValueError, match="got a 2x3 kernel and stride 1"):
        conv2d_forward(**{**_valid(), "W": np.zeros((4, 3, 2, 3), np.float32)}, method="winograd")


def test_backward_rejects_bad_gradient_and_workspace():
    args = _valid()
    y, workspace = conv2d_forward_train(**args)
    x, W = args["x"], args["W"]
    with pytest.raises(ValueError, match=r"dy \(2, 4, 3, 4\) should be \(2, 4, 4, 4\)"):
        conv2d_backward(y[:, :, :3], x, W, 1, (0, 0, 0, 0), True)
    with pytest.raises(ValueError, match="dy float64, x float32"):
        conv2d_backward(y.astype(np.float64), x, W, 1, (0, 0, 0, 0), True)
    with pytest.raises(ValueError, match=r"workspace is for x \(2, 3, 6, 6\) float32, stride 1"):
        dy = np.zeros((2, 4, 2, 2), np.float32)  # right for stride 2, the workspace is stride 1
        conv2d_backward(dy, x, W, 2, (0, 0, 0, 0), True, workspace=workspace)
