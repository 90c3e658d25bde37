"""Direct stride-1 convolution, `conv2d`'s ``method="direct"`` (see its docstring).

The padded input is kept as flat rows of width Wp = W + left + right, and each output plane is
computed "wide" (OH rows of Wp values, the last Wp - OW of each row discarded), so every tap
(c, kh, kw) is one contiguous, vectorized axpy at offset c*Hp*Wp + kh*Wp + kw; four taps and
two filters per pass keep the loads per FMA low. dW is the same loop as dot products of the
input with dy written wide (row stride Wp, zeros in the Wp - OW gap columns).

dx is the transposed convolution, as a gather over that same wide dy: with zeros before and
after each wide dy plane, dxp[c, p] = sum_{f, kh, kw} W[f, c, kh, kw] * dy_wide[f, p - kh*Wp - kw]
(an index that runs off a row's left or right lands in a gap column, off the top or bottom in
the zeros around the plane), so dx costs Wp*H positions per channel instead of the (W + KW - 1)
x (H + KH - 1) of a convolution of dy padded by K - 1 - pad (1.27x fewer for LeNet's second
layer), needs no padded copy of dy, and works for any padding.

Threads (see `threads.py`): the batch splits into `_block_count(N)` blocks of consecutive
samples, which each thread claims (`claim.py`: its own share first, then another's). Forward
pads and convolves each block's samples; backward writes each sample's dy wide once, then its
dx and the block's own dW and db partial, summed in block order at the end.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from . import threads
from ._flags import jit, pjit
from .buffers import reusable
from .claim import claim, counters

# Blocks of samples per batch (fewer when N is smaller): 16 keeps 2-4 threads evenly loaded at
# N = 32..128 and makes the dW/db partials' sum a small part of backward (16 x 3200 adds for
# LeNet's second layer, a few us against ~1 ms).
BLOCKS = 16
# Multiply-adds per sample a convolution needs for a parallel core: below, it runs on the
# calling thread. digits-cnn's 8 filters on 8x8 digits (4.6k a sample, 147k a batch of 32) took
# 49-54 us forward and 71-77 backward in a training step on one thread, 48-61 and 64-83 on two
# (AMD EPYC Zen 3): waking the second thread costs what it saves, and on a core the app's
# screen also wants it costs more. LeNet's layers (156k and 320k a sample) run 1.7-1.8x as
# fast on two. The choice is the layer's, not the batch's: the warm-up's two samples compile
# what training runs, and a 256-sample probe does not compile parallel cores (seconds each)
# for a layer that trains on one thread.
PARALLEL_MACS = 1 << 15

# ---------------------------------------------------------------------------- numba cores


@jit
def _pad_sample(x, pt, pl, xp):
    """xp[c, pt:pt+H, pl:pl+W] = x[c], zeros elsewhere; x is (C, H, W), xp (C, Hp, Wp)."""
    C, H, W = x.shape
    Hp, Wp = xp.shape[1], xp.shape[2]
    zero = np.zeros(1, xp.dtype)[0]
    for c in range(C):
        for h in range(Hp):
            row = xp[c, h]
            if h < pt or h >= pt + H:
                for w in range(Wp):
                    row[w] = zero
                continue
            for w in range(pl):
                row[w] = zero
            # slices, not row[w + pl]: numba can vectorize only provably non-negative indices
            src = x[c, h - pt]
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
def _aligned(n):
    """n rounded up to 16 elements, so rows of a scratch array start on 64-byte lines (a pair of
    accumulators 48 bytes off measured 5 % slower, conv2d A forward)."""
    return (n + 15) // 16 * 16


@jit
def _pair(Lp, L, dtype):
    """Two scratch arrays of length L, each starting on a 64-byte line (Lp = `_aligned(L)`)."""
    acc = np.empty((2, Lp), dtype)
    return acc[0, :L], acc[1, :L]


@jit
def _forward_blocks(x, pt, pl, Wm, b, offs, nb, claims, task, xp, y):
    """Pad the samples of each block `task` claims (of nb) into xp and convolve them into y."""
    C, Hp, Wp = xp.shape[1], xp.shape[2], xp.shape[3]
    N, F = y.shape[0], y.shape[1]
    # allocated here, LLVM knows the accumulators alias nothing: allocated by the caller, the
    # alias checks measured 9 % slower (conv2d A forward)
    L = (y.shape[2] - 1) * Wp + y.shape[3]
    acc0, acc1 = _pair(_aligned(L), L, y.dtype)
    k = claim(claims, task, nb)
    while k < nb:
        for n in range(k * N // nb, (k + 1) * N // nb):
            _pad_sample(x[n], pt, pl, xp[n])
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
        k = claim(claims, task, nb)


@pjit
def _forward_core(x, pt, pl, Wm, b, KH, KW, xp, y, tasks):
    """y (N, F, OH, OW) of x (N, C, H, W) padded into xp (N, C, Hp, Wp), on `tasks` threads."""
    nb = min(x.shape[0], BLOCKS)
    offs = _tap_offsets(xp.shape[1], KH, KW, xp.shape[2], xp.shape[3])
    claims = counters(tasks)
    for task in prange(tasks):
        _forward_blocks(x, pt, pl, Wm, b, offs, nb, claims, task, xp, y)


@jit
def _pad_core(x, pt, pl, xp):
    """xp (N, C, Hp, Wp) = x (N, C, H, W) zero-padded (backward without a workspace)."""
    for n in range(x.shape[0]):
        _pad_sample(x[n], pt, pl, xp[n])


@jit
def _dx_offsets(F, KH, KW, Wp, G, Lf, start):
    """Offset of tap (f, kh, kw) of the dx gather in the wide-dy buffer (see the docstring)."""
    offs = np.empty(F * KH * KW, np.int64)
    t = 0
    for f in range(F):
        for kh in range(KH):
            for kw in range(KW):
                offs[t] = f * Lf + G - (kh * Wp + kw) + start
                t += 1
    return offs


@jit
def _zero_gaps(g, F, OH, OW, Wp, G, Lf):
    """Zero the parts of the wide-dy buffer `_widen` leaves alone: before, between (the gap
    columns) and after the rows of each of the F planes."""
    for f in range(F):
        base = f * Lf
        for i in range(G):
            g[base + i] = 0
        for oh in range(OH):
            row = g[base + G + oh * Wp :]
            for ow in range(OW, Wp):
                row[ow] = 0
        for i in range(G + OH * Wp, Lf):
            g[base + i] = 0


@jit
def _backward_blocks(xp, dy, Wt, offs, offs_dx, G, Lf, claims, task, dWp, dbp, dx):
    """Each block k `task` claims (of nb = len(dWp)): its dW (F, C*KH*KW) and db (F,) into
    dWp[k] and dbp[k] (its samples summed in order), and its samples' dx.

    Each dy[n, f] is written wide at f*Lf + G of a scratch array, dW and dx read the zeros
    around it; dx: (N, C, H, W), or empty to skip it.
    """
    N, C, Hp, Wp = xp.shape
    F, OH, OW = dy.shape[1], dy.shape[2], dy.shape[3]
    L = (OH - 1) * Wp + OW
    nb = dWp.shape[0]
    Ldx = (dx.shape[2] - 1) * Wp + dx.shape[3]
    acc0, acc1 = _pair(_aligned(Ldx), Ldx, dy.dtype)  # allocated here: see `_forward_blocks`
    g = np.empty(F * Lf, dy.dtype)
    _zero_gaps(g, F, OH, OW, Wp, G, Lf)
    k = claim(claims, task, nb)
    while k < nb:
        dW, db = dWp[k], dbp[k]
        dW[:] = 0
        db[:] = 0
        n0, n1 = k * N // nb, (k + 1) * N // nb
        for n in range(n0, n1):
            xn = xp[n].reshape(C * Hp * Wp)
            f = 0
            while f + 2 <= F:  # each pair widened just before its dots: still in L1
                db[f] += _widen(dy[n, f], Wp, g[f * Lf + G :])
                db[f + 1] += _widen(dy[n, f + 1], Wp, g[(f + 1) * Lf + G :])
                g0 = g[f * Lf + G : f * Lf + G + L]
                g1 = g[(f + 1) * Lf + G : (f + 1) * Lf + G + L]
                _dot_taps_pair(xn, g0, g1, offs, dW[f], dW[f + 1])
                f += 2
            if f < F:
                db[f] += _widen(dy[n, f], Wp, g[f * Lf + G :])
                _dot_taps_one(xn, g[f * Lf + G : f * Lf + G + L], offs, dW[f])
            if dx.shape[0] == 0:
                continue
            c = 0
            while c + 2 <= C:
                _fill(acc0, 0)
                _fill(acc1, 0)
                _taps_pair(g, Wt[c], Wt[c + 1], offs_dx, acc0, acc1)
                _unwide(acc0, Wp, dx[n, c])
                _unwide(acc1, Wp, dx[n, c + 1])
                c += 2
            if c < C:
                _fill(acc0, 0)
                _taps_one(g, Wt[c], offs_dx, acc0)
                _unwide(acc0, Wp, dx[n, c])
        k = claim(claims, task, nb)


@jit
def _sum_blocks(parts, out):
    """out = parts[0] + parts[1] + ..., in block order (bit-identical whatever the threads)."""
    for i in range(out.shape[0]):  # not `out[:] = parts[0]`: see rnn.sum_blocks
        out[i] = parts[0, i]
    for k in range(1, parts.shape[0]):
        for i in range(out.shape[0]):
            out[i] += parts[k, i]


@jit
def _backward_scratch(xp, dy, KH, KW, pt, pl):
    """Tap offsets (dW, dx) and the wide-dy layout: plane f starts at f*Lf + G."""
    C, Hp, Wp = xp.shape[1], xp.shape[2], xp.shape[3]
    G = _aligned((KH - 1) * Wp + KW - 1)  # the zeros before a plane, and its 64-byte start
    Lf = _aligned(G + Hp * Wp)
    offs = _tap_offsets(C, KH, KW, Hp, Wp)
    offs_dx = _dx_offsets(dy.shape[1], KH, KW, Wp, G, Lf, pt * Wp + pl)
    return offs, offs_dx, G, Lf


@pjit
def _backward_core(xp, dy, Wt, KH, KW, pt, pl, dx, dWp, dbp, tasks):
    """Each block's dW and db partial into dWp (nb, F, C*KH*KW) and dbp (nb, F), and dx
    (N, C, H, W), or an empty dx to skip it; on `tasks` threads."""
    offs, offs_dx, G, Lf = _backward_scratch(xp, dy, KH, KW, pt, pl)
    claims = counters(tasks)
    for task in prange(tasks):
        _backward_blocks(xp, dy, Wt, offs, offs_dx, G, Lf, claims, task, dWp, dbp, dx)


# ---------------------------------------------------------------------------- wrappers


def _block_count(N: int) -> int:
    return min(N, BLOCKS)


def _parallel(W: np.ndarray, y: np.ndarray) -> bool:
    """Whether a convolution by W (F, C, KH, KW) with output (or dy) y (N, F, OH, OW) is work
    enough for a parallel core: C*KH*KW multiply-adds an output, F*OH*OW outputs a sample."""
    return W.size // W.shape[0] * (y.size // max(y.shape[0], 1)) >= PARALLEL_MACS


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
    N, C, H, Wd = x.shape
    F, _, KH, KW = W.shape
    xp = reusable(xp, (N, C, H + pad[0] + pad[1], Wd + pad[2] + pad[3]), x.dtype)
    Wm = W.reshape(F, -1)
    tasks = threads.workers(_block_count(N), x.dtype)
    if _parallel(W, y) and tasks > 1:
        threads.enter()
        _forward_core(x, pad[0], pad[2], Wm, b, KH, KW, xp, y, tasks)
    else:  # the block cores alone, all samples one block: no parallel region to start
        offs = _tap_offsets(C, KH, KW, xp.shape[2], xp.shape[3])
        _forward_blocks(x, pad[0], pad[2], Wm, b, offs, 1, counters(1), 0, xp, y)
    return xp


def backward(dy, x, W, pad, need_dx, db, xp=None):
    """(dx or None, dW (F, C*KH*KW)) of `forward`, db written into `db`.

    Args:
        dy, x, W: C-contiguous, dy (N, F, OH, OW).
        xp: the padded input `forward` returned for this x and pad; None pads x again.
    """
    N, C, H, Wd = x.shape
    F, _, KH, KW = W.shape
    if xp is None:
        xp = np.empty((N, C, H + pad[0] + pad[1], Wd + pad[2] + pad[3]), x.dtype)
        _pad_core(x, pad[0], pad[2], xp)
    nb = _block_count(N)
    dWp = np.empty((nb, F, C * KH * KW), dy.dtype)
    dbp = np.empty((nb, F), dy.dtype)
    dx = np.empty((N if need_dx else 0, C, H, Wd), dy.dtype)
    Wt = np.ascontiguousarray(W.transpose(1, 0, 2, 3)).reshape(C, -1)
    dW = np.empty((F, C * KH * KW), dy.dtype)
    tasks = threads.workers(nb, dy.dtype)
    if _parallel(W, dy) and tasks > 1:
        threads.enter()
        _backward_core(xp, dy, Wt, KH, KW, pad[0], pad[2], dx, dWp, dbp, tasks)
    else:  # the same blocks, one after the other: the same partials
        offs, offs_dx, G, Lf = _backward_scratch(xp, dy, KH, KW, pad[0], pad[2])
        _backward_blocks(xp, dy, Wt, offs, offs_dx, G, Lf, counters(1), 0, dWp, dbp, dx)
    _sum_blocks(dWp.reshape(nb, -1), dW.reshape(-1))
    _sum_blocks(dbp, db)
    return (dx if need_dx else None), dW
