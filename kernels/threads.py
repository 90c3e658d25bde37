"""How many threads the kernels run on, and the rule that gives a count the same results.

A parallel core splits its work into blocks whose boundaries depend on the shapes (and, for
dense products, the thread count: `dense.py`) and runs them with numba's `prange`. Each block
writes its own part of the outputs; a sum across blocks (dW, db) goes into one partial per
block, added in block order after the loop. So the same count gives the same bits, and the
convolution, pool and recurrent kernels' tests find the same bits on 1 and 2 threads too; but
numba compiles a serial and a parallel form of each kernel separately (LLVM may contract or
vectorise their copies differently), so only the same count is promised the same bits.
Whether a core was compiled in this process or loaded from numba's cache makes no difference
(`_linking.py`).

BLAS stays on one thread: the blocks call it from numba's threads. OpenBLAS's own threads would
compete with numba's for the same cores, and its results change with its thread count and with
how a product is split (measured here for numpy's OpenBLAS 0.3.31: a (64, 784) @ (784, 256)
sgemm differs in the last bits between 1 and 2 threads, and between one call and two halves).

OpenMP's threads spin for a while after each parallel region (libgomp's default), and the
kernels need it: in this VM a sleeping thread takes ~0.2 ms to wake, as long as a whole
kernel, and with OMP_WAIT_POLICY=PASSIVE a 0.4 ms kernel ran no faster on 2 threads than on 1
(0.2 ms spinning). The price is paid on a machine busy with other work, where a spinning thread
holds a core its sibling needs: there `--threads 1` can be faster.

numba's thread count belongs to the calling thread (a session or Dask thread starts at numba's
default), so every parallel wrapper calls `enter()` first (about 2 us).
"""

from __future__ import annotations

import os

import numba
import numpy as np

from . import _flags  # noqa: F401  (sets the threading layer before a parallel core compiles)

_threads = 1


def available() -> int:
    """The cores this process may run on (its affinity mask, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def most() -> int:
    """The most threads numba can run here (NUMBA_NUM_THREADS, by default the cores)."""
    return numba.config.NUMBA_NUM_THREADS


def set_threads(count: int) -> None:
    """Run the parallel kernels on `count` threads, from every thread of this process.

    Raises:
        ValueError: count is below 1 or above `most()`.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= most():
        raise ValueError(f"threads must be an integer from 1 to {most()}, got {count!r}")
    global _threads
    _threads = count
    numba.set_num_threads(count)
    single_blas()


def single_blas() -> None:
    """Every BLAS this process loaded on one thread (threadpoolctl: OpenBLAS, MKL, ...)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def workers(blocks: int, dtype) -> int:
    """How many threads run `blocks` blocks of a kernel on `dtype` arrays: float64 (gradient
    checks) on one, since its parallel cores would compile a second time for nobody (numba
    takes 4-5x as long to compile a parallel core as the serial one: 12 s for winograd's
    forward), and a wrapper calls the serial block code itself when this is 1."""
    return min(_threads, blocks) if np.dtype(dtype) == np.float32 else 1


def threads() -> int:
    """The thread count set by `set_threads` (1 until then)."""
    return _threads


def enter() -> None:
    """Make the calling thread run parallel kernels on `threads()` threads."""
    if numba.get_num_threads() != _threads:
        numba.set_num_threads(_threads)
