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
tw)*LANES + q is tile (th, tw) of sample g*LANES + q of a block (`BLOCK_BYTES`): each transform
works on LANES samples at once, one vector register per value. Forward keeps V of the whole
batch for backward (2.4 MB in conv2d B), which saves backward an input transform.

Threads (see `threads.py`): the batch splits into blocks of whole tile groups fixed by the
shapes (8 samples in conv2d B); each worker thread takes a run of consecutive blocks and its
own M, dM and dV, and a block goes through its transforms and its 36 GEMMs (`blas.gemm`,
numpy's OpenBLAS on one thread) in one pass, while its data is still in the cache. dU and db
are one partial per block, summed in block order.

Measured on conv2d B (serial BLAS, forward + backward, interleaved medians, on a host shared
with another job): 4.4-5.3 ms against 5.1-6.1 ms for F(2x2, 3x3); the GEMMs about 2.2 ms, the
transforms about 2.2 ms (input 0.4, output 0.7, dy 0.6, dx 0.45). On other 3x3 layers it took
0.65-0.95 of F(2x2, 3x3)'s time and 0.45-0.75 of the gemm method's.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from . import threads
from ._flags import jit, pjit
from .blas import gemm
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

# Samples per block (whole tile groups): the block's V, M and dV about BLOCK_BYTES (see
# `_Plan`). Larger blocks make longer GEMMs, smaller ones keep the transforms' data in cache and
# give the threads more, evener shares. On one thread (thread CPU time, interleaved medians, a
# loaded host): conv2d B 4.89 ms at 512 KiB (8 samples), 5.01 at 1 MiB (8), 5.12 at 2 MiB (16),
# 5.05 at 4 MiB (32); (32->64, 3x3, 7x7) 4.45, 4.05 (16), 4.05 (32), 4.17 (64).
BLOCK_BYTES = 2**20
# ... and at least MIN_BLOCKS blocks where the batch has that many tile groups, so that 2-4
# threads have work at batch sizes 32-128 on small images too (a 16->32 layer on 8x8 digits
# fits a batch of 32 into one 1 MiB block).
MIN_BLOCKS = 4
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
    """The tiles and blocks of one call, and its buffers' layout.

    The batch splits into blocks of `nb` samples (the last may be short), a count that depends
    on the shapes alone (see `threads.py`). V, M, dM and dV of a block are (36, ks) arrays whose
    row k holds entry k of every (channel, tile); ks is padded by SKEW past a multiple of 4 KiB,
    where the 36 rows' runs in a transform would all map to the same L1 cache sets. V has one
    such slot per block when forward keeps it for backward, else one per worker; the scratch
    holds each worker's M (then dM) and dV.
    """

    def __init__(self, x_shape, W_shape, pad, dtype):
        N, self.C, H, Wd = x_shape
        self.F = W_shape[0]
        self.TH, self.TW = tiles(H + pad[0] + pad[1] - 2, Wd + pad[2] + pad[3] - 2)
        TT = self.TH * self.TW
        sample = 36 * (self.C + self.F) * TT * np.dtype(dtype).itemsize
        most = min(BLOCK_BYTES // sample, -(-N // MIN_BLOCKS))
        self.nb = min(_lanes(N), max(LANES, most // LANES * LANES))
        self.blocks = -(-N // self.nb)
        self.workers = threads.workers(self.blocks, dtype)
        P = self.nb * TT
        self.ks_c, self.ks_f = self.C * P + SKEW, self.F * P + SKEW
        self.scratch_size = self.workers * 36 * (self.ks_f + self.ks_c)

    def V(self, buf):
        """The (slots, 36, ks_c) view of a V buffer (`v_size`)."""
        return buf.reshape(-1, 36, self.ks_c)

    def v_size(self, keep: bool) -> int:
        return (self.blocks if keep else self.workers) * 36 * self.ks_c

    def scratch(self, buf):
        """The (workers, 36 * (ks_f + ks_c)) view of the scratch: M or dM, then dV."""
        return buf.reshape(self.workers, -1)


# ---------------------------------------------------------------------------- parallel cores


@jit
def _rows(a, k, rows, P):
    """Row k of a (36, ks) block array as the (rows, P) matrix it holds (channels x tiles)."""
    return a[k, : rows * P].reshape(rows, P)


@jit
def _forward_worker(w, x, U, b, top, left, TH, TW, nb, V, keep, scratch, ks_f, y):
    """Worker w's run of blocks of y: input transform into V, the 36 GEMMs M[k] = U[k] @ V[k]
    through `gemm`, output transform; V in slot `block` if `keep`, else in the worker's slot."""
    N, C = x.shape[:2]
    F = U.shape[1]
    workers = scratch.shape[0]
    blocks = (N + nb - 1) // nb
    M = scratch[w, : 36 * ks_f].reshape(36, ks_f)
    for block in range(w * blocks // workers, (w + 1) * blocks // workers):
        n0 = block * nb
        n1 = min(n0 + nb, N)
        Vb = V[block] if keep else V[w]
        _input_core(x, n0, n1, top, left, TH, TW, Vb)
        P = _lanes(n1 - n0) * TH * TW
        for k in range(36):
            gemm(U[k], _rows(Vb, k, C, P), _rows(M, k, F, P))
        _output_core(M, b, n0, n1, y)


@pjit
def _forward_core(x, U, b, top, left, TH, TW, nb, V, keep, scratch, ks_f, y):
    for w in prange(scratch.shape[0]):
        _forward_worker(w, x, U, b, top, left, TH, TW, nb, V, keep, scratch, ks_f, y)


@jit
def _backward_worker(w, dy, x, Ut, top, left, TH, TW, nb, V, kept, scratch, ks_f, dU, db, dx):
    """Worker w's run of blocks: dM = the dy transform (and db[block]), dU[block][k] = dM[k] @
    V[k].T, and with a non-empty dx, dV[k] = Ut[k] @ dM[k] and its transform added into dx. V
    is read from slot `block` if `kept`, else recomputed into the worker's slot."""
    N, C = x.shape[:2]
    F = dy.shape[1]
    ks_c = V.shape[2]
    workers = scratch.shape[0]
    blocks = dU.shape[0]
    need_dx = dx.size > 0
    dM = scratch[w, : 36 * ks_f].reshape(36, ks_f)
    dV = scratch[w, 36 * ks_f :].reshape(36, ks_c)
    for block in range(w * blocks // workers, (w + 1) * blocks // workers):
        n0 = block * nb
        n1 = min(n0 + nb, N)
        Vb = V[block] if kept else V[w]
        if not kept:
            _input_core(x, n0, n1, top, left, TH, TW, Vb)
        db[block, :] = 0
        _dy_core(dy, n0, n1, dM, db[block])
        P = _lanes(n1 - n0) * TH * TW
        for k in range(36):
            dMk = _rows(dM, k, F, P)
            gemm(dMk, _rows(Vb, k, C, P).T, dU[block, k])
            if need_dx:
                gemm(Ut[k], dMk, _rows(dV, k, C, P))
        if need_dx:
            _dx_core(dV, n0, n1, top, left, TH, TW, dx)


@pjit
def _backward_core(dy, x, Ut, top, left, TH, TW, nb, V, kept, scratch, ks_f, dU, db, dx):
    for w in prange(scratch.shape[0]):
        _backward_worker(w, dy, x, Ut, top, left, TH, TW, nb, V, kept, scratch, ks_f, dU, db, dx)


# ---------------------------------------------------------------------------- wrappers


def forward(x, W, b, pad, keep, V=None, scratch=None):
    """y of the stride-1 3x3 convolution of x (N, C, H, W), zero-padded by `pad`.

    Args:
        x, W, b: C-contiguous float32 or float64 arrays, W (F, C, 3, 3), b (F,).
        pad: (top, bottom, left, right).
        keep: keep V of the whole batch for `backward` (else only a worker's block at a time).
        V, scratch: buffers of a previous call, reused when their sizes fit.

    Returns:
        (y (N, F, OH, OW), V, scratch): V (flat) to pass to `backward` if `keep`.
    """
    N, _, H, Wd = x.shape
    plan = _Plan(x.shape, W.shape, pad, x.dtype)
    V = reusable(V, (plan.v_size(keep),), x.dtype)
    scratch = reusable(scratch, (plan.scratch_size,), x.dtype)
    U = filter_transform(W)
    y = np.empty((N, plan.F, H + pad[0] + pad[1] - 2, Wd + pad[2] + pad[3] - 2), x.dtype)
    args = (x, U, b, pad[0], pad[2], plan.TH, plan.TW, plan.nb, plan.V(V), keep,
            plan.scratch(scratch), plan.ks_f, y)  # fmt: skip
    if plan.workers == 1:
        _forward_worker(0, *args)
    else:
        threads.enter()
        _forward_core(*args)
    return y, V, scratch


def backward(dy, x, W, pad, need_dx, db, V=None, scratch=None):
    """(dx or None, dW) of `forward`, db written into `db`.

    Args:
        V: the kept V of `forward` on this x, W and pad; None recomputes it block by block.
        scratch: a buffer of a previous call, reused when its size fits.

    Returns:
        (dx (N, C, H, W) or None, dW (F, C, 3, 3), scratch).
    """
    plan = _Plan(x.shape, W.shape, pad, dy.dtype)
    scratch = reusable(scratch, (plan.scratch_size,), dy.dtype)
    kept = V is not None
    if not kept:
        V = np.empty(plan.v_size(False), dy.dtype)
    Ut = np.ascontiguousarray(filter_transform(W).transpose(0, 2, 1))
    dU = np.empty((plan.blocks, 36, plan.F, plan.C), dy.dtype)
    db_blocks = np.empty((plan.blocks, plan.F), dy.dtype)
    dx = np.empty(x.shape if need_dx else (0, 0, 0, 0), dy.dtype)
    args = (dy, x, Ut, pad[0], pad[2], plan.TH, plan.TW, plan.nb, plan.V(V), kept,
            plan.scratch(scratch), plan.ks_f, dU, db_blocks, dx)  # fmt: skip
    if plan.workers == 1:
        _backward_worker(0, *args)
    else:
        threads.enter()
        _backward_core(*args)
    for block in range(1, plan.blocks):  # the partials in block order (see threads.py)
        dU[0] += dU[block]
        db_blocks[0] += db_blocks[block]
    db[:] = db_blocks[0]
    return (dx if need_dx else None), filter_grad(dU[0]), scratch
