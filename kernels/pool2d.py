"""2-D max and average pooling over square windows, forward and backward.

    y[n, c, i, j] = max (or mean) of x[n, c, i*s : i*s + size, j*s : j*s + size]

"Valid" pooling: OH = (H - size) // s + 1, windows that do not fit are dropped and their
inputs get zero gradient. Windows may overlap (s < size); their gradients add up. Max ties go
to the first maximal element of the window in row-major order (as PyTorch), and a NaN wins
over numbers (the first NaN, as numpy's argmax), so a diverging run still shows NaN downstream.

Max pooling compares each element once (`v > best`), which compiles to branch-free selects
in the unrolled 2x2 cores (a NaN test in the same condition made LLVM emit branches, 10x
slower on random data); the fast cores also sum the windows' elements, and a plane whose sum
is not finite (a NaN or inf in it) is redone by a slow core that follows the NaN rule.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from . import threads
from ._flags import jit, pjit
from .avgpool2d_cores import (
    avgpool_backward_block,
    avgpool_backward_core,
    avgpool_block,
    avgpool_core,
)

DTYPES = (np.float32, np.float64)
INDEX_DTYPE = np.int32  # argmax: flat index h*W + w inside the (H, W) plane
# threads (see `threads.py`): the N*C planes split into at most BLOCKS blocks of consecutive
# planes (16 planes each for LeNet's first pool); a plane's outputs depend on it alone
BLOCKS = 32
# Input elements per sample a pool needs for a parallel core: below, it runs on the calling
# thread. digits-cnn's (8, 8, 8) maps (512 a sample) took 22 us forward and 13-14 backward for a
# batch of 32 in a training step on one thread, 25-30 and 23-29 on two; LeNet's second pool,
# (16, 10, 10) (1,600), 68 and 36 on one, 53 and 32 on two (AMD EPYC Zen 3). Per sample, as
# the convolutions' `direct.PARALLEL_MACS`: the warm-up compiles what training runs.
PARALLEL_MIN = 1024
GROUP_OUTPUTS = 1024  # outputs the 2x2 stride-2 core takes in one go at least (`_group`)


# The 2x2 and backward cores index flat arrays with uint64 offsets: numba wraps negative
# signed indices, and that check slowed these loops by 15-40 % (measured).


@jit
def _max2_plane(xf, x0, W, stride, yf, af, y0, OH, OW):
    """2x2 windows of the plane at xf[x0:], outputs at yf[y0:], af[y0:]; any stride.

    Ties keep the earlier element in row-major order: plain `if`s on one comparison each,
    which LLVM turns into selects, and the flat index is the window's corner plus an offset in
    {0, 1, W, W + 1}. Returns the sum of the windows' elements, which is not finite when one
    holds a NaN or an inf (or the sum overflows): the caller then redoes the plane.
    """
    one, Wu, step = np.uint64(1), np.uint64(W), np.uint64(stride)
    s0 = xf[x0] - xf[x0]
    s1 = s0
    for i in range(np.uint64(OH)):
        corner = i * step * Wu
        r0 = np.uint64(x0) + corner
        r1 = r0 + Wu
        o = np.uint64(y0) + i * np.uint64(OW)
        for j in range(np.uint64(OW)):
            w = j * step
            a, b, c, d = xf[r0 + w], xf[r0 + w + one], xf[r1 + w], xf[r1 + w + one]
            s0 += a + b
            s1 += c + d
            best = a
            t = np.uint64(0)
            if b > best:
                best = b
                t = one
            if c > best:
                best = c
                t = Wu
            if d > best:
                best = d
                t = Wu + one
            yf[o + j] = best
            af[o + j] = corner + w + t
    return s0 + s1


# The 2x2 stride-2 cores run in two passes over a plane, through plane-sized scratch arrays: a
# one-pass window loop has only OW iterations per row (14 on MNIST), fewer than LLVM's vector
# body (8 lanes x 4 on AVX2), so it ran scalar. Rows with rows first (2*OW iterations per row
# pair), then columns with columns over the whole plane in one loop (stride-2 loads, vectorized
# as interleaved groups); the average backward in reverse. Measured 1.4-1.8x faster.


@jit
def _max2_plane_stride2(xf, x0, W, yf, af, y0, OH, OW, v, vrow, corner):
    """`_max2_plane` at stride 2 (the common case), in two passes.

    v, vrow: OH * 2*OW scratch; corner[m]: the flat index of window m's top-left element.
    Rows first, then columns: the right column's winner beats the left one's when it is
    greater, or equal and in a higher row (then it comes first in row-major order).
    """
    one, two, Wu, L = np.uint64(1), np.uint64(2), np.uint64(W), np.uint64(2 * OW)
    for i in range(np.uint64(OH)):  # the larger of rows 2i and 2i + 1 in each column
        r0 = np.uint64(x0) + two * i * Wu
        for w in range(L):
            a, c = xf[r0 + w], xf[r0 + Wu + w]
            down = c > a
            v[i * L + w] = c if down else a
            vrow[i * L + w] = W if down else 0  # its offset from the top row
    for m in range(np.uint64(OH * OW)):  # then the larger of adjacent columns
        left, right = v[two * m], v[two * m + one]
        lo, ro = vrow[two * m], vrow[two * m + one]
        take_right = (right > left) | ((right == left) & (ro < lo))
        yf[np.uint64(y0) + m] = right if take_right else left
        af[np.uint64(y0) + m] = corner[m] + (ro + 1 if take_right else lo)
    # summed in a loop of its own: in the row loop, a sum chained the rows (1.6x slower); this
    # includes a dropped last column, whose NaN or inf then only costs the slow core's time
    total = xf[x0] - xf[x0]
    for k in range(two * np.uint64(OH) * Wu):
        total += xf[np.uint64(x0) + k]
    return total


@jit
def _max_plane_any(xf, x0, W, size, stride, yf, af, y0, OH, OW):
    """Any window, one comparison per element (no NaN rule); returns the windows' sum."""
    Wu, step, k = np.uint64(W), np.uint64(stride), np.uint64(size)
    total = xf[x0] - xf[x0]
    for i in range(np.uint64(OH)):
        corner = i * step * Wu
        o = np.uint64(y0) + i * np.uint64(OW)
        for j in range(np.uint64(OW)):
            first = corner + j * step
            best = xf[np.uint64(x0) + first]
            t = first
            for dh in range(k):
                row = first + dh * Wu
                r = np.uint64(x0) + row
                for dw in range(k):
                    v = xf[r + dw]
                    total += v
                    if v > best:
                        best = v
                        t = row + dw
            yf[o + j] = best
            af[o + j] = t
    return total


@jit
def _max_plane(plane, size, stride, y, argmax):
    """Any window; the first maximum wins, and the first NaN wins over numbers (slow)."""
    OH, OW = y.shape
    W = plane.shape[1]
    for i in range(OH):
        h0 = i * stride
        for j in range(OW):
            w0 = j * stride
            best = plane[h0, w0]
            t = h0 * W + w0
            for dh in range(size):
                row = plane[h0 + dh, w0:]
                for dw in range(size):
                    v = row[dw]
                    if v > best or (v != v and best == best):
                        best = v
                        t = (h0 + dh) * W + w0 + dw
            y[i, j] = best
            argmax[i, j] = t


@jit
def _group(H, OH, OW, size, stride):
    """Planes the 2x2 stride-2 core takes as one: consecutive planes with no dropped last row
    are one tall plane to it, so small maps run in long loops, not 5-wide ones (LeNet's second
    pool, 64x16x10x10 on one thread: 0.15 ms a plane at a time, 0.054 ms in groups; its first,
    64x8x28x28, 0.13 and 0.11 ms)."""
    if size != 2 or stride != 2 or H != 2 * OH:
        return 1
    return max(1, GROUP_OUTPUTS // (OH * OW))


@jit
def _maxpool_block(x, size, stride, y, argmax, q0, q1, v, vrow, corner):
    """Planes q0..q1-1 (q = n*C + c); v, vrow, corner: the 2x2 stride-2 core's scratch."""
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    xf, yf, af = x.reshape(x.size), y.reshape(y.size), argmax.reshape(argmax.size)
    group = _group(H, OH, OW, size, stride)
    for g in range(q0, q1, group):
        end = min(g + group, q1)
        x0, y0 = g * H * W, g * OH * OW
        if size == 2 and stride == 2:
            total = _max2_plane_stride2(xf, x0, W, yf, af, y0, (end - g) * OH, OW, v, vrow, corner)
        elif size == 2:
            total = _max2_plane(xf, x0, W, stride, yf, af, y0, OH, OW)
        else:
            total = _max_plane_any(xf, x0, W, size, stride, yf, af, y0, OH, OW)
        if not np.isfinite(total):  # a NaN or inf (or an overflowing sum): the NaN-exact core
            for q in range(g, end):
                n, c = q // C, q % C
                _max_plane(x[n, c], size, stride, y[n, c], argmax[n, c])


@jit
def _max2_scratch(nb, OH, OW, H, W, x, argmax):
    """Per block v, vrow, and the shared corners of `_max2_plane_stride2`, for a group of
    planes (`_group`): corner[m], the top-left element of window m in its own plane."""
    group = _group(H, OH, OW, 2, 2)
    v = np.empty((nb, group * OH * 2 * OW), x.dtype)
    vrow = np.empty((nb, group * OH * 2 * OW), argmax.dtype)
    corner = np.empty(group * OH * OW, argmax.dtype)
    for p in range(group):
        for i in range(OH):
            for j in range(OW):
                corner[(p * OH + i) * OW + j] = 2 * (i * W + j)
    return v, vrow, corner


@pjit
def _maxpool_core(x, size, stride, y, argmax):
    P, W, OH, OW = x.shape[0] * x.shape[1], x.shape[3], y.shape[2], y.shape[3]
    nb = min(P, BLOCKS)
    v, vrow, corner = _max2_scratch(nb, OH, OW, x.shape[2], W, x, argmax)
    for k in prange(nb):
        q0, q1 = k * P // nb, (k + 1) * P // nb
        _maxpool_block(x, size, stride, y, argmax, q0, q1, v[k], vrow[k], corner)


@jit
def _maxpool_backward_block(dy, argmax, dx, q0, q1):
    N, C, H, W = dx.shape
    OH, OW = dy.shape[2], dy.shape[3]
    xf, gf, af = dx.reshape(dx.size), dy.reshape(dy.size), argmax.reshape(argmax.size)
    S, P = np.uint64(H * W), np.uint64(OH * OW)
    for q in range(np.uint64(q0), np.uint64(q1)):
        base = q * S
        for i in range(S):
            xf[base + i] = 0
        o = q * P
        for p in range(P):
            xf[base + np.uint64(af[o + p])] += gf[o + p]


@pjit
def _maxpool_backward_core(dy, argmax, dx):
    P = dx.shape[0] * dx.shape[1]
    nb = min(P, BLOCKS)
    for k in prange(nb):
        _maxpool_backward_block(dy, argmax, dx, k * P // nb, (k + 1) * P // nb)


def _parallel(x: np.ndarray) -> bool:
    """Whether to start a parallel core for input (or dx) `x`; below `PARALLEL_MIN` elements a
    sample, on one thread (and for float64, `threads.workers`) the wrappers call the block
    cores themselves, all planes in one block (~10 us less: a third of a 30 us pool)."""
    if x.size < PARALLEL_MIN * x.shape[0] or threads.workers(BLOCKS, x.dtype) == 1:
        return False
    threads.enter()
    return True


def pool2d_output_size(size_hw: tuple[int, int], size: int, stride: int) -> tuple[int, int]:
    """(OH, OW) of valid pooling with a `size` x `size` window every `stride` pixels."""
    return (size_hw[0] - size) // stride + 1, (size_hw[1] - size) // stride + 1


def _check_window(size: int, stride: int) -> tuple[int, int]:
    for name, value in (("size", size), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"pool {name} must be a positive integer, got {value!r}")
    return int(size), int(stride)


def _check_x(x: np.ndarray, size: int, stride: int, name: str = "x") -> tuple[int, int]:
    if x.ndim != 4:
        raise ValueError(f"pool2d needs {name} (N, C, H, W), got {name} {x.shape}")
    if x.dtype not in DTYPES:
        raise ValueError(f"pool2d needs float32 or float64 {name}, got {name} {x.dtype}")
    OH, OW = pool2d_output_size(x.shape[2:], size, stride)
    if OH < 1 or OW < 1 or min(x.shape) < 1:
        raise ValueError(f"pool2d output would be empty: {name} {x.shape}, window {size}")
    return OH, OW


def _check_dy(dy: np.ndarray, x_shape, size: int, stride: int) -> tuple[int, ...]:
    x_shape = tuple(int(d) for d in x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"pool2d needs x_shape (N, C, H, W), got {x_shape}")
    OH, OW = pool2d_output_size(x_shape[2:], size, stride)
    if dy.ndim != 4 or dy.shape != (*x_shape[:2], OH, OW):
        raise ValueError(
            f"pool2d backward: dy {dy.shape} does not match x_shape {x_shape} "
            f"(expected {(*x_shape[:2], OH, OW)})"
        )
    if dy.dtype not in DTYPES:
        raise ValueError(f"pool2d needs float32 or float64 dy, got dy {dy.dtype}")
    return x_shape


def maxpool2d_forward(x: np.ndarray, size: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Max over each `size` x `size` window, and where it was.

    Args:
        x: (N, C, H, W) float32 or float64.
        size: window side; stride: step between windows (overlapping windows allowed).

    Returns:
        y: (N, C, OH, OW) of x's dtype, OH = (H - size) // stride + 1.
        argmax: (N, C, OH, OW) int32, flat index h*W + w of the first maximum in its plane.
    """
    size, stride = _check_window(size, stride)
    x = np.asarray(x)
    OH, OW = _check_x(x, size, stride)
    x = np.ascontiguousarray(x)
    y = np.empty((*x.shape[:2], OH, OW), x.dtype)
    argmax = np.empty(y.shape, INDEX_DTYPE)
    if _parallel(x):
        _maxpool_core(x, size, stride, y, argmax)
    else:
        v, vrow, corner = _max2_scratch(1, OH, OW, *x.shape[2:], x, argmax)
        _maxpool_block(
            x, size, stride, y, argmax, 0, y.shape[0] * y.shape[1], v[0], vrow[0], corner
        )
    return y, argmax


def maxpool2d_backward(
    dy: np.ndarray, argmax: np.ndarray, x_shape: tuple[int, int, int, int]
) -> np.ndarray:
    """dx: each dy[n, c, i, j] added at argmax[n, c, i, j] of its plane, zeros elsewhere.

    Args:
        dy: (N, C, OH, OW) float32 or float64; not written.
        argmax: (N, C, OH, OW) int32 from `maxpool2d_forward`.
        x_shape: (N, C, H, W) of the forward input.
    """
    dy, argmax = np.asarray(dy), np.asarray(argmax)
    x_shape = tuple(int(d) for d in x_shape)
    if len(x_shape) != 4 or dy.ndim != 4 or dy.shape[:2] != x_shape[:2]:
        raise ValueError(f"maxpool2d backward: dy {dy.shape} does not match x_shape {x_shape}")
    if argmax.shape != dy.shape or argmax.dtype != INDEX_DTYPE:
        raise ValueError(
            f"maxpool2d backward: argmax {argmax.shape} {argmax.dtype} should be "
            f"{dy.shape} int32, as maxpool2d_forward returns it"
        )
    if dy.dtype not in DTYPES:
        raise ValueError(f"pool2d needs float32 or float64 dy, got dy {dy.dtype}")
    dx = np.empty(x_shape, dy.dtype)
    dy, argmax = np.ascontiguousarray(dy), np.ascontiguousarray(argmax)
    if _parallel(dx):
        _maxpool_backward_core(dy, argmax, dx)
    else:
        _maxpool_backward_block(dy, argmax, dx, 0, dy.shape[0] * dy.shape[1])
    return dx


def avgpool2d_forward(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """Mean over each `size` x `size` window: x (N, C, H, W) -> y (N, C, OH, OW), x's dtype."""
    size, stride = _check_window(size, stride)
    x = np.asarray(x)
    OH, OW = _check_x(x, size, stride)
    x = np.ascontiguousarray(x)
    y = np.empty((*x.shape[:2], OH, OW), x.dtype)
    if _parallel(x):
        avgpool_core(x, size, stride, y, BLOCKS)
    else:
        avgpool_block(
            x, size, stride, y, 0, y.shape[0] * y.shape[1], np.empty(2 * OH * OW, x.dtype)
        )
    return y


def avgpool2d_backward(
    dy: np.ndarray, x_shape: tuple[int, int, int, int], size: int, stride: int
) -> np.ndarray:
    """dx: dy / size**2 spread over each window (summed where windows overlap).

    Args:
        dy: (N, C, OH, OW) float32 or float64; not written.
        x_shape: (N, C, H, W) of the forward input; size, stride: as in the forward call.
    """
    size, stride = _check_window(size, stride)
    dy = np.asarray(dy)
    x_shape = _check_dy(dy, x_shape, size, stride)
    dx = np.empty(x_shape, dy.dtype)
    dy = np.ascontiguousarray(dy)
    if _parallel(dx):
        avgpool_backward_core(dy, size, stride, dx, BLOCKS)
    else:
        t = np.empty(2 * dy.shape[2] * dy.shape[3], dx.dtype)
        avgpool_backward_block(dy, size, stride, dx, 0, dy.shape[0] * dy.shape[1], t)
    return dx
