"""Elman (tanh) RNN forward and backpropagation through time, plus the cell helpers LSTM shares.

    a_t = x_t W_x + h_{t-1} W_h + b,   h_t = tanh(a_t),   h_0 = 0

Backward (BPTT, Werbos 1990; Goodfellow et al., Deep Learning, 10.2.2), from t = T-1 down to 0:

    da_t = (dh_t + da_{t+1} W_h^T) * (1 - h_t^2)
    dW_x = sum_t x_t^T da_t,   dW_h = sum_t h_{t-1}^T da_t,   db = sum_t da_t,   dx_t = da_t W_x^T

Speed and threads as in lstm.py: blocks of `BLOCK` samples run their recurrence in parallel,
one GEMM `[x_t, h_{t-1}] [W_x; W_h]` per step and block, dx_t and the carried dh from one GEMM
`da_t [W_x; W_h]^T`, each block's share of `[dW_x; dW_h]` one GEMM over its rows of the stored
`z = [x_t, h_{t-1}]`, added in block order. Every GEMM runs inside a numba core through
`blas.gemm`, which calls numpy's OpenBLAS (kept on one thread: the blocks are the parallelism):
the same library as the matmuls of the dense and conv layers. numba's own `np.dot` would call
SciPy's separate OpenBLAS copy; with OPENBLAS_NUM_THREADS > 1 each copy keeps its own pool of
threads that spin for a while after each call, and two such pools fight over the cores.

The activations (`_tanh`, `_sigmoid`) are compiled per dtype: float64 calls libm, float32 uses a
rational approximation (see `_rational_tanh`), which, unlike libm's scalar `tanhf`, vectorizes
(a loop over 1.6M floats here: tanh 37 ms -> 2.0 ms, sigmoid via exp 7.5 ms -> 1.7 ms).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import prange
from numba.core import types
from numba.extending import overload, register_jitable

from . import threads
from ._flags import FASTMATH, jit, pjit
from .blas import gemm
from .buffers import reusable

# Samples per parallel block of the recurrent cores (the last block may be shorter): the
# recurrence is independent across samples, so each block runs all its steps alone. Smaller
# blocks cost the 1-thread run more GEMM calls, each packing W again (see lstm.py).
BLOCK = 32

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


def concat_weights(W_x: np.ndarray, W_h: np.ndarray) -> np.ndarray:
    """`[W_x; W_h]`, `(D + H, G)` C-contiguous: one step's weights for the row `[x_t, h_{t-1}]`."""
    return np.concatenate((W_x, W_h), axis=0)


def back_weights(W_x: np.ndarray, W_h: np.ndarray, need_dx: bool) -> np.ndarray:
    """What a backward step multiplies dA_t by: `[W_x; W_h]^T` `(G, D + H)`, giving dx_t and
    the carried dh in one GEMM, or only `W_h^T` `(G, H)` without dx."""
    return np.ascontiguousarray(concat_weights(W_x, W_h).T if need_dx else W_h.T)


def block_count(N: int) -> int:
    """How many blocks of `BLOCK` samples (the last one shorter) a batch of N splits into."""
    return -(-N // BLOCK)


def run_blocks(core, block, N: int, args: tuple, shares: tuple = ()) -> None:
    """Run `block(*args, n0, n1, *(share[k] for share in shares))` for every block k: through
    the parallel `core(*args, *shares, BLOCK)`, whose prange calls the same, or on one thread,
    or with a single block, one after the other here (a parallel region would only add its
    start-up, and its compilation). The blocks and their sums' order are the same, so are the
    bits."""
    if threads.workers(block_count(N), args[0].dtype) > 1:
        threads.enter()
        core(*args, *shares, BLOCK)
        return
    for k, n0 in enumerate(range(0, N, BLOCK)):
        block(*args, n0, min(N, n0 + BLOCK), *(share[k] for share in shares))


def split_weight_grads(dW: np.ndarray, D: int) -> tuple[np.ndarray, np.ndarray]:
    """`[dW_x; dW_h]` `(D + H, G)` to `(dW_x, dW_h)`."""
    return dW[:D], dW[D:]


class RNNCache(NamedTuple):
    """What `rnn_backward` needs from the forward pass, sample-major (one block of samples is
    one slab of every array).

    Attributes:
        z: `(N, T + 1, D + H)` the rows the steps multiply by `[W_x; W_h]`: `z[:, t]` is
            `[x_t, h_{t-1}]` (h_{-1} = 0) and `z[:, T]` is `[0, h_{T-1}]`, so `z[:, 1:, D:]`
            holds every hidden state and dW is one GEMM `z^T dA` per block.
        dA: `(N, T + 1, H)` workspace `rnn_backward` writes the pre-activation gradients into
            (`dA[:, T]` = 0 pairs with `z[:, T]`).
        parts: `(blocks, D + H, H)` workspace for each block's share of dW.
    """

    z: np.ndarray
    dA: np.ndarray
    parts: np.ndarray


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
        view of `cache.z`, so a later call with `reuse=cache` overwrites it: copy it to keep
        it. cache is an `RNNCache`.

    Raises:
        ValueError: wrong ndim, dtype or shapes.
    """
    N, T, D, H = check_recurrent_args(x, W_x, W_h, b, 1)
    dtype = x.dtype
    old = reuse if isinstance(reuse, RNNCache) else RNNCache(None, None, None)
    cache = RNNCache(
        z=reusable(old.z, (N, T + 1, D + H), dtype),
        dA=reusable(old.dA, (N, T + 1, H), dtype),
        parts=reusable(old.parts, (block_count(N), D + H, H), dtype),
    )
    args = (np.ascontiguousarray(x), concat_weights(W_x, W_h), b, cache.z)
    run_blocks(_rnn_forward_core, _rnn_forward_block, N, args)
    return cache.z[:, 1:, D:], cache


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
        cache: the `RNNCache` `rnn_forward` returned (its `dA` and `parts` are overwritten).
        need_dx: compute dx (False returns None in its place and multiplies each step's dA by
            W_h^T alone).

    Returns:
        `(dx, dW_x, dW_h, db)` with the shapes of x, W_x, W_h, b.
    """
    b = np.zeros(W_h.shape[1], W_h.dtype)
    N, T, D, H = check_recurrent_args(x, W_x, W_h, b, 1)
    dtype = x.dtype
    dh_seq = check_cache_array("dh_seq", dh_seq, (N, T, H), dtype)
    if not isinstance(cache, RNNCache):
        raise ValueError("cache must be the RNNCache that rnn_forward returned")
    z = check_cache_array("cache.z", cache.z, (N, T + 1, D + H), dtype)
    dA = check_cache_array("cache.dA", cache.dA, (N, T + 1, H), dtype)
    parts = check_cache_array("cache.parts", cache.parts, (block_count(N), D + H, H), dtype)
    dx = np.empty((N, T, D) if need_dx else (0, T, D), dtype)
    db_parts = np.empty((len(parts), H), np.float64)
    args = (dh_seq, z, back_weights(W_x, W_h, need_dx), dA, dx)
    run_blocks(_rnn_backward_core, _rnn_backward_block, N, args, (parts, db_parts))
    dW, db = np.empty((D + H, H), dtype), np.empty(H, dtype)
    sum_blocks(parts, db_parts, dW, db)
    return (dx if need_dx else None), *split_weight_grads(dW, D), db


# The cores loop over one contiguous row (one sample, one step) at a time: with every array
# indexed in one fused loop LLVM gave up on vectorizing (too many runtime alias checks) and the
# LSTM gate loop ran 4x slower.


@jit
def fill_inputs(x, z, n0, n1):
    """Copy samples n0:n1 of x `(N, T, D)` into `z[:, :T, :D]`; zero h_{-1} and `z[:, T, :D]`."""
    T, D = x.shape[1], x.shape[2]
    for n in range(n0, n1):
        for t in range(T):
            row, xr = z[n, t], x[n, t]
            for k in range(D):
                row[k] = xr[k]
        z[n, 0, D:] = 0
        z[n, T, :D] = 0


@jit
def backprop_step(dA, W_back, dzb, dx, t, n0, n1):
    """dA_t W_back for samples n0:n1 into `dzb` `(n1 - n0, W_back.shape[1])`: with
    `W_back = [W_x; W_h]^T` (dx wanted) the first D columns are dx_t, copied into dx, and the
    rest the dh carried to step t - 1; with `W_back = W_h^T` only the latter, not needed at t = 0.
    """
    D = dx.shape[2]
    if dx.shape[0] > 0:
        gemm(dA[n0:n1, t], W_back, dzb)
        for n in range(n0, n1):
            dxr, dzr = dx[n, t], dzb[n - n0]
            for k in range(D):
                dxr[k] = dzr[k]
    elif t > 0:
        gemm(dA[n0:n1, t], W_back, dzb)


@jit
def block_weight_grads(z, dA, n0, n1, part, db_part):
    """The share of samples n0:n1 in `[dW_x; dW_h]` and db: `part = z^T dA` over their
    `(T + 1)` rows each, one GEMM (`dA[:, T]` is zeroed here, so `z[:, T]` adds nothing), and
    `db_part` the column sums of dA in float64 (a float32 running sum over N*T rows would lose
    ~sqrt(N*T) ulps)."""
    N, T1, G = dA.shape
    for n in range(n0, n1):
        dA[n, T1 - 1] = 0
    z2 = z.reshape(N * T1, z.shape[2])[n0 * T1 : n1 * T1]
    dA2 = dA.reshape(N * T1, G)[n0 * T1 : n1 * T1]
    gemm(z2.T, dA2, part)
    db_part[:] = 0
    for r in range(dA2.shape[0]):
        row = dA2[r]
        for k in range(G):
            db_part[k] += row[k]


@jit
def sum_blocks(parts, db_parts, dW, db):
    """dW and db: the blocks' parts added in block order (the same bits on any thread count).

    Loops, not `dW[:] = parts[0]`: an array assigned to a slice brings numba's shape-mismatch
    error message, whose string formatting took 3.5 of this function's 4.2 s of compiling."""
    for k in range(parts.shape[0]):
        part = parts[k]
        for r in range(dW.shape[0]):
            out, row = dW[r], part[r]
            if k == 0:
                for j in range(dW.shape[1]):
                    out[j] = row[j]
            else:
                for j in range(dW.shape[1]):
                    out[j] += row[j]
    for j in range(db.shape[0]):
        acc = 0.0
        for k in range(db_parts.shape[0]):
            acc += db_parts[k, j]
        db[j] = acc


@jit
def _rnn_forward_block(x, W, b, z, n0, n1):
    """Samples n0:n1: each step one GEMM `[x_t, h_{t-1}] [W_x; W_h]`, then h_t = tanh(. + b)
    into `z[:, t + 1, D:]`."""
    T, D = x.shape[1], x.shape[2]
    H = W.shape[1]
    fill_inputs(x, z, n0, n1)
    a = np.empty((n1 - n0, H), z.dtype)
    for t in range(T):
        gemm(z[n0:n1, t], W, a)
        for n in range(n0, n1):
            ar = a[n - n0]
            hr = z[n, t + 1, D:]
            for j in range(H):
                hr[j] = _tanh(ar[j] + b[j])


@pjit
def _rnn_forward_core(x, W, b, z, block):
    """x `(N, T, D)`, W = `[W_x; W_h]` `(D + H, H)`; writes z (see `RNNCache`), one block of
    `block` samples per parallel task."""
    N = x.shape[0]
    for k in prange((N + block - 1) // block):
        _rnn_forward_block(x, W, b, z, k * block, min(N, (k + 1) * block))


@jit
def _rnn_backward_block(dh_seq, z, W_back, dA, dx, n0, n1, part, db_part):
    """BPTT of samples n0:n1 into dA (and dx), then their share of dW into `part`."""
    T, H = dh_seq.shape[1], dh_seq.shape[2]
    D = z.shape[2] - H
    off = W_back.shape[1] - H  # where the carried dh starts in a row of dzb
    one = z.dtype.type(1.0)
    dzb = np.zeros((n1 - n0, W_back.shape[1]), z.dtype)  # dA_{t+1} W_back
    for t in range(T - 1, -1, -1):
        for n in range(n0, n1):
            hr = z[n, t + 1, D:]
            ds = dh_seq[n, t]
            dn = dzb[n - n0, off:]
            da = dA[n, t]
            for j in range(H):
                da[j] = (ds[j] + dn[j]) * (one - hr[j] * hr[j])
        backprop_step(dA, W_back, dzb, dx, t, n0, n1)
    block_weight_grads(z, dA, n0, n1, part, db_part)


@pjit
def _rnn_backward_core(dh_seq, z, W_back, dA, dx, parts, db_parts, block):
    """dh_seq `(N, T, H)`, the cache, W_back from `back_weights`; writes dA, dx `(N, T, D)`
    (when it has N rows) and each block's share of dW and db, one block per parallel task."""
    N = dh_seq.shape[0]
    for k in prange(parts.shape[0]):
        n0, n1 = k * block, min(N, (k + 1) * block)
        _rnn_backward_block(dh_seq, z, W_back, dA, dx, n0, n1, parts[k], db_parts[k])
