"""Winograd F(2x2, 3x3) convolution, forward and backward (Lavin & Gray 2015).

For 3x3 kernels with stride 1 (any zero padding), `conv2d`'s ``method="winograd"``. The output
is cut into TH x TW tiles of 2x2; tile (th, tw) reads the 4x4 window d at rows 2*th..,
columns 2*tw.. of the zero-padded input (zeros also past its far edges), and with

    Bt = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G = [[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]]
    At = [[1, 1, 1, 0], [0, 1, -1, -1]]

    U[:, f, c] = G g[f, c] G^T,   V[:, c, p] = Bt d[c, p] B,   M[k] = U[k] @ V[k]   (k < 16)
    y tile (f, p) = At M[:, f, p] A + b[f]

so a 2x2 output tile costs 16 multiply-adds per (f, c) instead of 36. Backward is the adjoint
of the same steps: dM = A dy At, dU[k] = dM[k] @ V[k].T, dW = G^T dU G, dV[k] = U[k].T @ dM[k],
and dx is B dV Bt added back into the overlapping 4x4 windows.

The 4x4 entries k = 4*a + b run along the first axis; tile p = (g*TH*TW + th*TW + tw)*LANES
+ q is tile (th, tw) of sample g*LANES + q of a chunk (`CHUNK_BYTES`): each transform works on
LANES samples at once, one vector register per value. The 16 GEMMs per pass are one np.matmul
over stacked arrays, in numpy's BLAS (see `conv2d`'s docstring). Forward keeps V of the whole
batch for backward (3.2 MB in conv2d B), which saves backward an input transform.

Measured on conv2d B (serial BLAS, forward + backward, per call, on a host shared with another
job): the GEMMs 3.0-3.6 ms, the transforms 2.2-2.9 ms together (input 0.5, output 0.4-0.6,
dy 0.6-0.9, dx 0.7-0.8).
"""

from __future__ import annotations

import numpy as np

from ._flags import jit
from .buffers import reusable

_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])

# Samples per tile group: one AVX2 register of float32. Each (sample, channel) plane is first
# transposed into a (H*W, LANES) block (`_gather`), which LLVM vectorizes as 8x8 shuffles. The
# alternatives measured slower: one plane's tiles as the vector (rows split by parity, so that a
# tile row is a run) spent ~100 scalar instructions per 14-pixel row, conv2d B 1.07-1.17x the
# gemm method's time; this layout 0.91-0.96x.
LANES = 8


# ---------------------------------------------------------------------------- numba cores


@jit
def _bt(a0, a1, a2, a3):
    """Bt @ (a0, a1, a2, a3): one axis of the input transform."""
    return a0 - a2, a1 + a2, a2 - a1, a1 - a3


@jit
def _b(v0, v1, v2, v3):
    """B @ (v0, v1, v2, v3), the adjoint of `_bt`."""
    return v0, v1 - v2 + v3, v1 + v2 - v0, -v3


@jit
def _at(m0, m1, m2, m3):
    """At @ (m0, m1, m2, m3): one axis of the output transform."""
    return m0 + m1 + m2, m1 - m2 - m3


@jit
def _a(s0, s1):
    """A @ (s0, s1), the adjoint of `_at`."""
    return s0, s0 + s1, s0 - s1, -s1


@jit
def _put4(T, row, q, v):
    """T[row .. row + 3, q] = v."""
    T[row, q], T[row + 1, q], T[row + 2, q], T[row + 3, q] = v


# What keeps the lane loops vectorized (each checked in the assembly):
# - flat arrays at uint64 offsets, no views in the loops: numba wraps negative signed indices,
#   and that check stops LLVM; a view costs two reference count calls, opaque to LLVM;
# - a lane count passed in at run time (`lanes`): a constant 8 gets the loop fully unrolled,
#   and the SLP vectorizer then left the transforms scalar (2x slower);
# - results to a local (16, LANES) array T, then copied out one row at a time: stored straight
#   into V or dM (16 runs at runtime distances that might alias the input, for all LLVM knows)
#   they needed more runtime alias checks than LLVM allows. The copies have few statements, so
#   a constant lane count is fine there (4 % faster than `lanes`).


@jit
def _gather(src, n0, valid, ch, buf):
    """buf[k*LANES + q] = src[n0 + q, ch].flat[k] for lanes q < valid, 0 in the others and in
    the last block of LANES (the zero block). src (N, C, H, W); buf ((H*W + 1)*LANES,)."""
    _, C, H, W = src.shape
    K = H * W
    sf = src.reshape(src.size)
    base, stride, lanes = np.uint64((n0 * C + ch) * K), np.uint64(C * K), np.uint64(LANES)
    if valid == LANES:
        for k in range(np.uint64(K)):
            for q in range(lanes):
                buf[k * lanes + q] = sf[base + k + q * stride]
    else:
        buf[:] = 0
        for q in range(np.uint64(valid)):
            for k in range(np.uint64(K)):
                buf[k * lanes + q] = sf[base + k + q * stride]
    buf[K * LANES :] = 0


@jit
def _scatter(buf, bias, dst, n0, valid, ch):
    """dst[n0 + q, ch].flat[k] = buf[k*LANES + q] + bias for lanes q < valid: `_gather`
    reversed. dst (N, C, H, W)."""
    _, C, H, W = dst.shape
    K = H * W
    df = dst.reshape(dst.size)
    base, stride, lanes = np.uint64((n0 * C + ch) * K), np.uint64(C * K), np.uint64(LANES)
    if valid == LANES:
        for k in range(np.uint64(K)):
            for q in range(lanes):
                df[base + k + q * stride] = buf[k * lanes + q] + bias
    else:
        for q in range(np.uint64(valid)):
            for k in range(np.uint64(K)):
                df[base + k + q * stride] = buf[k * lanes + q] + bias


@jit
def _window_offsets(TH, TW, top, left, H, W, size):
    """offs[th*TW + tw, 4*i + j] = LANES * the pixel (2*th + i - top, 2*tw + j - left) of an
    (H, W) plane, or LANES*H*W (the zero or dump block) where it lies outside; `size` (4 or
    2) pixels a side."""
    offs = np.empty((TH * TW, size * size), np.uint64)
    for th in range(TH):
        for tw in range(TW):
            for i in range(size):
                for j in range(size):
                    h, w = 2 * th + i - top, 2 * tw + j - left
                    inside = 0 <= h < H and 0 <= w < W
                    offs[th * TW + tw, size * i + j] = LANES * (h * W + w if inside else H * W)
    return offs


@jit
def _row16(offs, t):
    """offs[t] as a tuple: a row view would cost reference counting in the tile loop."""
    return (
        offs[t, 0],
        offs[t, 1],
        offs[t, 2],
        offs[t, 3],
        offs[t, 4],
        offs[t, 5],
        offs[t, 6],
        offs[t, 7],
        offs[t, 8],
        offs[t, 9],
        offs[t, 10],
        offs[t, 11],
        offs[t, 12],
        offs[t, 13],
        offs[t, 14],
        offs[t, 15],
    )


@jit
def _row4(offs, t):
    return offs[t, 0], offs[t, 1], offs[t, 2], offs[t, 3]


@jit
def _strided16(base, step):
    """(base + k*step for k < 16) as uint64 offsets."""
    return (
        np.uint64(base + 0 * step),
        np.uint64(base + 1 * step),
        np.uint64(base + 2 * step),
        np.uint64(base + 3 * step),
        np.uint64(base + 4 * step),
        np.uint64(base + 5 * step),
        np.uint64(base + 6 * step),
        np.uint64(base + 7 * step),
        np.uint64(base + 8 * step),
        np.uint64(base + 9 * step),
        np.uint64(base + 10 * step),
        np.uint64(base + 11 * step),
        np.uint64(base + 12 * step),
        np.uint64(base + 13 * step),
        np.uint64(base + 14 * step),
        np.uint64(base + 15 * step),
    )


@jit
def _input_core(x, n0, n1, top, left, TH, TW, V, lanes):
    """V[:, c, (g*TH*TW + th*TW + tw)*LANES + q] = Bt d B, d tile (th, tw) of sample n0 +
    g*LANES + q and channel c of x zero-padded by (top, left) (zeros for samples from n1)."""
    _, C, H, W = x.shape
    P = V.shape[2]
    Vf = V.reshape(V.size)
    offs = _window_offsets(TH, TW, top, left, H, W, 4)
    buf = np.empty((H * W + 1) * LANES, x.dtype)
    T = np.empty((16, LANES), x.dtype)
    lanes = np.uint64(lanes)
    for g in range((n1 - n0 + LANES - 1) // LANES):
        for c in range(C):
            _gather(x, n0 + g * LANES, min(LANES, n1 - n0 - g * LANES), c, buf)
            for t in range(TH * TW):
                o = _row16(offs, t)
                for q in range(lanes):
                    u0 = _bt(buf[o[0] + q], buf[o[4] + q], buf[o[8] + q], buf[o[12] + q])
                    u1 = _bt(buf[o[1] + q], buf[o[5] + q], buf[o[9] + q], buf[o[13] + q])
                    u2 = _bt(buf[o[2] + q], buf[o[6] + q], buf[o[10] + q], buf[o[14] + q])
                    u3 = _bt(buf[o[3] + q], buf[o[7] + q], buf[o[11] + q], buf[o[15] + q])
                    _put4(T, 0, q, _bt(u0[0], u1[0], u2[0], u3[0]))  # Bt d, then (.) B
                    _put4(T, 4, q, _bt(u0[1], u1[1], u2[1], u3[1]))
                    _put4(T, 8, q, _bt(u0[2], u1[2], u2[2], u3[2]))
                    _put4(T, 12, q, _bt(u0[3], u1[3], u2[3], u3[3]))
                dst = np.uint64(c * P + (g * TH * TW + t) * LANES)
                for k in range(16):
                    d = dst + np.uint64(k * C * P)
                    for q in range(np.uint64(LANES)):
                        Vf[d + q] = T[k, q]


@jit
def _output_core(M, b, n0, n1, y, lanes):
    """y[n, f, 2*th + i, 2*tw + j] = (At M[:, f, p] A)[i, j] + b[f], tile p as in
    `_input_core`, for samples n0 .. n1; rows and columns past y's edge are dropped."""
    _, F, OH, OW = y.shape
    TH, TW = (OH + 1) // 2, (OW + 1) // 2
    P = M.shape[2]
    Mf = M.reshape(M.size)
    offs = _window_offsets(TH, TW, 0, 0, OH, OW, 2)
    buf = np.empty((OH * OW + 1) * LANES, y.dtype)  # the last block takes what is dropped
    T = np.empty((4, LANES), y.dtype)
    lanes = np.uint64(lanes)
    for g in range((n1 - n0 + LANES - 1) // LANES):
        for f in range(F):
            for t in range(TH * TW):
                m = _strided16(f * P + (g * TH * TW + t) * LANES, F * P)
                for q in range(lanes):
                    r0 = _at(Mf[m[0] + q], Mf[m[4] + q], Mf[m[8] + q], Mf[m[12] + q])
                    r1 = _at(Mf[m[1] + q], Mf[m[5] + q], Mf[m[9] + q], Mf[m[13] + q])
                    r2 = _at(Mf[m[2] + q], Mf[m[6] + q], Mf[m[10] + q], Mf[m[14] + q])
                    r3 = _at(Mf[m[3] + q], Mf[m[7] + q], Mf[m[11] + q], Mf[m[15] + q])
                    T[0, q], T[1, q] = _at(r0[0], r1[0], r2[0], r3[0])  # At M, then (.) A
                    T[2, q], T[3, q] = _at(r0[1], r1[1], r2[1], r3[1])
                o = _row4(offs, t)
                for k in range(4):
                    d = o[k]
                    for q in range(np.uint64(LANES)):
                        buf[d + q] = T[k, q]
            n = n0 + g * LANES
            _scatter(buf, b[f], y, n, min(LANES, n1 - n), f)


@jit
def _dy_core(dy, n0, n1, dM, db, lanes):
    """dM[:, f, p] = A dy_tile At for every 2x2 tile p of dy (zeros past its edges; the
    adjoint of `_output_core`) for samples n0 .. n1, and db[f] += the sum of those dy."""
    _, F, OH, OW = dy.shape
    TH, TW = (OH + 1) // 2, (OW + 1) // 2
    P = dM.shape[2]
    dMf = dM.reshape(dM.size)
    offs = _window_offsets(TH, TW, 0, 0, OH, OW, 2)
    buf = np.empty((OH * OW + 1) * LANES, dy.dtype)
    T = np.empty((16, LANES), dy.dtype)
    lanes = np.uint64(lanes)
    for g in range((n1 - n0 + LANES - 1) // LANES):
        for f in range(F):
            _gather(dy, n0 + g * LANES, min(LANES, n1 - n0 - g * LANES), f, buf)
            total = db[f]
            for k in range(buf.size):
                total += buf[k]
            db[f] = total
            for t in range(TH * TW):
                o = _row4(offs, t)
                for q in range(lanes):
                    c0 = _a(buf[o[0] + q], buf[o[2] + q])  # A dy, for j = 0, 1
                    c1 = _a(buf[o[1] + q], buf[o[3] + q])
                    _put4(T, 0, q, _a(c0[0], c1[0]))  # then (.) At
                    _put4(T, 4, q, _a(c0[1], c1[1]))
                    _put4(T, 8, q, _a(c0[2], c1[2]))
                    _put4(T, 12, q, _a(c0[3], c1[3]))
                dst = np.uint64(f * P + (g * TH * TW + t) * LANES)
                for k in range(16):
                    d = dst + np.uint64(k * F * P)
                    for q in range(np.uint64(LANES)):
                        dMf[d + q] = T[k, q]


@jit
def _dx_core(dV, n0, n1, top, left, TH, TW, dx, lanes):
    """dx[n0 .. n1] = B dV Bt added into each tile's 4x4 window of the zero-padded input, what
    falls into the padding dropped: the adjoint of `_input_core`."""
    _, C, H, W = dx.shape
    P = dV.shape[2]
    dVf = dV.reshape(dV.size)
    offs = _window_offsets(TH, TW, top, left, H, W, 4)
    buf = np.empty((H * W + 1) * LANES, dx.dtype)  # the last block collects the padding's
    T = np.empty((16, LANES), dx.dtype)
    lanes = np.uint64(lanes)
    zero = dx.dtype.type(0)
    for g in range((n1 - n0 + LANES - 1) // LANES):
        for c in range(C):
            buf[:] = 0
            for t in range(TH * TW):
                s = _strided16(c * P + (g * TH * TW + t) * LANES, C * P)
                for q in range(lanes):
                    r0 = _b(dVf[s[0] + q], dVf[s[4] + q], dVf[s[8] + q], dVf[s[12] + q])
                    r1 = _b(dVf[s[1] + q], dVf[s[5] + q], dVf[s[9] + q], dVf[s[13] + q])
                    r2 = _b(dVf[s[2] + q], dVf[s[6] + q], dVf[s[10] + q], dVf[s[14] + q])
                    r3 = _b(dVf[s[3] + q], dVf[s[7] + q], dVf[s[11] + q], dVf[s[15] + q])
                    _put4(T, 0, q, _b(r0[0], r1[0], r2[0], r3[0]))  # B dV, then (.) Bt
                    _put4(T, 4, q, _b(r0[1], r1[1], r2[1], r3[1]))
                    _put4(T, 8, q, _b(r0[2], r1[2], r2[2], r3[2]))
                    _put4(T, 12, q, _b(r0[3], r1[3], r2[3], r3[3]))
                o = _row16(offs, t)
                # one loop per window pixel: neighbouring windows overlap, one loop does not
                for k in range(16):
                    d = o[k]
                    for q in range(np.uint64(LANES)):
                        buf[d + q] += T[k, q]
            n = n0 + g * LANES
            _scatter(buf, zero, dx, n, min(LANES, n1 - n), c)


# ---------------------------------------------------------------------------- wrappers

# Samples per chunk (whole tile groups): the chunk's V, M and dV about CHUNK_BYTES, so that the
# GEMMs find them in L2. conv2d B time vs the gemm method: 0.93 at 512 KiB, 0.91 at 1 MiB,
# 0.89 at 2 MiB, 0.92 at 4 MiB, 1.18 at 16 MiB (one chunk) - within the noise from 1 to 4 MiB.
CHUNK_BYTES = 2**20


def tiles(OH: int, OW: int) -> tuple[int, int]:
    """(TH, TW), the 2x2 tiles that cover an (OH, OW) output."""
    return (OH + 1) // 2, (OW + 1) // 2


def filter_transform(W: np.ndarray) -> np.ndarray:
    """U (16, F, C) = G W[f, c] G^T, its 4x4 entries row-major along the first axis."""
    F, C = W.shape[:2]
    G = _G.astype(W.dtype)
    GW = (G @ W.transpose(2, 3, 0, 1).reshape(3, 3 * F * C)).reshape(4, 3, F * C)
    return np.matmul(G, GW).reshape(16, F, C)


def filter_grad(dU: np.ndarray) -> np.ndarray:
    """dW (F, C, 3, 3) = G^T dU G, the adjoint of `filter_transform`."""
    _, F, C = dU.shape
    G = _G.astype(dU.dtype)
    GdU = (G.T @ dU.reshape(4, 4 * F * C)).reshape(3, 4, F * C)
    return np.matmul(G.T, GdU).reshape(3, 3, F, C).transpose(2, 3, 0, 1)


def _lanes(n: int) -> int:
    """Tile lanes for n samples: whole groups of LANES."""
    return -(-n // LANES) * LANES


class _Plan:
    """The tiles and chunks of one call, and chunk views of its buffers: `V` holds 16*C*TT
    values a sample (the whole batch, or one chunk and reused), `scratch` a chunk's M or dM
    and then its dV."""

    def __init__(self, x_shape, W_shape, pad, dtype):
        N, self.C, H, Wd = x_shape
        self.F = W_shape[0]
        self.TH, self.TW = tiles(H + pad[0] + pad[1] - 2, Wd + pad[2] + pad[3] - 2)
        self.TT = self.TH * self.TW
        sample = 16 * (self.C + self.F) * self.TT * np.dtype(dtype).itemsize
        self.nb = min(_lanes(N), max(LANES, CHUNK_BYTES // sample // LANES * LANES))
        self.chunks = [(n0, min(n0 + self.nb, N)) for n0 in range(0, N, self.nb)]
        self.batch_size = 16 * self.C * self.TT * _lanes(N)
        self.scratch_size = 16 * (self.F + self.C) * self.TT * self.nb

    def V(self, buf, n0, n1):
        """V (16, C, lanes*TT) of samples n0 .. n1 in `buf`, which holds the batch or (if
        smaller) one chunk."""
        size = 16 * self.C * self.TT
        start = n0 * size if buf.size == self.batch_size else 0
        return buf[start : start + _lanes(n1 - n0) * size].reshape(16, self.C, -1)

    def M(self, scratch, n0, n1):
        return scratch[: 16 * self.F * self.TT * _lanes(n1 - n0)].reshape(16, self.F, -1)

    def dV(self, scratch, n0, n1):
        start = 16 * self.F * self.TT * self.nb
        size = 16 * self.C * self.TT * _lanes(n1 - n0)
        return scratch[start : start + size].reshape(16, self.C, -1)


def forward(x, W, b, pad, keep, V=None, scratch=None):
    """y of the stride-1 3x3 convolution of x (N, C, H, W), zero-padded by `pad`.

    Args:
        x, W, b: C-contiguous float32 or float64 arrays, W (F, C, 3, 3), b (F,).
        pad: (top, bottom, left, right).
        keep: keep V of the whole batch for `backward` (else only a chunk's at a time).
        V, scratch: buffers of a previous call, reused when their sizes fit.

    Returns:
        (y (N, F, OH, OW), V, scratch): V (flat) to pass to `backward` if `keep`.
    """
    N, _, H, Wd = x.shape
    plan = _Plan(x.shape, W.shape, pad, x.dtype)
    size = plan.batch_size if keep else 16 * plan.C * plan.TT * plan.nb
    V = reusable(V, (size,), x.dtype)
    scratch = reusable(scratch, (plan.scratch_size,), x.dtype)
    U = filter_transform(W)
    y = np.empty((N, plan.F, H + pad[0] + pad[1] - 2, Wd + pad[2] + pad[3] - 2), x.dtype)
    for n0, n1 in plan.chunks:
        Vc, M = plan.V(V, n0, n1), plan.M(scratch, n0, n1)
        _input_core(x, n0, n1, pad[0], pad[2], plan.TH, plan.TW, Vc, LANES)
        np.matmul(U, Vc, out=M)
        _output_core(M, b, n0, n1, y, LANES)
    return y, V, scratch


def backward(dy, x, W, pad, need_dx, db, V=None, scratch=None):
    """(dx or None, dW) of `forward`, db written into `db`.

    Args:
        V: the kept V of `forward` on this x, W and pad; None recomputes it chunk by chunk.
        scratch: a buffer of a previous call, reused when its size fits.

    Returns:
        (dx (N, C, H, W) or None, dW (F, C, 3, 3), scratch).
    """
    plan = _Plan(x.shape, W.shape, pad, dy.dtype)
    scratch = reusable(scratch, (plan.scratch_size,), dy.dtype)
    recompute = V is None
    if recompute:
        V = np.empty(16 * plan.C * plan.TT * plan.nb, dy.dtype)
    Ut = np.ascontiguousarray(filter_transform(W).transpose(0, 2, 1))
    dU = np.zeros((16, plan.F, plan.C), dy.dtype)
    dU_part = np.empty_like(dU)
    db[:] = 0
    dx = np.empty(x.shape, dy.dtype) if need_dx else None
    for n0, n1 in plan.chunks:
        Vc, dM = plan.V(V, n0, n1), plan.M(scratch, n0, n1)
        if recompute:
            _input_core(x, n0, n1, pad[0], pad[2], plan.TH, plan.TW, Vc, LANES)
        _dy_core(dy, n0, n1, dM, db, LANES)
        np.matmul(dM, Vc.transpose(0, 2, 1), out=dU_part)
        dU += dU_part
        if need_dx:
            dV = plan.dV(scratch, n0, n1)
            np.matmul(Ut, dM, out=dV)
            _dx_core(dV, n0, n1, pad[0], pad[2], plan.TH, plan.TW, dx, LANES)
    return dx, filter_grad(dU), scratch
