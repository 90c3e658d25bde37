"""Elman (tanh) RNN forward and backpropagation through time, plus the cell helpers LSTM shares.

    a_t = x_t W_x + h_{t-1} W_h + b,   h_t = tanh(a_t),   h_0 = 0

Backward (BPTT, Werbos 1990; Goodfellow et al., Deep Learning, 10.2.2), from t = T-1 down to 0:

    da_t = (dh_t + da_{t+1} W_h^T) * (1 - h_t^2)
    dW_x = sum_t x_t^T da_t,   dW_h = sum_t h_{t-1}^T da_t,   db = sum_t da_t,   dx_t = da_t W_x^T

Speed: the input projection of all steps is one GEMM `(N*T, D) @ (D, H)`; each step makes one
`(N, H) @ (H, H)` GEMM and one elementwise loop; the backward keeps `da` of every step so that
`dW_x`, `dW_h` and `dx` are single GEMMs over all steps. States are kept time-major `(T, N, H)`
so that one step is a contiguous `(N, H)` block for BLAS. Every GEMM runs inside a numba core
through `blas.gemm`, which calls numpy's OpenBLAS: the same library (and thread pool) as the
matmuls of the dense and conv layers. numba's own `np.dot` would call SciPy's separate OpenBLAS
copy; with OPENBLAS_NUM_THREADS > 1 each copy keeps its own pool of threads that spin for a
while after each call, and two such pools fight over the cores.

The activations (`_tanh`, `_sigmoid`) are compiled per dtype: float64 calls libm, float32 uses a
rational approximation (see `_rational_tanh`), which, unlike libm's scalar `tanhf`, vectorizes
(a loop over 1.6M floats here: tanh 37 ms -> 2.0 ms, sigmoid via exp 7.5 ms -> 1.7 ms).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba.core import types
from numba.extending import overload, register_jitable

from ._flags import FASTMATH, jit
from .blas import gemm
from .buffers import reusable

# Eigen's float tanh (Eigen/src/Core/MathFunctionsImpl.h, `generic_fast_tanh_float`; the same
# coefficients are in onnxruntime's MLAS and MLIR): odd degree-13 over even degree-6 polynomial,
# 2.6e-8 from tanh on [-9, 9]. Evaluated in float64 and rounded once to float32 (still
# vectorized, 4 lanes instead of 8; +1 ms on an 11 ms LSTM forward at N=64 T=50 H=128):
# evaluated in float32 it erred by up to 2.9e-7 (5 ulp), which 1 - h^2 in the backward turned
# into 4x larger RNN gradient errors than numpy's float32 tanh gives on nearly saturated units.
# Clamped at +-9, where the fraction rounds to 1.0 in float32 as tanh does. Measured against
# float64 on 6e7 points in [-30, 30]: tanh max abs error 5.5e-8 (2.6 ulp), sigmoid 4.3e-8.
_TANH_CLAMP = 9.0
_P0, _P1, _P2, _P3, _P4, _P5, _P6 = (
    -2.76076847742355e-16,
    2.00018790482477e-13,
    -8.60467152213735e-11,
    5.12229709037114e-08,
    1.48572235717979e-05,
    6.37261928875436e-04,
    4.89352455891786e-03,
)
_Q0, _Q1, _Q2, _Q3 = (
    1.19825839466702e-06,
    1.18534705686654e-04,
    2.26843463243900e-03,
    4.89352518554385e-03,
)


def _tanh(v):
    """tanh of one float inside a core: libm for float64, a vectorizable rational for float32."""
    return math.tanh(v)


def _sigmoid(v):
    """1 / (1 + exp(-v)) of one float inside a core (float32: 0.5 + 0.5 tanh(v / 2))."""
    return 1.0 / (1.0 + math.exp(-v))


@register_jitable(fastmath=FASTMATH)
def _rational_tanh(x):
    """Eigen's rational tanh of a float64 `x`.

    Comparisons, not min/max, so that NaN passes through (the trainer looks for it); np.divide
    because `/` carries numba's ZeroDivisionError check, which stops a loop from vectorizing.
    """
    x = _TANH_CLAMP if x > _TANH_CLAMP else x
    x = -_TANH_CLAMP if x < -_TANH_CLAMP else x
    x2 = x * x
    p = ((((((_P0 * x2 + _P1) * x2 + _P2) * x2 + _P3) * x2 + _P4) * x2 + _P5) * x2 + _P6) * x
    q = ((_Q0 * x2 + _Q1) * x2 + _Q2) * x2 + _Q3
    return np.divide(p, q)


def _is_float32(v) -> bool:
    return isinstance(v, types.Float) and v.bitwidth == 32


@overload(_tanh, jit_options={"fastmath": FASTMATH})
def _tanh_impl(v):
    if _is_float32(v):
        return lambda v: np.float32(_rational_tanh(np.float64(v)))
    return lambda v: math.tanh(v)


@overload(_sigmoid, jit_options={"fastmath": FASTMATH})
def _sigmoid_impl(v):
    if _is_float32(v):
        # Absolute error <= 4.3e-8; for v < -18 the clamp leaves 4e-9 instead of exp(v).
        return lambda v: np.float32(0.5 + 0.5 * _rational_tanh(0.5 * np.float64(v)))
    # exp(-v) overflows to inf for v < -709 and the result is 0, not NaN.
    return lambda v: np.divide(1.0, 1.0 + math.exp(-v))


def check_recurrent_args(
    x: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray, gates: int
) -> tuple[int, int, int, int]:
    """Validate the forward arguments of a recurrent kernel with `gates` blocks per step.

    Returns:
        `(N, T, D, H)`.

    Raises:
        ValueError: a wrong ndim, dtype or shape, naming the arrays and their shapes.
    """
    arrays = {"x": x, "W_x": W_x, "W_h": W_h, "b": b}
    for name, array in arrays.items():
        if not isinstance(array, np.ndarray):
            raise ValueError(f"{name} must be a numpy array, got {type(array).__name__}")
    dtypes = {array.dtype for array in arrays.values()}
    if len(dtypes) != 1 or x.dtype not in (np.float32, np.float64):
        found = ", ".join(f"{name} {array.dtype}" for name, array in arrays.items())
        raise ValueError(f"x, W_x, W_h and b must share one dtype, float32 or float64; got {found}")
    if x.ndim != 3:
        raise ValueError(f"x must be (N, T, D), got shape {x.shape}")
    N, T, D = x.shape
    if N < 1 or T < 1:
        raise ValueError(f"x must have at least one sample and one step, got shape {x.shape}")
    width = "H" if gates == 1 else f"{gates}H"
    if W_h.ndim != 2 or W_h.shape[1] != gates * W_h.shape[0] or W_h.shape[0] < 1:
        raise ValueError(f"W_h must be (H, {width}) with H >= 1, got shape {W_h.shape}")
    H = W_h.shape[0]
    if W_x.shape != (D, gates * H):
        raise ValueError(
            f"W_x must be (D, {width}) = {(D, gates * H)} for x {x.shape} and W_h {W_h.shape}, "
            f"got {W_x.shape}"
        )
    if b.shape != (gates * H,):
        raise ValueError(
            f"b must be ({width},) = {(gates * H,)} for W_h {W_h.shape}, got {b.shape}"
        )
    return N, T, D, H


def check_cache_array(name: str, array: np.ndarray, shape: tuple[int, ...], dtype) -> np.ndarray:
    """`array` as a C-contiguous array, or a ValueError if its shape or dtype is wrong."""
    if not isinstance(array, np.ndarray) or array.shape != shape or array.dtype != dtype:
        got = (array.shape, array.dtype) if isinstance(array, np.ndarray) else type(array).__name__
        raise ValueError(f"{name} must be {shape} {np.dtype(dtype)}, got {got}")
    return np.ascontiguousarray(array)


def time_major(x: np.ndarray) -> np.ndarray:
    """`(N, T, D)` to a C-contiguous `(T, N, D)` copy, so that one step is one block."""
    return np.ascontiguousarray(x.transpose(1, 0, 2))


def weight_grads(
    dA: np.ndarray, x: np.ndarray, h: np.ndarray, W_x: np.ndarray, need_dx: bool
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    """dx, dW_x, dW_h, db from the pre-activation gradients of all steps, as single GEMMs.

    Args:
        dA: `(T, N, G)` gradients of the pre-activations, time-major.
        x: `(N, T, D)` inputs.
        h: `(T, N, H)` hidden states, time-major.
        W_x: `(D, G)`.
        need_dx: False skips the dx GEMM and returns None for it.
    """
    T, N, G = dA.shape
    D = x.shape[2]
    H = h.shape[2]
    dtype = dA.dtype
    dW_x = np.empty((D, G), dtype)
    dW_h = np.empty((H, G), dtype)
    db = np.empty(G, dtype)
    dx_tm = np.empty((T, N, D) if need_dx else (0, N, D), dtype)
    _weight_grads_core(dA, time_major(x), h, W_x.T, need_dx, dW_x, dW_h, db, dx_tm)
    dx = np.ascontiguousarray(dx_tm.transpose(1, 0, 2)) if need_dx else None
    return dx, dW_x, dW_h, db


class RNNCache(NamedTuple):
    """What `rnn_backward` needs from the forward pass, time-major.

    Attributes:
        h: `(T, N, H)` hidden states (the same values as `h_seq`).
        dA: `(T, N, H)` workspace `rnn_backward` writes the pre-activation gradients into.
    """

    h: np.ndarray
    dA: np.ndarray


def rnn_forward(
    x: np.ndarray,
    W_x: np.ndarray,
    W_h: np.ndarray,
    b: np.ndarray,
    reuse: RNNCache | None = None,
) -> tuple[np.ndarray, RNNCache]:
    """Run a tanh RNN over whole sequences, h_0 = 0.

    Args:
        x: `(N, T, D)` float32 (float64 for gradient checks).
        W_x: `(D, H)`, W_h: `(H, H)`, b: `(H,)`, all of x's dtype.
        reuse: an earlier cache whose arrays may be overwritten when their shapes fit (a layer
            passes its previous one); None allocates new arrays.

    Returns:
        `(h_seq, cache)`: h_seq `(N, T, H)` holds every hidden state, as a (non-contiguous)
        view of `cache.h`, so a later call with `reuse=cache` overwrites it: copy it to keep
        it. cache is an `RNNCache`.

    Raises:
        ValueError: wrong ndim, dtype or shapes.
    """
    N, T, D, H = check_recurrent_args(x, W_x, W_h, b, 1)
    old = reuse if isinstance(reuse, RNNCache) else RNNCache(None, None)
    cache = RNNCache(h=reusable(old.h, (T, N, H), x.dtype), dA=reusable(old.dA, (T, N, H), x.dtype))
    W_x, W_h, b = (np.ascontiguousarray(a) for a in (W_x, W_h, b))
    _rnn_forward_core(time_major(x), W_x, b, W_h, cache.h)
    return cache.h.transpose(1, 0, 2), cache


def rnn_backward(
    dh_seq: np.ndarray,
    x: np.ndarray,
    W_x: np.ndarray,
    W_h: np.ndarray,
    cache: RNNCache,
    need_dx: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time for `rnn_forward` (formulas in the module docstring).

    Args:
        dh_seq: `(N, T, H)` gradient of the loss w.r.t. every hidden state (zeros except the
            last step when only the last state was used). Not modified.
        x, W_x, W_h: the forward arguments.
        cache: the `RNNCache` `rnn_forward` returned (its `dA` is overwritten).
        need_dx: compute dx (False returns None in its place and skips one GEMM).

    Returns:
        `(dx, dW_x, dW_h, db)` with the shapes of x, W_x, W_h, b.
    """
    b = np.zeros(W_h.shape[1], W_h.dtype)
    N, T, D, H = check_recurrent_args(x, W_x, W_h, b, 1)
    dh_seq = check_cache_array("dh_seq", dh_seq, (N, T, H), x.dtype)
    if not isinstance(cache, RNNCache):
        raise ValueError("cache must be the RNNCache that rnn_forward returned")
    h = check_cache_array("cache.h", cache.h, (T, N, H), x.dtype)
    dA = check_cache_array("cache.dA", cache.dA, (T, N, H), x.dtype)
    _rnn_backward_core(dh_seq, h, np.ascontiguousarray(W_h.T), dA)
    return weight_grads(dA, x, h, W_x, need_dx)


# The cores loop over one contiguous row (one sample, one step) at a time: with every array
# indexed in one fused loop LLVM gave up on vectorizing (too many runtime alias checks) and the
# LSTM gate loop ran 4x slower.


@jit
def _rnn_forward_core(x_tm, W_x, b, W_h, h):
    """x_tm `(T, N, D)`; writes the time-major hidden states h `(T, N, H)`."""
    T, N, H = h.shape
    D = x_tm.shape[2]
    # Input projection of all steps straight into h, then each step adds b and h_{t-1} W_h
    # and takes tanh in place.
    gemm(x_tm.reshape(T * N, D), W_x, h.reshape(T * N, H))
    z = np.zeros((N, H), h.dtype)  # h_{t-1} W_h; stays 0 at t = 0
    for t in range(T):
        if t > 0:
            gemm(h[t - 1], W_h, z)
        for n in range(N):
            zr = z[n]
            hr = h[t, n]
            for j in range(H):
                hr[j] = _tanh(hr[j] + b[j] + zr[j])


@jit
def _rnn_backward_core(dh_seq, h, W_hT, dA):
    """dh_seq `(N, T, H)`, h `(T, N, H)`, W_hT = W_h^T `(H, H)`; writes dA `(T, N, H)`."""
    N, T, H = dh_seq.shape
    one = h.dtype.type(1.0)
    dh_next = np.zeros((N, H), h.dtype)  # da_{t+1} W_h^T
    for t in range(T - 1, -1, -1):
        for n in range(N):
            hr = h[t, n]
            ds = dh_seq[n, t]
            dn = dh_next[n]
            da = dA[t, n]
            for j in range(H):
                da[j] = (ds[j] + dn[j]) * (one - hr[j] * hr[j])
        if t > 0:
            gemm(dA[t], W_hT, dh_next)


@jit
def _weight_grads_core(dA, x_tm, h, W_xT, need_dx, dW_x, dW_h, db, dx_tm):
    """dA `(T, N, G)`, x_tm `(T, N, D)`, h `(T, N, H)`, W_xT = W_x^T `(G, D)`; writes dW_x,
    dW_h, db and dx_tm `(T, N, D)`."""
    T, N, G = dA.shape
    D = x_tm.shape[2]
    H = h.shape[2]
    dA2 = dA.reshape(T * N, G)
    gemm(x_tm.reshape(T * N, D).T, dA2, dW_x)
    if T > 1:  # h_{t-1} pairs with dA_t; h_{-1} = 0 adds nothing
        gemm(h.reshape(T * N, H)[: (T - 1) * N].T, dA2[N:], dW_h)
    else:
        dW_h[:] = 0
    # db in float64: a float32 running sum over N*T rows would lose ~sqrt(N*T) ulps.
    acc = np.zeros(G, np.float64)
    for r in range(T * N):
        row = dA2[r]
        for k in range(G):
            acc[k] += row[k]
    for k in range(G):
        db[k] = acc[k]
    if need_dx:
        gemm(dA2, W_xT, dx_tm.reshape(T * N, D))
