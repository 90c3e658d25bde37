"""Compilation flags shared by every numba core.

`fastmath=True` folded `np.isnan` to False in a kernel here (numba 0.68.1), so the cores use
an explicit flag set without `nnan`/`ninf`: they may reorder and contract sums but still see
NaN and inf, which the trainer needs to detect divergence.
"""

import numba

from ._linking import own_copies

# a core gives the same bits whether compiled in this process or loaded from the cache
own_copies()

# parallel cores (`pjit`) run on tbb or omp: the workqueue layer aborts when two threads launch
# parallel kernels at once
numba.config.THREADING_LAYER = "threadsafe"

FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


def jit(func):
    """Compile a kernel core: lazily (dtype-generic), cached on disk, releasing the GIL."""
    return numba.njit(cache=True, nogil=True, fastmath=FASTMATH)(func)


def pjit(func):
    """Compile a parallel kernel core (`prange` over blocks, see `threads.py`): as `jit`, and
    its wrapper calls `threads.enter()` before it."""
    return numba.njit(cache=True, nogil=True, parallel=True, fastmath=FASTMATH)(func)
