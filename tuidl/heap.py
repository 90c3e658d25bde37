"""glibc's allocator kept from handing a training step's buffers back to the OS.

A training step frees and allocates the same multi-megabyte arrays (activations, gradients,
kernel workspaces) every step. With glibc's defaults a freed block above the mmap threshold
goes back to the OS and the next allocation faults it in again page by page (~2.5 us a 4 KiB
page here): 800 faults, 1.3 ms of a 7.4 ms step of LeNet on MNIST with its relus on the whole
maps, on one thread (AMD EPYC Zen 3). Pinning the mmap threshold at 32 MiB and the trim
threshold at 1 GiB keeps those blocks in the heap for the next step; the process's peak
memory is the same, it is only not returned between steps. PyTorch's CPU allocator and the
benchmark anchors (shared/notes/perf-anchors.md) do likewise.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 2**30


def steady_malloc() -> bool:
    """Pin glibc's mmap and trim thresholds for this process; True when both calls succeeded
    (False on a libc without mallopt: macOS, musl, Windows)."""
    path = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(path or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    return mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
