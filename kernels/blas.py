"""`gemm(a, b, out)`: out = a @ b inside numba cores, through numpy's own BLAS (and `gemm_at`,
cblas's own form, on blocks of C arrays).

numba's `np.dot` calls the BLAS SciPy ships. With numpy 2.x wheels that is an older OpenBLAS
than numpy's (0.3.30 against 0.3.31 here), and it measured 20 % slower on the recurrent cores'
per-step shape (64, 128) @ (128, 512): 45 against 54 GFLOP/s, single thread. So the cores call
numpy's `cblas_?gemm` directly: numba declares it as an external symbol (`tuidl_sgemm`,
`tuidl_dgemm`) that is bound at import time, which keeps the cores cacheable.

Where numpy brings no OpenBLAS of its own (Accelerate, MKL builds), the symbols are bound to
`cfunc`s with the same C signature that run numba's `np.dot` instead.

The cores that call `gemm` compile it into themselves, and numba's disk cache does not notice
edits here: delete `kernels/__pycache__/*.nbi` and `*.nbc` after changing this file.
"""

from __future__ import annotations

import ctypes
import glob
import os

import llvmlite.binding as llvm
import numba
import numpy as np
from numba import types

from ._flags import jit

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

# cblas_?gemm with 64-bit integers (numpy's OpenBLAS is built with them). Pointers are passed
# as integers: the same registers on every 64-bit ABI numba supports.
_INT, _PTR = types.int64, types.intp
_GEMM_ARGS = (types.int32,) * 3 + (_INT,) * 3


def _signature(real):
    return types.void(*_GEMM_ARGS, real, _PTR, _INT, _PTR, _INT, real, _PTR, _INT)


def _c_signature(real):
    """The same C signature with typed pointers, for the np.dot fallbacks."""
    ptr = types.CPointer(real)
    return types.void(*_GEMM_ARGS, real, ptr, _INT, ptr, _INT, real, ptr, _INT)


_sgemm = types.ExternalFunction("tuidl_sgemm", _signature(types.float32))
_dgemm = types.ExternalFunction("tuidl_dgemm", _signature(types.float64))


def _numpy_openblas() -> ctypes.CDLL | None:
    """numpy's bundled OpenBLAS (scipy-openblas64 in its wheels), if this numpy has one."""
    root = os.path.dirname(np.__file__)
    for folder in (os.path.join(root, os.pardir, "numpy.libs"), os.path.join(root, ".dylibs")):
        for path in sorted(glob.glob(os.path.join(folder, "*scipy_openblas64_*"))):
            lib = ctypes.CDLL(path)  # already loaded by numpy: the same handle
            if hasattr(lib, "scipy_cblas_sgemm64_") and hasattr(lib, "scipy_cblas_dgemm64_"):
                return lib
    return None


@jit
def _matrix(ptr, trans, rows, cols, ld):
    """A contiguous copy of the `rows x cols` operand a cblas pointer describes."""
    flat = numba.carray(ptr, ((rows if trans == NO_TRANS else cols) * ld,))
    m = np.empty((rows, cols), flat.dtype)
    for i in range(rows):
        for j in range(cols):
            m[i, j] = flat[i * ld + j] if trans == NO_TRANS else flat[j * ld + i]
    return m


def _gemm_np_dot(order, transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc):
    """C = A @ B + beta C by numba's np.dot: the part of cblas `gemm` that `gemm()` and
    `gemm_at()` below use (row-major, alpha 1, beta 0 or 1, rows of C `ldc` apart)."""
    product = np.dot(_matrix(A, transa, M, K, lda), _matrix(B, transb, K, N, ldb))
    out = numba.carray(C, (max(M - 1, 0) * ldc + N if M > 0 else 0,))
    for i in range(M):
        if beta == 0:
            out[i * ldc : i * ldc + N] = product[i]
        else:
            out[i * ldc : i * ldc + N] += product[i]


def np_dot_fallback(real):
    """`_gemm_np_dot` compiled as a C function taking `real` (float32 or float64) matrices."""
    return numba.cfunc(_c_signature(real), cache=True)(_gemm_np_dot)


def _bind() -> str:
    """Point `tuidl_sgemm`/`tuidl_dgemm` at numpy's OpenBLAS, else at the np.dot fallbacks;
    returns which."""
    lib = _numpy_openblas()
    if lib is not None:
        pairs = (
            ("tuidl_sgemm", lib.scipy_cblas_sgemm64_),
            ("tuidl_dgemm", lib.scipy_cblas_dgemm64_),
        )
        for name, func in pairs:
            llvm.add_symbol(name, ctypes.cast(func, ctypes.c_void_p).value)
        return "numpy-openblas"
    for name, real in (("tuidl_sgemm", types.float32), ("tuidl_dgemm", types.float64)):
        llvm.add_symbol(name, np_dot_fallback(real).address)
    return "numba-np.dot"


BACKEND = _bind()


@jit
def _operand(a):
    """(array, cblas transpose flag, leading dimension) for a 2-D operand: the array itself
    when one axis has unit stride, else a contiguous copy."""
    rows, cols = a.shape
    step = a.itemsize
    s0, s1 = a.strides
    if s1 == step or cols == 1:
        ld = s0 // step if rows > 1 else cols
        if ld >= max(cols, 1) and s0 % step == 0:
            return a, NO_TRANS, ld
    if s0 == step or rows == 1:
        ld = s1 // step if cols > 1 else rows
        if ld >= max(rows, 1) and s1 % step == 0:
            return a, TRANS, ld
    return np.ascontiguousarray(a), NO_TRANS, max(cols, 1)


@jit
def _call_gemm(M, N, K, a, ia, transa, lda, b, ib, transb, ldb, out, io, ldc, add):
    # A function of its own: numba frees an array after its last use, so a copy `_operand`
    # made could be freed between taking its address and the call. Arguments stay alive.
    step = out.itemsize
    ptr_a, ptr_b = a.ctypes.data + ia * step, b.ctypes.data + ib * step
    ptr_out = out.ctypes.data + io * step
    if step == 4:
        one, beta = np.float32(1.0), np.float32(1.0 if add else 0.0)
        _sgemm(ROW_MAJOR, transa, transb, M, N, K, one, ptr_a, lda, ptr_b, ldb, beta, ptr_out, ldc)
    else:
        beta64 = 1.0 if add else 0.0
        _dgemm(
            ROW_MAJOR, transa, transb, M, N, K, 1.0, ptr_a, lda, ptr_b, ldb, beta64, ptr_out, ldc
        )


@jit
def gemm(a, b, out):
    """out = a @ b for 2-D float32 or float64 arrays; `out` must be C-contiguous or rows of a
    C-contiguous array (unit stride along a row: the recurrent cores write one step of
    `(N, T, G)` arrays, `out[n0:n1, t]`), `a` and `b` may be transposed or sliced views (one
    unit-stride axis each)."""
    M, K = a.shape
    N = b.shape[1]
    if b.shape[0] != K or out.shape[0] != M or out.shape[1] != N:
        raise ValueError("gemm: shapes do not match")
    step = out.itemsize
    s0, s1 = out.strides
    ldc = max(N, 1)  # BLAS rejects 0 even when there is nothing to write
    if M > 1 and N > 0:
        ldc = s0 // step
        if s0 % step != 0 or ldc < N:
            ldc = 0
    if ldc == 0 or (M > 0 and N > 1 and s1 != step):
        raise ValueError("gemm: out must be C-contiguous or rows of a C-contiguous array")
    if a.itemsize != out.itemsize or b.itemsize != out.itemsize:
        raise ValueError("gemm: a, b and out must share one float dtype")
    a, transa, lda = _operand(a)
    b, transb, ldb = _operand(b)
    _call_gemm(M, N, K, a, 0, transa, lda, b, 0, transb, ldb, out, 0, ldc, False)


@jit
def gemm_at(transa, transb, M, N, K, a, ia, b, ib, out, io, add):
    """out = op(a) @ op(b), or out += with `add`, on blocks of C-contiguous 2-D arrays of one
    float dtype, as cblas takes them: op(a) is the M x K matrix from flat element `ia` of `a`
    (read transposed with `transa` = TRANS), rows `a.shape[1]` apart; op(b) the K x N one from
    `ib`; the M x N block of `out` from `io`. No checks: the caller's offsets must keep every
    block inside its array. Array arguments of one layout each: one compiled form per dtype,
    where sliced and transposed views compile many."""
    lda, ldb, ldc = max(a.shape[1], 1), max(b.shape[1], 1), max(out.shape[1], 1)
    _call_gemm(M, N, K, a, ia, transa, lda, b, ib, transb, ldb, out, io, ldc, add)
