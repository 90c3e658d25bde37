"""Compilation flags shared by every numba core.

`fastmath=True` folded `np.isnan` to False in a kernel here (numba 0.68.1), so the cores use
an explicit flag set without `nnan`/`ninf`: they may reorder and contract sums but still see
NaN and inf, which the trainer needs to detect divergence.
"""

import numba

FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


def jit(func):
    """Compile a kernel core: lazily (dtype-generic), cached on disk, releasing the GIL."""
    return numba.njit(cache=True, nogil=True, fastmath=FASTMATH)(func)
