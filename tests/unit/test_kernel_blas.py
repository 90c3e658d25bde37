"""`kernels.blas.gemm` and `gemm_at` (numpy's BLAS called from numba cores) and their np.dot
fallback, against
float64 numpy on fresh random operands in every layout the cores pass: contiguous, transposed,
sliced with a larger leading dimension, and neither (copied). Tolerance: float32 rtol 1e-5."""

import itertools

import numpy as np
import pytest
from numba import types

from tuidl.kernels import blas

# (M, K, N); zero sizes included: BLAS must not be handed an invalid leading dimension
SHAPES = [
    (3, 5, 7),
    (1, 4, 2),
    (4, 1, 3),
    (5, 3, 1),
    (0, 3, 2),
    (2, 0, 3),
    (3, 2, 0),
    (64, 128, 512),
]
TOL = {np.float32: 1e-5, np.float64: 1e-12}


def layouts(m: np.ndarray) -> list[np.ndarray]:
    """The same matrix as a C array, a transposed view, a slice of a wider array, and a view
    with no unit-stride axis."""
    rows, cols = m.shape
    wide = np.zeros((rows + 1, cols + 3), m.dtype)
    wide[1:, 2 : cols + 2] = m
    spread = np.zeros((2 * rows, 2 * cols), m.dtype)
    spread[::2, ::2] = m
    return [m, np.ascontiguousarray(m.T).T, wide[1:, 2 : cols + 2], spread[::2, ::2]]


def test_the_cores_use_numpys_openblas_here():
    # this machine's numpy wheel bundles OpenBLAS: the fallback would be a silent slowdown
    if "openblas" not in np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]:
        pytest.skip("this numpy has no OpenBLAS of its own")
    assert blas.BACKEND == "numpy-openblas"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_gemm_matches_numpy_in_every_layout(dtype, shape):
    rng = np.random.default_rng()
    M, K, N = shape
    A = rng.standard_normal((M, K)).astype(dtype)
    B = rng.standard_normal((K, N)).astype(dtype)
    ref = A.astype(np.float64) @ B.astype(np.float64)
    scale = max(1.0, np.abs(ref).max(initial=0.0))
    for a in layouts(A):
        for b in layouts(B):
            out = np.full((M, N), np.nan, dtype)
            blas.gemm(a, b, out)
            assert np.max(np.abs(out - ref), initial=0.0) <= TOL[dtype] * scale * np.sqrt(K + 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("add", [False, True])
def test_gemm_at_computes_blocks_of_c_arrays(dtype, add):
    # op(a) rows 2..6 of a (7, 5) array, read as stored and transposed; op(b) columns 3..10 of
    # a (5, 11) array; out's rows 1..5, columns 4..11 of a (6, 12) array, the rest untouched
    rng = np.random.default_rng()
    A = rng.standard_normal((7, 5)).astype(dtype)
    B = rng.standard_normal((5, 11)).astype(dtype)
    start = rng.standard_normal((6, 12)).astype(dtype)
    for transa in (blas.NO_TRANS, blas.TRANS):
        for transb in (blas.NO_TRANS, blas.TRANS):
            a = A if transa == blas.NO_TRANS else np.ascontiguousarray(A.T)
            b = B if transb == blas.NO_TRANS else np.ascontiguousarray(B.T)
            ia = 2 * 5 if transa == blas.NO_TRANS else 2
            ib = 3 if transb == blas.NO_TRANS else 3 * 5
            out = start.copy()
            blas.gemm_at(transa, transb, 5, 8, 5, a, ia, b, ib, out, 1 * 12 + 4, add)
            want = start.copy()
            want[1:6, 4:12] = A[2:7] @ B[:, 3:11] + (start[1:6, 4:12] if add else 0)
            np.testing.assert_allclose(out, want, rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)


def test_gemm_rejects_mismatched_arguments():
    a = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="shapes"):
        blas.gemm(a, np.ones((4, 2), np.float32), np.empty((2, 2), np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        blas.gemm(a, np.ones((3, 2), np.float32), np.empty((2, 2), np.float32, order="F"))
    with pytest.raises(ValueError, match="dtype"):
        blas.gemm(a, np.ones((3, 2), np.float64), np.empty((2, 2), np.float32))


@pytest.mark.parametrize("dtype, real", [(np.float32, types.float32), (np.float64, types.float64)])
def test_np_dot_fallback_follows_the_cblas_contract(dtype, real):
    # called through its C address exactly as the cores call numpy's cblas_?gemm
    fallback = blas.np_dot_fallback(real)
    pointer = fallback.ctypes.argtypes[7]
    rng = np.random.default_rng()
    M, K, N = 5, 4, 3
    C = rng.standard_normal((M, N)).astype(dtype)
    for beta, transa, transb in itertools.product(
        (0.0, 1.0), (blas.NO_TRANS, blas.TRANS), (blas.NO_TRANS, blas.TRANS)
    ):
        A = rng.standard_normal((M, K)).astype(dtype)
        B = rng.standard_normal((K, N)).astype(dtype)
        # stored as cblas reads them: transposed when flagged, leading dimension padded
        a = np.pad(np.ascontiguousarray(A if transa == blas.NO_TRANS else A.T), ((0, 0), (0, 2)))
        b = np.pad(np.ascontiguousarray(B if transb == blas.NO_TRANS else B.T), ((0, 0), (0, 1)))
        out = C.copy() if beta else np.full((M, N), np.nan, dtype)
        fallback.ctypes(
                blas.ROW_MAJOR, transa, transb, M, N, K, 1.0,
                a.ctypes.data_as(pointer), a.shape[1], b.ctypes.data_as(pointer), b.shape[1],
                beta, out.ctypes.data_as(pointer), N,
            )  # fmt: skip
        want = A @ B + beta * C
        np.testing.assert_allclose(out, want, rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)
