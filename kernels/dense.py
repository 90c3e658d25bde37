"""The dense layer's products: `forward` (y = x W + b) and `backward` (dW, db, dx), each one
numba call that runs BLAS's sgemm on `threads()` threads.

Each product is the sgemm numpy's `@` calls (`blas.py`); what surrounds it is where a dense
layer can gain, so each direction is one call: the forward writes the bias into y and has the
GEMM add to it (BLAS's beta = 1, where beta = 0 would have OpenBLAS clear y first and a bias
pass follow), the backward sums db in the same call as its two GEMMs. Measured against
numpy's `x @ W + b`, `x.T @ dy`, `dy @ W.T`, `dy.sum(0)` on the benchmark's (64, 784) @
(784, 256) (AMD EPYC Zen 3, medians of alternating blocks in one process): 0.98-1.00 of
numpy's time on 1 thread, where a product each from Python was 1.02-1.03. Layers with fewer
than `MIN_WEIGHTS` weights (a classifier's last layers) and float64 ones run those numpy calls
instead: the cores cost 2-3 s of compiling on a preset's first run, more than a small layer
spends in Python in thousands of steps. The choice is the layer's, not the batch's, so the
warm-up's two samples compile what training runs.

On T threads a product large enough to share is cut into blocks, each one single-threaded
`gemm` call from a numba thread (BLAS stays on one thread: `threads.py`). A block of output
rows or columns packs its share of one operand and the whole other one, so that cut goes
through the larger operand. A forward's output is small next to its operands ((64, 784) @
(784, 256)), and there a cut in depth packs less: each block takes its share of x's columns
and W's rows, and the partial outputs are added after. Measured on 2 threads (medians of
alternating blocks in one process): that forward 157 us in depth against 172-175 in columns
(OpenBLAS's own 2 threads: 163 alone), LeNet's (64, 400) @ (400, 120) 56 against 72;
(64, 512) @ (512, 256), the least deep cut (`DEPTH_RATIO`), 133 against 142. The backward's
two products take the same multiply-adds, so they run side by side in one parallel region,
half the threads each (on 2: one whole product a thread, nothing packed twice): 329-338 us
against 363-369 for both products cut in two, one region after the other, and 363-391 for
numpy on OpenBLAS's 2 threads (three runs). The blocks depend on the shapes and the thread
count, so the same count gives the same bits.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from . import threads
from ._flags import jit, pjit
from .blas import NO_TRANS, TRANS, gemm_at

BLOCK_MACS = 1_000_000  # multiply-adds a block at least: ~0.025 ms of one core's GEMM
MIN_SIDE = 32  # rows, columns or depth a block at least: thinner blocks repack for little work
MIN_WEIGHTS = 16_384  # a layer's (D, U) weights for the cores: 128 x 128 (module docstring)
DEPTH_RATIO = 2  # depth over the output's longer side from which blocks cut the depth
ROWS, COLUMNS, DEPTH = 0, 1, 2  # how a product is cut into blocks


def blocks(M: int, N: int, K: int, count: int) -> tuple[int, int]:
    """(blocks, how) for an (M, K) @ (K, N) product on `count` threads: ROWS when the (K, N)
    operand each row block packs whole is the smaller one, else COLUMNS; DEPTH for a small
    output from a deep product, where each block packs only its share of both operands and
    the partial outputs are added after."""
    how, side = (ROWS, M) if N <= M else (COLUMNS, N)
    if K >= DEPTH_RATIO * max(M, N):
        how, side = DEPTH, K
    return max(1, min(count, side // MIN_SIDE, M * N * K // BLOCK_MACS)), how


def _numpy(W: np.ndarray) -> bool:
    """Whether numpy's own calls take the layer with weights `W` (module docstring)."""
    return W.dtype != np.float32 or W.size < MIN_WEIGHTS


def forward(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x @ W + b for a 2-D float32 or float64 `x (N, D)`, `W (D, U)`, `b (U,)`: a new array."""
    if _numpy(W):
        y = x @ W
        y += b
        return y
    x = np.ascontiguousarray(x)  # a layer's input always is
    out = np.empty((x.shape[0], W.shape[1]), np.float32)
    count, how = blocks(x.shape[0], W.shape[1], x.shape[1], threads.threads())
    if count == 1:
        _forward_serial(x, W, b, out)
    else:
        threads.enter()
        _forward_blocks(x, W, b, out, _parts(out, count, how), count, how)
    return out


def backward(
    x: np.ndarray,
    W: np.ndarray,
    dy: np.ndarray,
    dW: np.ndarray,
    db: np.ndarray,
    need_dx: bool = True,
) -> np.ndarray | None:
    """Write dW = x.T @ dy and db = dy summed over rows (C-contiguous arrays of W's and b's
    shapes) and return dx = dy @ W.T, or None without `need_dx`."""
    N, D = x.shape
    U = dy.shape[1]
    if _numpy(W):
        np.matmul(x.T, dy, out=dW)
        np.add.reduce(dy, axis=0, out=db)  # np.sum without its wrapper: 2.7 us, not 4.5
        return dy @ W.T if need_dx else None
    x, dy = np.ascontiguousarray(x), np.ascontiguousarray(dy)
    dx = np.empty((N, D) if need_dx else (0, 0), np.float32)
    # the two products side by side, half the threads each (they take the same multiply-adds)
    count = threads.threads()
    count_w, how_w = blocks(D, U, N, max(1, count // 2) if need_dx else count)
    count_x, how_x = blocks(N, D, U, count - count // 2) if need_dx else (0, ROWS)
    if count == 1 or count_w + count_x == 1:
        _backward_serial(x, W, dy, dW, db, dx, need_dx)
    else:
        parts_w, parts_x = _parts(dW, count_w, how_w), _parts(dx, count_x, how_x)
        threads.enter()
        _backward_blocks(x, W, dy, dW, db, dx, parts_w, count_w, how_w, parts_x, count_x, how_x)
    return dx if need_dx else None


def _parts(out: np.ndarray, count: int, how: int) -> np.ndarray:
    """Room for the partial outputs of blocks 1.. of a DEPTH cut (none for the others)."""
    shape = (count - 1, *out.shape) if how == DEPTH else (0, 0, 0)
    return np.empty(shape, out.dtype)


# The cores take whole C-contiguous arrays and pass blocks to BLAS as offsets (`gemm_at`):
# slices would give every layout its own compiled form, and numba takes seconds for each
# (the first run of a preset compiles them all).


@jit
def _span(block, count, size):
    return block * size // count, (block + 1) * size // count


@jit
def _block(a, ta, b, tb, out, add, parts, block, count, how):
    """Block `block` of `count` of out = op(a) @ op(b), or out += it: rows or columns of out,
    or (DEPTH) a share of the sum, block 0's into out and the others' into parts[block - 1]."""
    M, N = out.shape
    K = a.shape[1] if ta == NO_TRANS else a.shape[0]
    if how == ROWS:
        r0, r1 = _span(block, count, M)
        ia = r0 * a.shape[1] if ta == NO_TRANS else r0
        gemm_at(ta, tb, r1 - r0, N, K, a, ia, b, 0, out, r0 * N, add)
    elif how == COLUMNS:
        c0, c1 = _span(block, count, N)
        ib = c0 if tb == NO_TRANS else c0 * b.shape[1]
        gemm_at(ta, tb, M, c1 - c0, K, a, 0, b, ib, out, c0, add)
    else:
        k0, k1 = _span(block, count, K)
        ia = k0 if ta == NO_TRANS else k0 * a.shape[1]
        ib = k0 * b.shape[1] if tb == NO_TRANS else k0
        if block == 0:
            gemm_at(ta, tb, M, N, k1 - k0, a, ia, b, ib, out, 0, add)
        else:
            gemm_at(ta, tb, M, N, k1 - k0, a, ia, b, ib, parts[block - 1], 0, False)


@jit
def _add_parts(out, parts):
    """out += each of parts, in block order (the same bits for the same count)."""
    M, N = out.shape
    for k in range(parts.shape[0]):
        for i in range(M):
            for j in range(N):
                out[i, j] += parts[k, i, j]


@jit
def _bias_block(out, b, block, count, how):
    """b in every row of block `block` of `out`, for the product to add to (DEPTH: all of
    out, by block 0)."""
    M, N = out.shape
    r0, r1, c0, c1 = 0, M, 0, N
    if how == ROWS:
        r0, r1 = _span(block, count, M)
    elif how == COLUMNS:
        c0, c1 = _span(block, count, N)
    elif block > 0:
        return
    for i in range(r0, r1):
        for j in range(c0, c1):
            out[i, j] = b[j]


@jit
def _column_sums(dy, db):
    # rows in order, as numpy's `dy.sum(axis=0)` adds them for a C-contiguous dy
    for j in range(db.shape[0]):
        db[j] = 0
    for i in range(dy.shape[0]):
        for j in range(db.shape[0]):
            db[j] += dy[i, j]


@jit
def _forward_serial(x, W, b, out):
    _bias_block(out, b, 0, 1, ROWS)
    _block(x, NO_TRANS, W, NO_TRANS, out, True, np.empty((0, 0, 0), out.dtype), 0, 1, ROWS)


@pjit
def _forward_blocks(x, W, b, out, parts, count, how):
    for block in prange(count):
        _bias_block(out, b, block, count, how)
        _block(x, NO_TRANS, W, NO_TRANS, out, True, parts, block, count, how)
    _add_parts(out, parts)


@jit
def _backward_serial(x, W, dy, dW, db, dx, need_dx):
    none = np.empty((0, 0, 0), dW.dtype)
    _block(x, TRANS, dy, NO_TRANS, dW, False, none, 0, 1, ROWS)
    _column_sums(dy, db)
    if need_dx:
        _block(dy, NO_TRANS, W, TRANS, dx, False, none, 0, 1, ROWS)


@pjit
def _backward_blocks(x, W, dy, dW, db, dx, parts_w, count_w, how_w, parts_x, count_x, how_x):
    for task in prange(count_w + count_x):
        if task < count_w:
            _block(x, TRANS, dy, NO_TRANS, dW, False, parts_w, task, count_w, how_w)
        else:
            _block(dy, NO_TRANS, W, TRANS, dx, False, parts_x, task - count_w, count_x, how_x)
    _add_parts(dW, parts_w)
    _add_parts(dx, parts_x)
    _column_sums(dy, db)
