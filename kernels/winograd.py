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

# Samples per tile group: one AVX2 register of float32, one value of each sample side by side.
LANES = 8

# Staging columns: the transforms compute into a local (rows, TMAX) array T and copy its rows out.
# TMAX is a constant so that LLVM sees T's rows at fixed distances; written straight into V or
# dM (16 rows at run-time distances) the loops needed more run-time alias checks than LLVM
# allows and stayed scalar.
TMAX = 512


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


# Planes are staged in a "split" layout: pixel (r, w) of a plane with Wh column pairs at
# ((r*2 + w % 2)*Wh + w // 2)*LANES + q for sample q of a tile group. Then entry (i, j) of the
# 2x2- or 4x4-windows of one tile row is a contiguous run over (tw, q), so each transform is one
# vectorized loop per tile row instead of a short loop per tile. What else keeps the loops
# vectorized (each checked in the assembly): flat arrays at uint64 offsets, no views in the loops
# (numba wraps negative signed indices, and that check stops LLVM; a view costs two reference
# count calls, opaque to LLVM).


@jit
def _gather(src, n0, valid, ch, top, left, Wh, buf):
    """buf[((r*2 + w % 2)*Wh + w // 2)*LANES + q] = src[n0 + q, ch, r - top, w - left] for lanes
    q < valid (zeros in the others); the rest of buf (padding) is left as it is."""
    _, C, H, W = src.shape
    sf = src.reshape(src.size)
    base, stride = np.uint64((n0 * C + ch) * H * W), np.uint64(C * H * W)
    if valid < LANES:
        buf[:] = 0
    for h in range(H):
        for w in range(W):
            wp = w + left
            d = np.uint64((((h + top) * 2 + (wp & 1)) * Wh + (wp >> 1)) * LANES)
            s = base + np.uint64(h * W + w)
            for q in range(np.uint64(valid)):
                buf[d + q] = sf[s + q * stride]


@jit
def _scatter(buf, bias, dst, n0, valid, ch, top, left, Wh):
    """dst[n0 + q, ch, h, w] = bias + the value `_gather` reads from there, for q < valid."""
    _, C, H, W = dst.shape
    df = dst.reshape(dst.size)
    base, stride = np.uint64((n0 * C + ch) * H * W), np.uint64(C * H * W)
    for h in range(H):
        for w in range(W):
            wp = w + left
            s = np.uint64((((h + top) * 2 + (wp & 1)) * Wh + (wp >> 1)) * LANES)
            d = base + np.uint64(h * W + w)
            for q in range(np.uint64(valid)):
                df[d + q * stride] = buf[s + q] + bias


@jit
def _flush(T, fill, out, start, step):
    """out[start + k*step + u] = T[k, u] for k < T.shape[0], u < fill."""
    for k in range(T.shape[0]):
        d = start + np.uint64(k) * step
        for u in range(fill):
            out[d + u] = T[k, u]


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
def _input_core(x, n0, n1, top, left, TH, TW, V):
    """V[:, c, (g*TH*TW + th*TW + tw)*LANES + q] = Bt d B, d tile (th, tw) of sample n0 +
    g*LANES + q and channel c of x zero-padded by (top, left) (zeros for samples from n1)."""
    _, C, H, W = x.shape
    P = V.shape[2]
    Vf = V.reshape(V.size)
    Wh = TW + 1  # the 4x4 windows reach one column pair past the tiles
    buf = np.zeros((2 * TH + 2) * 2 * Wh * LANES, x.dtype)
    T = np.empty((16, TMAX), x.dtype)
    row, odd, nxt = np.uint64(2 * Wh * LANES), np.uint64(Wh * LANES), np.uint64(LANES)
    width = TW * LANES
    for g in range((n1 - n0 + LANES - 1) // LANES):
        for c in range(C):
            _gather(x, n0 + g * LANES, min(LANES, n1 - n0 - g * LANES), c, top, left, Wh, buf)
            start, fill = np.uint64(c * P + g * TH * TW * LANES), np.uint64(0)
            for th in range(TH):
                done = 0
                while done < width:
                    seg = min(width - done, TMAX - fill)
                    r0 = np.uint64(2 * th) * row + np.uint64(done)
                    r1 = r0 + row
                    r2 = r1 + row
                    r3 = r2 + row
                    for u in range(np.uint64(seg)):
                        # window columns j = 0..3: even, odd, next even, next odd
                        u0 = _bt(buf[r0 + u], buf[r1 + u], buf[r2 + u], buf[r3 + u])
                        o1, o2, o3 = odd + u, nxt + u, odd + nxt + u
                        u1 = _bt(buf[r0 + o1], buf[r1 + o1], buf[r2 + o1], buf[r3 + o1])
                        u2 = _bt(buf[r0 + o2], buf[r1 + o2], buf[r2 + o2], buf[r3 + o2])
                        u3 = _bt(buf[r0 + o3], buf[r1 + o3], buf[r2 + o3], buf[r3 + o3])
                        t = fill + u  # Bt d, then (.) B
                        T[0, t], T[1, t], T[2, t], T[3, t] = _bt(u0[0], u1[0], u2[0], u3[0])
                        T[4, t], T[5, t], T[6, t], T[7, t] = _bt(u0[1], u1[1], u2[1], u3[1])
                        T[8, t], T[9, t], T[10, t], T[11, t] = _bt(u0[2], u1[2], u2[2], u3[2])
                        T[12, t], T[13, t], T[14, t], T[15, t] = _bt(u0[3], u1[3], u2[3], u3[3])
                    fill += np.uint64(seg)
                    done += seg
                    if fill == TMAX:
                        _flush(T, fill, Vf, start, np.uint64(C * P))
                        start, fill = start + fill, np.uint64(0)
            if fill:
                _flush(T, fill, Vf, start, np.uint64(C * P))


@jit
def _output_core(M, b, n0, n1, y):
    """y[n, f, 2*th + i, 2*tw + j] = (At M[:, f, p] A)[i, j] + b[f], tile p as in
    `_input_core`, for samples n0 .. n1; rows and columns past y's edge are dropped."""
    _, F, OH, OW = y.shape
    TH, TW = (OH + 1) // 2, (OW + 1) // 2
    P = M.shape[2]
    Mf = M.reshape(M.size)
    buf = np.empty(2 * TH * 2 * TW * LANES, y.dtype)
    T = np.empty((4, TMAX), y.dtype)
    width = TW * LANES
    row, odd = np.uint64(2 * width), np.uint64(width)
    for g in range((n1 - n0 + LANES - 1) // LANES):
        for f in range(F):
            for th in range(TH):
                for done in range(0, width, TMAX):
                    seg = np.uint64(min(width - done, TMAX))
                    m = _strided16(f * P + (g * TH * TW + th * TW) * LANES + done, F * P)
                    for u in range(seg):
                        r0 = _at(Mf[m[0] + u], Mf[m[4] + u], Mf[m[8] + u], Mf[m[12] + u])
                        r1 = _at(Mf[m[1] + u], Mf[m[5] + u], Mf[m[9] + u], Mf[m[13] + u])
                        r2 = _at(Mf[m[2] + u], Mf[m[6] + u], Mf[m[10] + u], Mf[m[14] + u])
                        r3 = _at(Mf[m[3] + u], Mf[m[7] + u], Mf[m[11] + u], Mf[m[15] + u])
                        T[0, u], T[1, u] = _at(r0[0], r1[0], r2[0], r3[0])  # At M, then (.) A
                        T[2, u], T[3, u] = _at(r0[1], r1[1], r2[1], r3[1])
                    o = np.uint64(2 * th) * row + np.uint64(done)
                    for u in range(seg):  # pixels (i, j) at rows 2*th + i, column parity j
                        buf[o + u] = T[0, u]
                        buf[o + odd + u] = T[1, u]
                        buf[o + row + u] = T[2, u]
                        buf[o + row + odd + u] = T[3, u]
            n = n0 + g * LANES
            _scatter(buf, b[f], y, n, min(LANES, n1 - n), f, 0, 0, TW)


@jit
def _dy_core(dy, n0, n1, dM, db):
    """dM[:, f, p] = A dy_tile At for every 2x2 tile p of dy (zeros past its edges; the
    adjoint of `_output_core`) for samples n0 .. n1, and db[f] += the sum of those dy."""
    _, F, OH, OW = dy.shape
    TH, TW = (OH + 1) // 2, (OW + 1) // 2
    P = dM.shape[2]
    dMf = dM.reshape(dM.size)
    buf = np.zeros(2 * TH * 2 * TW * LANES, dy.dtype)
    T = np.empty((16, TMAX), dy.dtype)
    width = TW * LANES
    row, odd = np.uint64(2 * width), np.uint64(width)
    for g in range((n1 - n0 + LANES - 1) // LANES):
        for f in range(F):
            _gather(dy, n0 + g * LANES, min(LANES, n1 - n0 - g * LANES), f, 0, 0, TW, buf)
            total = db[f]
            for k in range(buf.size):
                total += buf[k]
            db[f] = total
            start, fill = np.uint64(f * P + g * TH * TW * LANES), np.uint64(0)
            for th in range(TH):
                done = 0
                while done < width:
                    seg = min(width - done, TMAX - fill)
                    r0 = np.uint64(2 * th) * row + np.uint64(done)
                    r1 = r0 + row
                    for u in range(np.uint64(seg)):
                        c0 = _a(buf[r0 + u], buf[r1 + u])  # A dy, for j = 0, 1
                        c1 = _a(buf[r0 + odd + u], buf[r1 + odd + u])
                        t = fill + u  # then (.) At
                        T[0, t], T[1, t], T[2, t], T[3, t] = _a(c0[0], c1[0])
                        T[4, t], T[5, t], T[6, t], T[7, t] = _a(c0[1], c1[1])
                        T[8, t], T[9, t], T[10, t], T[11, t] = _a(c0[2], c1[2])
                        T[12, t], T[13, t], T[14, t], T[15, t] = _a(c0[3], c1[3])
                    fill += np.uint64(seg)
                    done += seg
                    if fill == TMAX:
                        _flush(T, fill, dMf, start, np.uint64(F * P))
                        start, fill = start + fill, np.uint64(0)
            if fill:
                _flush(T, fill, dMf, start, np.uint64(F * P))


@jit
def _dx_core(dV, n0, n1, top, left, TH, TW, dx):
    """dx[n0 .. n1] = B dV Bt added into each tile's 4x4 window of the zero-padded input, what
    falls into the padding dropped: the adjoint of `_input_core`."""
    _, C, H, W = dx.shape
    P = dV.shape[2]
    dVf = dV.reshape(dV.size)
    Wh = TW + 1
    buf = np.empty((2 * TH + 2) * 2 * Wh * LANES, dx.dtype)
    T = np.empty((16, TMAX), dx.dtype)
    row, odd, nxt = np.uint64(2 * Wh * LANES), np.uint64(Wh * LANES), np.uint64(LANES)
    cols = (np.uint64(0), odd, nxt, odd + nxt)  # window columns j = 0..3
    width = TW * LANES
    for g in range((n1 - n0 + LANES - 1) // LANES):
        for c in range(C):
            buf[:] = 0
            for th in range(TH):
                for done in range(0, width, TMAX):
                    seg = np.uint64(min(width - done, TMAX))
                    s = _strided16(c * P + (g * TH * TW + th * TW) * LANES + done, C * P)
                    for u in range(seg):
                        r0 = _b(dVf[s[0] + u], dVf[s[4] + u], dVf[s[8] + u], dVf[s[12] + u])
                        r1 = _b(dVf[s[1] + u], dVf[s[5] + u], dVf[s[9] + u], dVf[s[13] + u])
                        r2 = _b(dVf[s[2] + u], dVf[s[6] + u], dVf[s[10] + u], dVf[s[14] + u])
                        r3 = _b(dVf[s[3] + u], dVf[s[7] + u], dVf[s[11] + u], dVf[s[15] + u])
                        T[0, u], T[1, u], T[2, u], T[3, u] = _b(r0[0], r1[0], r2[0], r3[0])
                        T[4, u], T[5, u], T[6, u], T[7, u] = _b(r0[1], r1[1], r2[1], r3[1])
                        T[8, u], T[9, u], T[10, u], T[11, u] = _b(r0[2], r1[2], r2[2], r3[2])
                        T[12, u], T[13, u], T[14, u], T[15, u] = _b(r0[3], r1[3], r2[3], r3[3])
                    # one loop per window entry: neighbouring windows overlap, one loop does not
                    for k in range(16):
                        d = np.uint64(2 * th + k // 4) * row + cols[k % 4] + np.uint64(done)
                        for u in range(seg):
                            buf[d + u] += T[k, u]
            n = n0 + g * LANES
            _scatter(buf, dx.dtype.type(0), dx, n, min(LANES, n1 - n), c, top, left, Wh)


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
        _input_core(x, n0, n1, pad[0], pad[2], plan.TH, plan.TW, Vc)
        np.matmul(U, Vc, out=M)
        _output_core(M, b, n0, n1, y)
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
            _input_core(x, n0, n1, pad[0], pad[2], plan.TH, plan.TW, Vc)
        _dy_core(dy, n0, n1, dM, db)
        np.matmul(dM, Vc.transpose(0, 2, 1), out=dU_part)
        dU += dU_part
        if need_dx:
            dV = plan.dV(scratch, n0, n1)
            np.matmul(Ut, dM, out=dV)
            _dx_core(dV, n0, n1, pad[0], pad[2], plan.TH, plan.TW, dx)
    return dx, filter_grad(dU), scratch
