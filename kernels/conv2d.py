"""2-D convolution (cross-correlation, as in every DL framework), forward and backward.

    y[n, f, oh, ow] = b[f] + sum_{c, kh, kw} W[f, c, kh, kw] * xp[n, c, oh*s + kh, ow*s + kw]

where `xp` is `x` zero-padded by `pad = (top, bottom, left, right)` and `s` is the stride, so
OH = (H + top + bottom - KH) // s + 1 (rows that do not fit are dropped, as in PyTorch).

Three algorithms, same results up to float rounding (`method=`):

- ``"direct"`` (stride 1): the padded input is kept as flat rows of width Wp = W + left + right,
  and each output plane is computed "wide" (OH rows of Wp values, the last Wp - OW of each row
  discarded), so every tap (c, kh, kw) is one contiguous, vectorized axpy at offset
  c*Hp*Wp + kh*Wp + kw; four taps and two filters per pass keep the loads per FMA low. dW is the
  same loop as dot products; dx is the direct convolution of dy, padded by K - 1 - pad, with the
  kernel flipped and its in/out channels swapped (the transposed convolution).
- ``"gemm"`` (any stride): im2col into `col (C*KH*KW, n*OH*OW)`, then one BLAS matmul per pass:
  y = W @ col, dW = dy @ col.T, dcol = W.T @ dy followed by col2im (Chellapilla et al. 2006;
  Deep Learning from Scratch, `common/util.py`), a chunk of n samples at a time (`_chunks`).
- ``"winograd"`` (3x3 kernels, stride 1): Winograd F(4x4, 3x3) (Lavin & Gray 2015), 4x fewer
  multiply-adds in all three passes; see `winograd`.

``"auto"`` picks gemm for strides > 1 and for wide layers on small images (>= 32 filters,
>= 128 taps, col matrix <= 16 MiB) - winograd instead when such a layer has a 3x3 kernel,
stride 1 and pads of 0..2 - and direct otherwise: measured 2-5x faster
for narrow layers on MNIST-sized images (no col matrix to write and read back), see `_pick`.

The matmuls run in numpy's BLAS from the wrappers: numba's `np.dot` goes through SciPy's
OpenBLAS, measured 30-40 % slower here on these shapes. numpy releases the GIL in BLAS and the
cores are `nogil`, so the whole pass runs off the GIL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from . import winograd
from ._flags import jit
from .buffers import reusable

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
        array: direct: padded input `(N, C, Hp, Wp)`; gemm: a flat buffer for one chunk's col
            matrix (and dcol), which backward recomputes: nothing in it outlives a call;
            winograd: the input transform V of the whole batch, for backward.
        scratch: gemm: a flat buffer for one chunk's W @ col and transposed dy; winograd: one
            chunk's M (then dM) and dV.
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


# ---------------------------------------------------------------------------- numba cores


@jit
def _valid_range(k, pad, stride, size, out):
    """[lo, hi): the outputs o in [0, out) whose input o*stride + k - pad lies in [0, size)."""
    lo = 0
    if pad > k:
        lo = (pad - k + stride - 1) // stride
    top = size - 1 - k + pad
    hi = top // stride + 1 if top >= 0 else 0
    hi = min(hi, out)
    lo = min(lo, hi)
    return lo, hi


@jit
def _pad_core(x, pt, pl, xp):
    """xp[n, c, pt:pt+H, pl:pl+W] = x[n, c], zeros elsewhere; xp is (N, C, Hp, Wp)."""
    N, C, H, W = x.shape
    Hp, Wp = xp.shape[2], xp.shape[3]
    zero = np.zeros(1, xp.dtype)[0]
    for n in range(N):
        for c in range(C):
            for h in range(Hp):
                row = xp[n, c, h]
                if h < pt or h >= pt + H:
                    for w in range(Wp):
                        row[w] = zero
                    continue
                for w in range(pl):
                    row[w] = zero
                # slices, not row[w + pl]: numba can vectorize only provably non-negative indices
                src = x[n, c, h - pt]
                dst = row[pl:]
                for w in range(W):
                    dst[w] = src[w]
                for w in range(pl + W, Wp):
                    row[w] = zero


@jit
def _tap_offsets(C, KH, KW, Hp, Wp):
    """Offset of tap (c, kh, kw) in a flat padded sample (C, Hp, Wp), in W's row-major order."""
    offs = np.empty(C * KH * KW, np.int64)
    t = 0
    for c in range(C):
        for kh in range(KH):
            for kw in range(KW):
                offs[t] = (c * Hp + kh) * Wp + kw
                t += 1
    return offs


@jit
def _taps_pair(xn, wf, wg, offs, acc0, acc1):
    """acc0 += sum_t wf[t] * xn[offs[t]:][:L], acc1 likewise with wg; four taps per pass."""
    L = acc0.shape[0]
    K = offs.shape[0]
    t = 0
    while t + 4 <= K:
        w0, w1, w2, w3 = wf[t], wf[t + 1], wf[t + 2], wf[t + 3]
        v0, v1, v2, v3 = wg[t], wg[t + 1], wg[t + 2], wg[t + 3]
        x0 = xn[offs[t] :]
        x1 = xn[offs[t + 1] :]
        x2 = xn[offs[t + 2] :]
        x3 = xn[offs[t + 3] :]
        for i in range(L):
            a0, a1, a2, a3 = x0[i], x1[i], x2[i], x3[i]
            acc0[i] += w0 * a0 + w1 * a1 + w2 * a2 + w3 * a3
            acc1[i] += v0 * a0 + v1 * a1 + v2 * a2 + v3 * a3
        t += 4
    while t < K:
        w0, v0 = wf[t], wg[t]
        x0 = xn[offs[t] :]
        for i in range(L):
            acc0[i] += w0 * x0[i]
            acc1[i] += v0 * x0[i]
        t += 1


@jit
def _taps_one(xn, wf, offs, acc0):
    """acc0 += sum_t wf[t] * xn[offs[t]:][:L]."""
    L = acc0.shape[0]
    K = offs.shape[0]
    t = 0
    while t + 4 <= K:
        w0, w1, w2, w3 = wf[t], wf[t + 1], wf[t + 2], wf[t + 3]
        x0 = xn[offs[t] :]
        x1 = xn[offs[t + 1] :]
        x2 = xn[offs[t + 2] :]
        x3 = xn[offs[t + 3] :]
        for i in range(L):
            acc0[i] += w0 * x0[i] + w1 * x1[i] + w2 * x2[i] + w3 * x3[i]
        t += 4
    while t < K:
        w0 = wf[t]
        x0 = xn[offs[t] :]
        for i in range(L):
            acc0[i] += w0 * x0[i]
        t += 1


@jit
def _fill(acc, value):
    for i in range(acc.shape[0]):
        acc[i] = value


@jit
def _unwide(acc, Wp, out):
    """out (OH, OW) = the wide rows of acc (row stride Wp), gaps dropped."""
    OH, OW = out.shape
    for oh in range(OH):
        src = acc[oh * Wp :]
        dst = out[oh]
        for ow in range(OW):
            dst[ow] = src[ow]


@jit
def _direct_core(xp, Wm, b, KH, KW, y):
    """Stride-1 direct convolution of padded `xp (N, C, Hp, Wp)` into `y (N, F, OH, OW)`."""
    N, C, Hp, Wp = xp.shape
    F, OH, OW = y.shape[1], y.shape[2], y.shape[3]
    offs = _tap_offsets(C, KH, KW, Hp, Wp)
    L = (OH - 1) * Wp + OW
    acc0 = np.empty(L, y.dtype)
    acc1 = np.empty(L, y.dtype)
    for n in range(N):
        xn = xp[n].reshape(C * Hp * Wp)
        f = 0
        while f + 2 <= F:
            _fill(acc0, b[f])
            _fill(acc1, b[f + 1])
            _taps_pair(xn, Wm[f], Wm[f + 1], offs, acc0, acc1)
            _unwide(acc0, Wp, y[n, f])
            _unwide(acc1, Wp, y[n, f + 1])
            f += 2
        if f < F:
            _fill(acc0, b[f])
            _taps_one(xn, Wm[f], offs, acc0)
            _unwide(acc0, Wp, y[n, f])


@jit
def _widen(plane, Wp, acc):
    """Write plane (OH, OW) into the wide rows of acc (gaps untouched); return its sum."""
    OH, OW = plane.shape
    s = np.zeros(1, acc.dtype)[0]
    for oh in range(OH):
        src = plane[oh]
        dst = acc[oh * Wp :]
        for ow in range(OW):
            v = src[ow]
            dst[ow] = v
            s += v
    return s


@jit
def _dot_taps_pair(xn, g0, g1, offs, dwf, dwg):
    """dwf[t] += g0 . xn[offs[t]:][:L], dwg[t] += g1 . xn[offs[t]:][:L]; four taps per pass."""
    L = g0.shape[0]
    K = offs.shape[0]
    zero = np.zeros(1, dwf.dtype)[0]
    t = 0
    while t + 4 <= K:
        x0 = xn[offs[t] :]
        x1 = xn[offs[t + 1] :]
        x2 = xn[offs[t + 2] :]
        x3 = xn[offs[t + 3] :]
        s0 = s1 = s2 = s3 = r0 = r1 = r2 = r3 = zero
        for i in range(L):
            u, v = g0[i], g1[i]
            a0, a1, a2, a3 = x0[i], x1[i], x2[i], x3[i]
            s0 += u * a0
            s1 += u * a1
            s2 += u * a2
            s3 += u * a3
            r0 += v * a0
            r1 += v * a1
            r2 += v * a2
            r3 += v * a3
        dwf[t] += s0
        dwf[t + 1] += s1
        dwf[t + 2] += s2
        dwf[t + 3] += s3
        dwg[t] += r0
        dwg[t + 1] += r1
        dwg[t + 2] += r2
        dwg[t + 3] += r3
        t += 4
    while t < K:
        x0 = xn[offs[t] :]
        s0 = r0 = zero
        for i in range(L):
            s0 += g0[i] * x0[i]
            r0 += g1[i] * x0[i]
        dwf[t] += s0
        dwg[t] += r0
        t += 1


@jit
def _dot_taps_one(xn, g0, offs, dwf):
    L = g0.shape[0]
    K = offs.shape[0]
    zero = np.zeros(1, dwf.dtype)[0]
    t = 0
    while t + 4 <= K:
        x0 = xn[offs[t] :]
        x1 = xn[offs[t + 1] :]
        x2 = xn[offs[t + 2] :]
        x3 = xn[offs[t + 3] :]
        s0 = s1 = s2 = s3 = zero
        for i in range(L):
            u = g0[i]
            s0 += u * x0[i]
            s1 += u * x1[i]
            s2 += u * x2[i]
            s3 += u * x3[i]
        dwf[t] += s0
        dwf[t + 1] += s1
        dwf[t + 2] += s2
        dwf[t + 3] += s3
        t += 4
    while t < K:
        x0 = xn[offs[t] :]
        s0 = zero
        for i in range(L):
            s0 += g0[i] * x0[i]
        dwf[t] += s0
        t += 1


@jit
def _direct_dw_core(xp, dy, KH, KW, dW, db):
    """dW (F, C*KH*KW) and db (F,) of the stride-1 direct convolution, summed over n in order."""
    N, C, Hp, Wp = xp.shape
    F, OH, OW = dy.shape[1], dy.shape[2], dy.shape[3]
    offs = _tap_offsets(C, KH, KW, Hp, Wp)
    L = (OH - 1) * Wp + OW
    dW[:] = 0
    db[:] = 0
    g0 = np.zeros(L, dW.dtype)  # wide dy rows; the gaps stay zero
    g1 = np.zeros(L, dW.dtype)
    for n in range(N):
        xn = xp[n].reshape(C * Hp * Wp)
        f = 0
        while f + 2 <= F:
            db[f] += _widen(dy[n, f], Wp, g0)
            db[f + 1] += _widen(dy[n, f + 1], Wp, g1)
            _dot_taps_pair(xn, g0, g1, offs, dW[f], dW[f + 1])
            f += 2
        if f < F:
            db[f] += _widen(dy[n, f], Wp, g0)
            _dot_taps_one(xn, g0, offs, dW[f])


# Stride 1 with the output as wide as the input (padding left + right = KW - 1, as "same"
# gives): one tap's rows are the input plane shifted by dh rows and dw columns, so a plane
# moves as one contiguous run at flat offset dh*W + dw. The |dw| entries per row that wrap
# across a row edge read padding: they are zeroed for all rows of a tap at once (strided), since
# a small loop per row cost as much as the copy. One long vectorized loop per plane instead of
# one loop of OW (14) values per row: conv2d B's im2col 0.59 -> 0.41 ms, col2im 0.54 -> 0.45 ms.


@jit
def _row_span(OH, H, dh):
    """[lo, hi): the output rows oh whose input row oh + dh lies in [0, H)."""
    return min(max(-dh, 0), OH), min(max(H - dh, 0), OH)


@jit
def _zero_wrapped(cf, base, rows, W, dw):
    """Zero the |dw| columns that fall off a row edge, in `rows` rows of width W at `base`."""
    zero = cf.dtype.type(0)
    first = W - dw if dw > 0 else 0
    for k in range(abs(dw)):
        column = np.uint64(base + first + k)
        for j in range(np.uint64(rows)):
            cf[column + j * np.uint64(W)] = zero


@jit
def _shifted_copy(xf, plane, cf, dst, OH, H, W, dh, dw):
    """cf[dst + oh*W + ow] = xf[plane + (oh + dh)*W + ow + dw] where row oh + dh exists, else
    0: one tap of a stride-1, same-width im2col, except the wrapped columns (`_zero_wrapped`)."""
    zero = cf.dtype.type(0)
    lo, hi = _row_span(OH, H, dh)
    base = np.uint64(dst)
    for i in range(np.uint64(lo * W)):  # rows above the input
        cf[base + i] = zero
    for i in range(np.uint64(hi * W), np.uint64(OH * W)):  # rows below it
        cf[base + i] = zero
    if lo < hi:
        first, last = lo * W + max(-dw, 0), hi * W - max(dw, 0)
        d, s = base + np.uint64(first), np.uint64(plane + first + dh * W + dw)
        for i in range(np.uint64(last - first)):
            cf[d + i] = xf[s + i]


@jit
def _shifted_add(cf, src, xf, plane, OH, H, W, dh, dw):
    """xf[plane + (oh + dh)*W + ow + dw] += cf[src + oh*W + ow] where row oh + dh exists: one
    tap of a stride-1, same-width col2im, once `_zero_wrapped` has cleared the wrapped columns."""
    lo, hi = _row_span(OH, H, dh)
    if lo < hi:
        first, last = lo * W + max(-dw, 0), hi * W - max(dw, 0)
        s, d = np.uint64(src + first), np.uint64(plane + first + dh * W + dw)
        for i in range(np.uint64(last - first)):
            xf[d + i] += cf[s + i]


# When the output is also as tall as the input (stride 1, "same" padding), a channel's planes
# of all the chunk's samples, stacked (channel-major x), make one tall plane: a tap is one long
# shifted copy of it, and only the rows that cross into a neighbouring sample are cleared
# afterwards. conv2d B per 8-sample chunk: im2col 39 -> 28 us, col2im 46 -> 34 us, plus 3 us
# for each transpose to or from channel-major; the whole of conv2d B 3.5 % faster.


@jit
def _zero_seams(cf, base, N, H, W, dh):
    """Zero the rows of N stacked (H, W) planes at `base` whose row + dh leaves their plane."""
    zero = cf.dtype.type(0)
    lo, hi = _row_span(H, H, dh)
    for n in range(N):
        start = np.uint64(base + n * H * W)
        for i in range(np.uint64(lo * W)):
            cf[start + i] = zero
        for i in range(np.uint64(hi * W), np.uint64(H * W)):
            cf[start + i] = zero


@jit
def _im2col_tall_core(xt, KH, KW, pt, pl, col):
    """`_im2col_core` for stride 1 and output size = input size, from channel-major xt."""
    C, N, H, W = xt.shape
    xf = xt.reshape(xt.size)
    cf = col.reshape(col.size)
    L = N * H * W
    for c in range(C):
        for kh in range(KH):
            for kw in range(KW):
                r = (c * KH + kh) * KW + kw
                _shifted_copy(xf, c * L, cf, r * L, N * H, N * H, W, kh - pt, kw - pl)
                _zero_seams(cf, r * L, N, H, W, kh - pt)
                _zero_wrapped(cf, r * L, N * H, W, kw - pl)


@jit
def _col2im_tall_core(dcol, KH, KW, pt, pl, dxt):
    """`_col2im_core` for stride 1 and output size = input size, into channel-major dxt."""
    C, N, H, W = dxt.shape
    cf = dcol.reshape(dcol.size)
    xf = dxt.reshape(dxt.size)
    xf[:] = 0
    L = N * H * W
    for c in range(C):
        for kh in range(KH):
            for kw in range(KW):
                r = (c * KH + kh) * KW + kw
                _zero_wrapped(cf, r * L, N * H, W, kw - pl)  # they read padding
                _zero_seams(cf, r * L, N, H, W, kh - pt)
                _shifted_add(cf, r * L, xf, c * L, N * H, N * H, W, kh - pt, kw - pl)


# The im2col-side cores index flat arrays with uint64: numba wraps negative signed indices,
# and that check keeps LLVM from vectorizing these short copies (measured 4-5x slower with
# signed indices or per-row views).


@jit
def _im2col_core(x, KH, KW, stride, pt, pl, col):
    """col[(c*KH + kh)*KW + kw, n, oh, ow] = xp[n, c, oh*s + kh, ow*s + kw] (0 in the padding)."""
    N, C, H, W = x.shape
    OH, OW = col.shape[2], col.shape[3]
    xf = x.reshape(x.size)
    cf = col.reshape(col.size)
    zero = np.zeros(1, col.dtype)[0]
    step = np.uint64(stride)
    same_width = stride == 1 and OW == W and pl < W and KW - 1 - pl < W
    for c in range(C):
        for kh in range(KH):
            for kw in range(KW):
                r = (c * KH + kh) * KW + kw
                lo, hi = _valid_range(kw, pl, stride, W, OW)
                start = max(lo * stride + kw - pl, 0)
                if same_width:
                    for n in range(N):
                        plane, row = (n * C + c) * H * W, (r * N + n) * OH * OW
                        _shifted_copy(xf, plane, cf, row, OH, H, W, kh - pt, kw - pl)
                    _zero_wrapped(cf, r * N * OH * OW, N * OH, W, kw - pl)
                    continue
                for n in range(N):
                    for oh in range(OH):
                        dst = np.uint64(((r * N + n) * OH + oh) * OW)
                        ih = oh * stride + kh - pt
                        if ih < 0 or ih >= H:
                            for ow in range(np.uint64(OW)):
                                cf[dst + ow] = zero
                            continue
                        for ow in range(np.uint64(lo)):
                            cf[dst + ow] = zero
                        src = np.uint64(((n * C + c) * H + ih) * W + start)
                        d = dst + np.uint64(lo)
                        if stride == 1:
                            for i in range(np.uint64(hi - lo)):
                                cf[d + i] = xf[src + i]
                        else:
                            for i in range(np.uint64(hi - lo)):
                                cf[d + i] = xf[src + i * step]
                        for ow in range(np.uint64(hi), np.uint64(OW)):
                            cf[dst + ow] = zero


@jit
def _col2im_core(dcol, KH, KW, stride, pt, pl, dx):
    """dx = sum over taps of dcol scattered back to where `_im2col_core` read (padding dropped).
    dcol's entries that read padding may be zeroed."""
    N, C, H, W = dx.shape
    OH, OW = dcol.shape[2], dcol.shape[3]
    cf = dcol.reshape(dcol.size)
    xf = dx.reshape(dx.size)
    xf[:] = 0
    step = np.uint64(stride)
    same_width = stride == 1 and OW == W and pl < W and KW - 1 - pl < W
    for c in range(C):
        for kh in range(KH):
            for kw in range(KW):
                r = (c * KH + kh) * KW + kw
                lo, hi = _valid_range(kw, pl, stride, W, OW)
                start = max(lo * stride + kw - pl, 0)
                if same_width:
                    _zero_wrapped(cf, r * N * OH * OW, N * OH, W, kw - pl)  # they read padding
                    for n in range(N):
                        plane, row = (n * C + c) * H * W, (r * N + n) * OH * OW
                        _shifted_add(cf, row, xf, plane, OH, H, W, kh - pt, kw - pl)
                    continue
                for n in range(N):
                    for oh in range(OH):
                        ih = oh * stride + kh - pt
                        if ih < 0 or ih >= H:
                            continue
                        src = np.uint64(((r * N + n) * OH + oh) * OW + lo)
                        d = np.uint64(((n * C + c) * H + ih) * W + start)
                        if stride == 1:
                            for i in range(np.uint64(hi - lo)):
                                xf[d + i] += cf[src + i]
                        else:
                            for i in range(np.uint64(hi - lo)):
                                xf[d + i * step] += cf[src + i]


@jit
def _unfold_core(yt, b, y):
    """y[n, f, p] = yt[f, n*P + p] + b[f]; yt (F, N*P), y (N, F, P)."""
    N, F, P = y.shape
    src = yt.reshape(yt.size)
    dst = y.reshape(y.size)
    size = np.uint64(P)
    for n in range(N):
        for f in range(F):
            bf = b[f]
            s = np.uint64((f * N + n) * P)
            d = np.uint64((n * F + f) * P)
            for p in range(size):
                dst[d + p] = src[s + p] + bf


@jit
def _fold_core(dy, dyt, db):
    """dyt[f, n*P + p] = dy[n, f, p] and db[f] = sum of dy[:, f]; dy (N, F, P)."""
    N, F, P = dy.shape
    src = dy.reshape(dy.size)
    dst = dyt.reshape(dyt.size)
    size = np.uint64(P)
    zero = np.zeros(1, db.dtype)[0]
    db[:] = 0
    for n in range(N):
        for f in range(F):
            s = np.uint64((n * F + f) * P)
            d = np.uint64((f * N + n) * P)
            acc = zero
            for p in range(size):
                v = src[s + p]
                dst[d + p] = v
                acc += v
            db[f] += acc


# ---------------------------------------------------------------------------- wrappers


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


def _padded(x: np.ndarray, pad, out: np.ndarray | None = None) -> np.ndarray:
    N, C, H, W = x.shape
    xp = reusable(out, (N, C, H + pad[0] + pad[1], W + pad[2] + pad[3]), x.dtype)
    _pad_core(x, pad[0], pad[2], xp)
    return xp


def _tall(x_shape, KH, KW, stride, pad) -> bool:
    """Whether the `_im2col_tall_core` and `_col2im_tall_core` apply: stride 1, output as large
    as the input, no tap shifted sideways by a whole row or more (`_zero_wrapped`)."""
    H, W = x_shape[2:]
    same = pad[0] + pad[1] == KH - 1 and pad[2] + pad[3] == KW - 1
    return stride == 1 and same and pad[2] < W and KW - 1 - pad[2] < W


class _ChunkViews:
    """Views of the gemm buffers for chunks of n samples, made once per chunk size: the Python
    around each chunk's four or five kernel calls is a few % of conv2d B already.

    col4 (K, n, OH, OW) and col (K, n*OH*OW) at the start of the flat `array`, xt (C, n, H, W)
    (channel-major x or dx for the tall cores, see `_tall`) at its end, yt (F, n*OH*OW) in
    `scratch`.
    """

    def __init__(self, array, scratch, n, x_shape, w_shape, OH, OW):
        F, C, KH, KW = w_shape
        K, m, plane = C * KH * KW, n * OH * OW, C * n * x_shape[2] * x_shape[3]
        self.col4 = array[: K * m].reshape(K, n, OH, OW)
        self.col = self.col4.reshape(K, m)
        self.xt = array[array.size - plane :].reshape(C, n, *x_shape[2:])
        self.yt = scratch[: F * m].reshape(F, m)


def _im2col(x, KH, KW, stride, pad, v: _ChunkViews, tall: bool) -> np.ndarray:
    """v.col = the col matrix of x (n, C, H, W)."""
    if tall:
        np.copyto(v.xt, x.transpose(1, 0, 2, 3))
        _im2col_tall_core(v.xt, KH, KW, pad[0], pad[2], v.col4)
    else:
        _im2col_core(x, KH, KW, stride, pad[0], pad[2], v.col4)
    return v.col


def _col2im(KH, KW, stride, pad, v: _ChunkViews, tall: bool, dx) -> None:
    """dx (n, C, H, W) = col2im of v.col4."""
    if tall:
        _col2im_tall_core(v.col4, KH, KW, pad[0], pad[2], v.xt)
        np.copyto(dx, v.xt.transpose(1, 0, 2, 3))
    else:
        _col2im_core(v.col4, KH, KW, stride, pad[0], pad[2], dx)


# The gemm method goes through the batch a chunk of samples at a time, the chunk's col matrix
# about GEMM_CHUNK_BYTES: forward multiplies it while it is still in the cache, and backward
# makes it again and uses it for dW and then as dcol for col2im, again from the cache. One col
# matrix for the whole batch (7 MB in conv2d B), kept from forward for dW and overwritten by
# dcol, was slower although im2col now runs twice: conv2d B time ratio 0.93-0.96 on a busy
# host, 0.99 on a quiet one (median of 200-300 interleaved calls) with 8-sample chunks (0.9 MB);
# 4 samples 0.95, 16 about the same as 8, 32 samples 0.97. Keeping a chunk-major col matrix
# from forward instead of redoing im2col: 0.95 (vs 0.93); chunking only dx and col2im: 1.00.
GEMM_CHUNK_BYTES = 2**20
# The GEMMs are np.matmul, not np.dot: with `out=` and a transposed operand np.dot took 3-6 %
# longer over conv2d B's forward and backward (interleaved medians; the same BLAS underneath).


def _chunks(N: int, sample_bytes: int) -> list[tuple[int, int]]:
    """[n0, n1) sample ranges of equal size (but the last), each col matrix <= GEMM_CHUNK_BYTES
    if one sample's fits."""
    most = max(1, GEMM_CHUNK_BYTES // sample_bytes)  # samples per chunk
    step = -(-N // -(-N // most))  # as even as the count of chunks allows
    return [(n0, min(n0 + step, N)) for n0 in range(0, N, step)]


def _forward(
    x, W, b, stride, pad, method, reuse=None, keep=True
) -> tuple[np.ndarray, Conv2DWorkspace]:
    """y and its workspace; `keep` False (inference) keeps no winograd V for backward."""
    N = x.shape[0]
    F, _, KH, KW = W.shape
    OH, OW = conv2d_output_size(x.shape[2:], (KH, KW), stride, pad)
    old_array = old_scratch = None
    if reuse is not None:
        reuse.valid = False  # its buffers are about to be overwritten
        if reuse.method == method:
            old_array, old_scratch = reuse.array, reuse.scratch
    y = np.empty((N, F, OH, OW), x.dtype)
    if method == "direct":
        array = _padded(x, pad, old_array)
        _direct_core(array, W.reshape(F, -1), b, KH, KW, y)
        return y, Conv2DWorkspace(method, x.shape, stride, pad, array)
    if method == "winograd":
        y, array, scratch = winograd.forward(x, W, b, pad, keep, old_array, old_scratch)
        return y, Conv2DWorkspace(method, x.shape, stride, pad, array, scratch, keep)
    K, P = W[0].size, OH * OW
    chunks = _chunks(N, K * P * x.itemsize)
    step = chunks[0][1]
    array = reusable(old_array, ((K * P + x[0].size) * step,), x.dtype)
    scratch = reusable(old_scratch, (F * step * P,), x.dtype)
    Wm, y3 = W.reshape(F, K), y.reshape(N, F, P)
    tall = _tall(x.shape, KH, KW, stride, pad)
    v = None
    for n0, n1 in chunks:
        if v is None or v.col4.shape[1] != n1 - n0:
            v = _ChunkViews(array, scratch, n1 - n0, x.shape, W.shape, OH, OW)
        col = _im2col(x[n0:n1], KH, KW, stride, pad, v, tall)
        np.matmul(Wm, col, out=v.yt)
        _unfold_core(v.yt, b, y3[n0:n1])
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


def _dx_direct(dy: np.ndarray, W: np.ndarray, x_shape, pad) -> np.ndarray:
    """dx as the stride-1 convolution of dy, padded by K - 1 - pad, with W flipped."""
    F, C, KH, KW = W.shape
    q = (KH - 1 - pad[0], KH - 1 - pad[1], KW - 1 - pad[2], KW - 1 - pad[3])
    Wt = np.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)).reshape(C, -1)
    dx = np.empty(x_shape, dy.dtype)
    _direct_core(_padded(dy, q), Wt, np.zeros(C, dy.dtype), KH, KW, dx)
    return dx


def _dx_gemm(dyt, W, x_shape, stride, pad, OH, OW, dcol) -> np.ndarray:
    """dx = col2im(W.T @ dyt), the matmul written into `dcol` (K, N*OH*OW)."""
    F, C, KH, KW = W.shape
    np.matmul(W.reshape(F, -1).T, dyt, out=dcol)
    dx = np.empty(x_shape, dyt.dtype)
    _col2im_core(dcol.reshape(C * KH * KW, x_shape[0], OH, OW), KH, KW, stride, pad[0], pad[2], dx)
    return dx


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
    if array is None and method == "direct":
        array = _padded(x, pad)
    dy = np.ascontiguousarray(dy)
    W = np.ascontiguousarray(W)
    db = np.empty(F, dy.dtype)
    dx = None
    if method == "direct":
        dW = np.empty((F, C * KH * KW), dy.dtype)
        _direct_dw_core(array, dy, KH, KW, dW, db)
        if need_dx:
            if min(KH - 1 - pad[0], KH - 1 - pad[1], KW - 1 - pad[2], KW - 1 - pad[3]) >= 0:
                dx = _dx_direct(dy, W, x.shape, pad)
            else:  # padding wider than the kernel: the flipped convolution would need cropping
                dyt = np.empty((F, N * OH * OW), dy.dtype)
                _fold_core(dy.reshape(N, F, OH * OW), dyt, np.empty(F, dy.dtype))
                dcol = np.empty((C * KH * KW, N * OH * OW), dy.dtype)
                dx = _dx_gemm(dyt, W, x.shape, stride, pad, OH, OW, dcol)
    elif method == "winograd":  # without a valid workspace V is recomputed
        dx, dW, scratch = winograd.backward(dy, x, W, pad, need_dx, db, array, scratch)
        if workspace is not None:
            workspace.scratch = scratch
    else:
        dx, dW = _backward_gemm(dy, x, W, stride, pad, need_dx, db, array, scratch, workspace)
    return dx, dW.reshape(W.shape), db


def _backward_gemm(dy, x, W, stride, pad, need_dx, db, array, scratch, workspace):
    """(dx or None, dW (F, K)) chunk by chunk (see `_chunks`), db written into `db`."""
    N, F, OH, OW = dy.shape
    _, _, KH, KW = W.shape
    K, P = W[0].size, OH * OW
    chunks = _chunks(N, K * P * dy.itemsize)
    step = chunks[0][1]
    array = reusable(array, ((K * P + x[0].size) * step,), dy.dtype)
    scratch = reusable(scratch, (F * step * P,), dy.dtype)
    if workspace is not None:
        workspace.array, workspace.scratch = array, scratch
    # dW.T = col @ dyt.T: OpenBLAS runs this orientation 8 % faster than dyt @ col.T on an
    # 8-sample chunk of conv2d B
    dWt, dWt_part = np.zeros((K, F), dy.dtype), np.empty((K, F), dy.dtype)
    db[:] = 0
    db_part = np.empty(F, dy.dtype)
    dx = np.empty(x.shape, dy.dtype) if need_dx else None
    Wt, dy3 = np.ascontiguousarray(W.reshape(F, K).T), dy.reshape(N, F, P)
    tall = _tall(x.shape, KH, KW, stride, pad)
    v = None
    for n0, n1 in chunks:
        if v is None or v.col4.shape[1] != n1 - n0:
            v = _ChunkViews(array, scratch, n1 - n0, x.shape, W.shape, OH, OW)
        dyt = v.yt  # dy transposed to (F, n*OH*OW)
        _fold_core(dy3[n0:n1], dyt, db_part)
        db += db_part
        col = _im2col(x[n0:n1], KH, KW, stride, pad, v, tall)
        np.matmul(col, dyt.T, out=dWt_part)
        dWt += dWt_part
        if need_dx:  # dcol takes the chunk's col matrix, spent
            np.matmul(Wt, dyt, out=col)
            _col2im(KH, KW, stride, pad, v, tall, dx[n0:n1])
    return dx, dWt.T


def warmup(dtype: np.dtype = np.float32) -> None:
    """Compile (or load from the cache) every core for `dtype` on a tiny input."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 5, 5)).astype(dtype)
    W = rng.standard_normal((3, 2, 3, 3)).astype(dtype)
    b = np.zeros(3, dtype)
    for stride, pad, method in ((1, (1, 1, 1, 1), "direct"), (1, (4, 0, 0, 0), "direct")):
        y, ws = conv2d_forward_train(x, W, b, stride, pad, method=method)
        conv2d_backward(y, x, W, stride, pad, True, workspace=ws)
    y, ws = conv2d_forward_train(x, W, b, 2, (1, 1, 1, 1), method="gemm")
    conv2d_backward(y, x, W, 2, (1, 1, 1, 1), True, workspace=ws)
    for method in ("gemm", "winograd"):
        y, ws = conv2d_forward_train(x, W, b, 1, (1, 1, 1, 1), method=method)
        conv2d_backward(y, x, W, 1, (1, 1, 1, 1), True, workspace=ws)
    conv2d_forward(x, W, b, 1, (1, 1, 1, 1), method="winograd")
