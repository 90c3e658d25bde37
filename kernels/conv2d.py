"""2-D convolution (cross-correlation, as in every DL framework), forward and backward.

    y[n, f, oh, ow] = b[f] + sum_{c, kh, kw} W[f, c, kh, kw] * xp[n, c, oh*s + kh, ow*s + kw]

where `xp` is `x` zero-padded by `pad = (top, bottom, left, right)` and `s` is the stride, so
OH = (H + top + bottom - KH) // s + 1 (rows that do not fit are dropped, as in PyTorch).

Three algorithms, same results up to float rounding (`method=`):

- ``"direct"`` (stride 1): each tap one vectorized axpy over the padded input's flat rows;
  dx is the transposed convolution; see `direct`.
- ``"gemm"`` (any stride): im2col, then one BLAS matmul per pass, a block of samples at a time;
  see `im2col`.
- ``"winograd"`` (3x3 kernels, stride 1): Winograd F(4x4, 3x3) (Lavin & Gray 2015), 4x fewer
  multiply-adds in all three passes; see `winograd`.

``"auto"`` picks gemm for strides > 1 and for wide layers on small images (>= 32 filters,
>= 128 taps, col matrix <= 16 MiB) - winograd instead when such a layer has a 3x3 kernel,
stride 1 and pads of 0..2 - and direct otherwise: measured 2-5x faster
for narrow layers on MNIST-sized images (no col matrix to write and read back), see `_pick`.

Every method splits the batch into blocks of samples fixed by the shapes and runs them on
`threads.threads()` threads, with the same bits on any count (see `threads.py`). The gemm and
winograd blocks multiply with numpy's own OpenBLAS on one thread, called from the numba cores
through `blas.gemm` (numba's `np.dot` goes through SciPy's older OpenBLAS, measured 20-40 %
slower here). The cores are `nogil`, so a whole pass runs off the GIL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from . import direct, im2col, winograd

Method = Literal["auto", "direct", "gemm", "winograd"]
METHODS = ("auto", "direct", "gemm", "winograd")
DTYPES = (np.float32, np.float64)


@dataclass
class Conv2DWorkspace:
    """What `conv2d_forward_train` keeps for `conv2d_backward`, and buffers to recycle.

    Fresh multi-megabyte arrays each step cost page faults (measured ~2.5 us per 4 KiB page
    in this VM: 4-5 ms per step for a 7 MB col matrix), so passing the old workspace to the
    next forward (`reuse=`) recycles its arrays.

    Attributes:
        method: "direct", "gemm" or "winograd", the algorithm that made it.
        x_shape, stride, pad: the forward call it belongs to (checked by backward).
        array: direct: padded input `(N, C, Hp, Wp)`; gemm: each worker thread's col matrix
            (and dcol) for one block, which backward recomputes: nothing in it outlives a call;
            winograd: the input transform V of the whole batch, for backward.
        scratch: gemm: each worker's W @ col and transposed dy for one block; winograd: each
            worker's M (then dM) and dV for one block.
        valid: False once the next forward has taken the buffers; a backward then recomputes
            the padded input (direct) or V (winograd) from x.
    """

    method: str
    x_shape: tuple[int, int, int, int]
    stride: int
    pad: tuple[int, int, int, int]
    array: np.ndarray
    scratch: np.ndarray | None = None
    valid: bool = True


def conv2d_output_size(
    size: tuple[int, int], kernel: tuple[int, int], stride: int, pad: tuple[int, int, int, int]
) -> tuple[int, int]:
    """(OH, OW) for an input (H, W), kernel (KH, KW), stride and pad (top, bottom, left, right)."""
    (H, W), (KH, KW) = size, kernel
    return (H + pad[0] + pad[1] - KH) // stride + 1, (W + pad[2] + pad[3] - KW) // stride + 1


def _check_stride_pad(stride: int, pad) -> tuple[int, tuple[int, int, int, int]]:
    if isinstance(stride, bool) or not isinstance(stride, int | np.integer) or stride < 1:
        raise ValueError(f"stride must be a positive integer, got {stride!r}")
    try:
        pad = tuple(int(p) for p in pad)
    except TypeError:
        raise ValueError(f"pad must be (top, bottom, left, right), got {pad!r}") from None
    if len(pad) != 4 or min(pad) < 0:
        raise ValueError(f"pad must be 4 non-negative ints (top, bottom, left, right), got {pad}")
    return int(stride), pad


def _check_float(**arrays: np.ndarray) -> np.dtype:
    dtypes = {name: np.asarray(a).dtype for name, a in arrays.items()}
    first = next(iter(dtypes.values()))
    if first not in DTYPES or any(d != first for d in dtypes.values()):
        listed = ", ".join(f"{name} {d}" for name, d in dtypes.items())
        raise ValueError(f"conv2d needs float32 or float64 arrays of one dtype, got {listed}")
    return first


def _check_forward(x, W, b, stride, pad):
    x, W, b = np.asarray(x), np.asarray(W), np.asarray(b)
    if x.ndim != 4 or W.ndim != 4 or b.ndim != 1:
        raise ValueError(
            f"conv2d needs x (N, C, H, W), W (F, C, KH, KW), b (F,); "
            f"got x {x.shape}, W {W.shape}, b {b.shape}"
        )
    if x.shape[1] != W.shape[1] or b.shape[0] != W.shape[0]:
        raise ValueError(
            f"conv2d shapes do not match: x {x.shape} has {x.shape[1]} channels, "
            f"W {W.shape} expects {W.shape[1]}; b {b.shape} should be ({W.shape[0]},)"
        )
    _check_float(x=x, W=W, b=b)
    stride, pad = _check_stride_pad(stride, pad)
    OH, OW = conv2d_output_size(x.shape[2:], W.shape[2:], stride, pad)
    if OH < 1 or OW < 1 or min(x.shape) < 1 or min(W.shape) < 1:
        raise ValueError(
            f"conv2d output would be empty: x {x.shape}, W {W.shape}, stride {stride}, pad {pad}"
        )
    return np.ascontiguousarray(x), np.ascontiguousarray(W), np.ascontiguousarray(b), stride, pad


# "auto" takes gemm for wide layers with small images, where BLAS beats the direct loops and
# the col matrix still fits in a few cache-sized blocks of memory (measured, serial BLAS:
# direct/gemm time 1.15 for (16->32, 3x3, 14x14), 1.1 for (32->32, 3x3, 14x14), 2.9 for
# (32->64, 3x3, 7x7); but 0.2 for (1->8, 5x5, 28x28), 0.3 for (8->16, 3x3, 28x28), 0.6 for
# (8->16, 3x3, 14x14), 0.7 for (16->32, 5x5, 14x14) whose 20 MB col matrix costs more than
# the matmul saves).
GEMM_MIN_FILTERS = 32
GEMM_MIN_TAPS = 128  # C * KH * KW
GEMM_MAX_COL_BYTES = 16 * 2**20
# Among those, 3x3 kernels with stride 1 and pads of 0..2 take winograd (measured, serial BLAS,
# forward + backward, interleaved medians: winograd/gemm time 0.86 for (16->32, 3x3, 14x14),
# 0.66 for (32->32, 3x3, 14x14), 0.66 for (32->64, 3x3, 7x7), 0.54 for (64->64, 3x3, 8x8);
# winograd/direct about 1 for the narrow (8->16, 3x3, 28x28) that direct keeps).
WINOGRAD_MAX_PAD = 2


def _pick(method: str, stride: int, x_shape, w_shape, pad) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "direct" and stride != 1:
        raise ValueError(f"the direct method needs stride 1, got stride {stride}")
    if method == "winograd" and (stride != 1 or tuple(w_shape[2:]) != (3, 3)):
        raise ValueError(
            f"the winograd method needs a 3x3 kernel and stride 1, got a "
            f"{w_shape[2]}x{w_shape[3]} kernel and stride {stride}"
        )
    if method != "auto":
        return method
    if stride != 1:
        return "gemm"
    F, C, KH, KW = w_shape
    OH, OW = conv2d_output_size(x_shape[2:], (KH, KW), stride, pad)
    col_bytes = 4 * C * KH * KW * x_shape[0] * OH * OW
    wide = F >= GEMM_MIN_FILTERS and C * KH * KW >= GEMM_MIN_TAPS
    if not (wide and col_bytes <= GEMM_MAX_COL_BYTES):
        return "direct"
    return "winograd" if (KH, KW) == (3, 3) and max(pad) <= WINOGRAD_MAX_PAD else "gemm"


def _forward(
    x, W, b, stride, pad, method, reuse=None, keep=True
) -> tuple[np.ndarray, Conv2DWorkspace]:
    """y and its workspace; `keep` False (inference) keeps no winograd V for backward."""
    old_array = old_scratch = None
    if reuse is not None:
        reuse.valid = False  # its buffers are about to be overwritten
        if reuse.method == method:
            old_array, old_scratch = reuse.array, reuse.scratch
    if method == "winograd":
        y, array, scratch = winograd.forward(x, W, b, pad, keep, old_array, old_scratch)
        return y, Conv2DWorkspace(method, x.shape, stride, pad, array, scratch, keep)
    OH, OW = conv2d_output_size(x.shape[2:], W.shape[2:], stride, pad)
    y = np.empty((x.shape[0], W.shape[0], OH, OW), x.dtype)
    if method == "direct":
        array = direct.forward(x, W, b, pad, y, old_array)
        return y, Conv2DWorkspace(method, x.shape, stride, pad, array)
    array, scratch = im2col.forward(x, W, b, stride, pad, y, old_array, old_scratch)
    return y, Conv2DWorkspace(method, x.shape, stride, pad, array, scratch)


def conv2d_forward(
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    stride: int,
    pad: tuple[int, int, int, int],
    *,
    method: Method = "auto",
) -> np.ndarray:
    """Convolve a batch of images (inference: nothing kept for backward).

    Args:
        x: (N, C, H, W) float32 or float64 images.
        W: (F, C, KH, KW) filters, same dtype.
        b: (F,) biases, same dtype.
        stride: step between windows, >= 1 (both axes).
        pad: zero padding (top, bottom, left, right), each >= 0.
        method: "auto", "direct" (stride 1 only), "gemm" or "winograd" (3x3 kernels, stride 1);
            see the module docstring.

    Returns:
        y: (N, F, OH, OW), OH = (H + top + bottom - KH) // stride + 1, likewise OW.

    Raises:
        ValueError: wrong ndim, dtype or shapes (named in the message), or an empty output.
    """
    x, W, b, stride, pad = _check_forward(x, W, b, stride, pad)
    method = _pick(method, stride, x.shape, W.shape, pad)
    return _forward(x, W, b, stride, pad, method, keep=False)[0]


def conv2d_forward_train(
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    stride: int,
    pad: tuple[int, int, int, int],
    *,
    method: Method = "auto",
    reuse: Conv2DWorkspace | None = None,
) -> tuple[np.ndarray, Conv2DWorkspace]:
    """`conv2d_forward` that also returns the workspace `conv2d_backward` reuses.

    The workspace holds the padded input (direct) or the input transform V (winograd), so
    backward skips recomputing it, or buffers (gemm) that backward reuses. Same arguments as
    `conv2d_forward`, and:

    Args:
        reuse: a workspace the caller no longer needs (the previous step's): its arrays are
            overwritten when the shapes match, instead of allocating new ones.

    Returns:
        (y, workspace): y (N, F, OH, OW); pass workspace to `conv2d_backward(workspace=...)`.
    """
    x, W, b, stride, pad = _check_forward(x, W, b, stride, pad)
    method = _pick(method, stride, x.shape, W.shape, pad)
    return _forward(x, W, b, stride, pad, method, reuse)


def conv2d_backward(
    dy: np.ndarray,
    x: np.ndarray,
    W: np.ndarray,
    stride: int,
    pad: tuple[int, int, int, int],
    need_dx: bool,
    *,
    workspace: Conv2DWorkspace | None = None,
    method: Method = "auto",
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients of `conv2d_forward` given dL/dy.

        dW[f, c, kh, kw] = sum_{n, oh, ow} dy[n, f, oh, ow] * xp[n, c, oh*s + kh, ow*s + kw]
        db[f] = sum_{n, oh, ow} dy[n, f, oh, ow]
        dx = the part of dxp inside the padding, dxp[n, c, oh*s + kh, ow*s + kw] += W * dy

    Args:
        dy: (N, F, OH, OW) gradient of the loss with respect to y, same dtype as W; not written.
        x: (N, C, H, W) the forward input (read again only without a valid workspace).
        W: (F, C, KH, KW) filters.
        stride, pad: as in the forward call.
        need_dx: False skips dx (the first layer), the costliest third of the work.
        workspace: from `conv2d_forward_train` on the same x, stride and pad; its method wins.
        method: used without a workspace; "auto", "direct" (stride 1), "gemm" or "winograd".

    Returns:
        (dx or None, dW (F, C, KH, KW), db (F,)), all of dy's dtype.

    Raises:
        ValueError: shapes, dtypes or the workspace do not match.
    """
    x, W, dy = np.asarray(x), np.asarray(W), np.asarray(dy)
    if x.ndim != 4 or W.ndim != 4 or dy.ndim != 4:
        raise ValueError(
            f"conv2d backward needs dy (N, F, OH, OW), x (N, C, H, W), W (F, C, KH, KW); "
            f"got dy {dy.shape}, x {x.shape}, W {W.shape}"
        )
    _check_float(dy=dy, x=x, W=W)
    stride, pad = _check_stride_pad(stride, pad)
    N, C, H, Wd = x.shape
    F, _, KH, KW = W.shape
    OH, OW = conv2d_output_size((H, Wd), (KH, KW), stride, pad)
    if W.shape[1] != C or dy.shape != (N, F, OH, OW):
        raise ValueError(
            f"conv2d backward shapes do not match: dy {dy.shape} should be {(N, F, OH, OW)} "
            f"for x {x.shape}, W {W.shape}, stride {stride}, pad {pad}"
        )
    array = scratch = None
    if workspace is not None:
        if (workspace.x_shape, workspace.stride, workspace.pad) != (x.shape, stride, pad) or (
            workspace.array.dtype != dy.dtype
        ):
            raise ValueError(
                f"conv2d workspace is for x {workspace.x_shape} {workspace.array.dtype}, "
                f"stride {workspace.stride}, pad {workspace.pad}; got x {x.shape} {dy.dtype}, "
                f"stride {stride}, pad {pad}"
            )
        method, scratch = workspace.method, workspace.scratch
        if workspace.valid or method == "gemm":  # gemm's are only buffers: always usable
            array = workspace.array
    else:
        method = _pick(method, stride, x.shape, W.shape, pad)
    x = np.ascontiguousarray(x)
    dy = np.ascontiguousarray(dy)
    W = np.ascontiguousarray(W)
    db = np.empty(F, dy.dtype)
    if method == "direct":
        dx, dW = direct.backward(dy, x, W, pad, need_dx, db, array)
    elif method == "winograd":  # without a valid workspace V is recomputed
        dx, dW, scratch = winograd.backward(dy, x, W, pad, need_dx, db, array, scratch)
        if workspace is not None:
            workspace.scratch = scratch
    else:
        dx, dW, array, scratch = im2col.backward(dy, x, W, stride, pad, need_dx, db, array, scratch)
        if workspace is not None:
            workspace.array, workspace.scratch = array, scratch
    return dx, dW.reshape(W.shape), db
