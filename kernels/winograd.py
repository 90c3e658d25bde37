"""Winograd F(4x4, 3x3) convolution, forward and backward (Lavin & Gray 2015).

For 3x3 kernels with stride 1 (any zero padding), `conv2d`'s ``method="winograd"``. The output
is cut into TH x TW tiles of 4x4; tile (th, tw) reads the 6x6 window d at rows 4*th..,
columns 4*tw.. of the zero-padded input (zeros also past its far edges), and with the 6x6 Bt,
6x3 G and 4x6 At of the points 0, 1, -1, 2, -2 and infinity (`_bt`, `_G`, `_at`),

    U[:, f, c] = G g[f, c] G^T,   V[:, c, p] = Bt d[c, p] B,   M[k] = U[k] @ V[k]   (k < 36)
    y tile (f, p) = At M[:, f, p] A + b[f]

so a 4x4 output tile costs 36 multiply-adds per (f, c) instead of 144 (F(2x2, 3x3): 64).
Backward is the adjoint of the same steps: dM = A dy At, dU[k] = dM[k] @ V[k].T, dW = G^T dU G,
dV[k] = U[k].T @ dM[k], and dx is B dV Bt added back into the overlapping 6x6 windows. In
float32 the transforms' factors (up to 8 and 1/24) cost accuracy: about 3e-6 of the output's
scale, against 3e-7 for F(2x2, 3x3) (see tests/test_kernel_conv2d.py).

The 6x6 entries k = 6*a + b are the rows of (36, ks) arrays; tile p = (g*TH*TW + th*TW +
tw)*LANES + q is tile (th, tw) of sample g*LANES + q of a chunk (`CHUNK_BYTES`): each transform
works on LANES samples at once, one vector register per value. The 36 GEMMs per pass are one
np.matmul over stacked views, in numpy's BLAS (see `conv2d`'s docstring). Forward keeps V of
the whole batch for backward (2.4 MB in conv2d B), which saves backward an input transform.

Measured on conv2d B (serial BLAS, forward + backward, interleaved medians, on a host shared
with another job): 4.4-5.3 ms against 5.1-6.1 ms for F(2x2, 3x3); the GEMMs about 2.2 ms, the
transforms about 2.2 ms (input 0.4, output 0.7, dy 0.6, dx 0.45). On other 3x3 layers it took
0.65-0.95 of F(2x2, 3x3)'s time and 0.45-0.75 of the gemm method's.
"""

from __future__ import annotations

import numpy as np

from .buffers import reusable
from .winograd_tiles import LANES, _dx_core, _dy_core, _input_core, _lanes, _output_core

# The interpolation points 0, 1, -1, 2, -2 and infinity (Lavin & Gray's F(4x4, 3x3)).
_G = np.array(
    [
        [1 / 4, 0, 0],
        [-1 / 6, -1 / 6, -1 / 6],
        [-1 / 6, 1 / 6, -1 / 6],
        [1 / 24, 1 / 12, 1 / 6],
        [1 / 24, -1 / 12, 1 / 6],
        [0, 0, 1],
    ]
)

CHUNK_BYTES = 2**22
SKEW = 16  # values added to each row of V, M, dM and dV (see _Plan): 64 bytes in float32


def tiles(OH: int, OW: int) -> tuple[int, int]:
    """(TH, TW), the 4x4 tiles that cover an (OH, OW) output."""
    return (OH + 3) // 4, (OW + 3) // 4


def filter_transform(W: np.ndarray) -> np.ndarray:
    """U (36, F, C) = G W[f, c] G^T, its 4x4 entries row-major along the first axis."""
    F, C = W.shape[:2]
    G = _G.astype(W.dtype)
    GW = (G @ W.transpose(2, 3, 0, 1).reshape(3, 3 * F * C)).reshape(6, 3, F * C)
    return np.matmul(G, GW).reshape(36, F, C)


def filter_grad(dU: np.ndarray) -> np.ndarray:
    """dW (F, C, 3, 3) = G^T dU G, the adjoint of `filter_transform`."""
    _, F, C = dU.shape
    G = _G.astype(dU.dtype)
    GdU = (G.T @ dU.reshape(6, 6 * F * C)).reshape(3, 6, F * C)
    return np.matmul(G.T, GdU).reshape(3, 3, F, C).transpose(2, 3, 0, 1)


class _Plan:
    """The tiles and chunks of one call, and its buffers' layout. V, M, dM and dV of a chunk are
    (36, ks) arrays whose row k holds entry k of every (channel, tile) (`view` gives the GEMMs
    (36, channels, tiles) views of them); ks is padded by SKEW past a multiple of 4 KiB, where
    the 36 rows' runs in a transform would all map to the same L1 cache sets."""

    def __init__(self, x_shape, W_shape, pad, dtype):
        N, self.C, H, Wd = x_shape
        self.F = W_shape[0]
        self.TH, self.TW = tiles(H + pad[0] + pad[1] - 2, Wd + pad[2] + pad[3] - 2)
        self.TT = self.TH * self.TW
        sample = 36 * (self.C + self.F) * self.TT * np.dtype(dtype).itemsize
        self.nb = min(_lanes(N), max(LANES, CHUNK_BYTES // sample // LANES * LANES))
        self.chunks = [(n0, min(n0 + self.nb, N)) for n0 in range(0, N, self.nb)]
        P = self.nb * self.TT
        self.ks_c, self.ks_f = self.C * P + SKEW, self.F * P + SKEW
        self.batch_size = len(self.chunks) * 36 * self.ks_c
        self.scratch_size = 36 * (self.ks_f + self.ks_c)

    def V(self, buf, n0):
        """V of the chunk from sample n0 in `buf`, which holds the batch's or (if smaller) one
        chunk's."""
        start = n0 // self.nb * 36 * self.ks_c if buf.size == self.batch_size else 0
        return buf[start : start + 36 * self.ks_c].reshape(36, self.ks_c)

    def M(self, scratch):
        """M or dM of a chunk."""
        return scratch[: 36 * self.ks_f].reshape(36, self.ks_f)

    def dV(self, scratch):
        return scratch[36 * self.ks_f :].reshape(36, self.ks_c)

    def view(self, a, n0, n1):
        """The (36, channels, tiles) view of a chunk's (36, ks) array."""
        rows = self.C if a.shape[1] == self.ks_c else self.F
        P = _lanes(n1 - n0) * self.TT
        return a[:, : rows * P].reshape(36, rows, P)


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
    size = plan.batch_size if keep else 36 * plan.ks_c
    V = reusable(V, (size,), x.dtype)
    scratch = reusable(scratch, (plan.scratch_size,), x.dtype)
    U = filter_transform(W)
    y = np.empty((N, plan.F, H + pad[0] + pad[1] - 2, Wd + pad[2] + pad[3] - 2), x.dtype)
    M = plan.M(scratch)
    for n0, n1 in plan.chunks:
        Vc = plan.V(V, n0)
        _input_core(x, n0, n1, pad[0], pad[2], plan.TH, plan.TW, Vc)
        np.matmul(U, plan.view(Vc, n0, n1), out=plan.view(M, n0, n1))
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
        V = np.empty(36 * plan.ks_c, dy.dtype)
    Ut = np.ascontiguousarray(filter_transform(W).transpose(0, 2, 1))
    dU = np.zeros((36, plan.F, plan.C), dy.dtype)
    dU_part = np.empty_like(dU)
    db[:] = 0
    dx = np.empty(x.shape, dy.dtype) if need_dx else None
    dM, dV = plan.M(scratch), plan.dV(scratch)
    for n0, n1 in plan.chunks:
        Vc = plan.V(V, n0)
        if recompute:
            _input_core(x, n0, n1, pad[0], pad[2], plan.TH, plan.TW, Vc)
        _dy_core(dy, n0, n1, dM, db)
        dM_view = plan.view(dM, n0, n1)
        np.matmul(dM_view, plan.view(Vc, n0, n1).transpose(0, 2, 1), out=dU_part)
        dU += dU_part
        if need_dx:
            np.matmul(Ut, dM_view, out=plan.view(dV, n0, n1))
            _dx_core(dV, n0, n1, pad[0], pad[2], plan.TH, plan.TW, dx)
    return dx, filter_grad(dU), scratch
