"""`matmul(a, b)`: a @ b for the dense layers, its rows in blocks on `threads()` threads.

One GEMM per product, as numpy's `a @ b`, but cut into blocks of rows (`blocks`): whole
blocks of the output, each one single-threaded `gemm` call from a numba thread, so the result
is the same at every thread count (`threads.py`). Products too small to share (under
`BLOCK_MACS` multiply-adds a block, or `MIN_ROWS` rows) stay one call.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from . import threads
from ._flags import pjit
from .blas import gemm

BLOCK_MACS = 4_000_000  # multiply-adds a block at least: ~0.1 ms of one core's GEMM
MIN_ROWS = 32  # rows a block at least: thinner blocks repack b for little work
MAX_BLOCKS = 8


def blocks(M: int, N: int, K: int) -> int:
    """How many row blocks an (M, K) @ (K, N) product is cut into (from the shapes alone)."""
    return max(1, min(MAX_BLOCKS, M // MIN_ROWS, M * N * K // BLOCK_MACS))


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a @ b for 2-D float32 or float64 arrays (views with one unit-stride axis are taken as
    they are); `out`, if given, a C-contiguous (M, N) array to write."""
    M, K = a.shape
    N = b.shape[1]
    if out is None:
        out = np.empty((M, N), np.result_type(a, b))
    count = blocks(M, N, K)
    if count == 1:
        np.matmul(a, b, out=out)  # numpy's own call: the same single-threaded OpenBLAS sgemm
    elif threads.workers(count, out.dtype) == 1:
        for block in range(count):  # the same blocks, one after the other
            r0, r1 = block * M // count, (block + 1) * M // count
            np.matmul(a[r0:r1], b, out=out[r0:r1])
    else:
        threads.enter()
        _rows_core(a, b, out, count)
    return out


@pjit
def _rows_core(a, b, out, count):
    M = a.shape[0]
    for block in prange(count):
        r0, r1 = block * M // count, (block + 1) * M // count
        gemm(a[r0:r1], b, out[r0:r1])
