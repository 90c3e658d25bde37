"""Direct stride-1 convolution, `conv2d`'s ``method="direct"`` (see its docstring).

The padded input is kept as flat rows of width Wp = W + left + right, and each output plane is
computed "wide" (OH rows of Wp values, the last Wp - OW of each row discarded), so every tap
(c, kh, kw) is one contiguous, vectorized axpy at offset c*Hp*Wp + kh*Wp + kw; four taps and
two filters per pass keep the loads per FMA low. dW is the same loop as dot products; dx is the
direct convolution of dy, padded by K - 1 - pad, with the kernel flipped and its in/out
channels swapped (the transposed convolution).
"""

from __future__ import annotations

import numpy as np

from . import im2col
from ._flags import jit
from .buffers import reusable

# ---------------------------------------------------------------------------- numba cores


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


# ---------------------------------------------------------------------------- wrappers


def _padded(x: np.ndarray, pad, out: np.ndarray | None = None) -> np.ndarray:
    N, C, H, W = x.shape
    xp = reusable(out, (N, C, H + pad[0] + pad[1], W + pad[2] + pad[3]), x.dtype)
    _pad_core(x, pad[0], pad[2], xp)
    return xp


def forward(x, W, b, pad, y, xp=None) -> np.ndarray:
    """y = the stride-1 convolution of x (N, C, H, W), zero-padded by `pad`.

    Args:
        x, W, b: C-contiguous float32 or float64 arrays, W (F, C, KH, KW), b (F,).
        pad: (top, bottom, left, right).
        y: (N, F, OH, OW), written.
        xp: a buffer of a previous call, reused when its shape fits.

    Returns:
        xp: the padded input (N, C, Hp, Wp), to pass to `backward`.
    """
    F, _, KH, KW = W.shape
    xp = _padded(x, pad, xp)
    _direct_core(xp, W.reshape(F, -1), b, KH, KW, y)
    return xp


def _dx(dy: np.ndarray, W: np.ndarray, x_shape, pad) -> np.ndarray:
    """dx as the stride-1 convolution of dy, padded by K - 1 - pad, with W flipped."""
    F, C, KH, KW = W.shape
    q = (KH - 1 - pad[0], KH - 1 - pad[1], KW - 1 - pad[2], KW - 1 - pad[3])
    Wt = np.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)).reshape(C, -1)
    dx = np.empty(x_shape, dy.dtype)
    _direct_core(_padded(dy, q), Wt, np.zeros(C, dy.dtype), KH, KW, dx)
    return dx


def backward(dy, x, W, pad, need_dx, db, xp=None):
    """(dx or None, dW (F, C*KH*KW)) of `forward`, db written into `db`.

    Args:
        dy, x, W: C-contiguous, dy (N, F, OH, OW).
        xp: the padded input `forward` returned for this x and pad; None pads x again.
    """
    F, C, KH, KW = W.shape
    if xp is None:
        xp = _padded(x, pad)
    dW = np.empty((F, C * KH * KW), dy.dtype)
    _direct_dw_core(xp, dy, KH, KW, dW, db)
    if not need_dx:
        return None, dW
    if min(KH - 1 - pad[0], KH - 1 - pad[1], KW - 1 - pad[2], KW - 1 - pad[3]) >= 0:
        return _dx(dy, W, x.shape, pad), dW
    # padding wider than the kernel: the flipped convolution would need cropping
    return im2col.input_grad(dy, W, x.shape, 1, pad), dW
