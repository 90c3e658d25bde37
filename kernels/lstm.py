"""LSTM forward and backpropagation through time (Hochreiter & Schmidhuber 1997, with the forget
gate of Gers et al. 2000), gates in the order i, f, g, o:

    [a_i, a_f, a_g, a_o] = x_t W_x + h_{t-1} W_h + b
    i = sigmoid(a_i),  f = sigmoid(a_f),  g = tanh(a_g),  o = sigmoid(a_o)
    c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t),   h_0 = c_0 = 0

Backward (Graves 2012, "Supervised Sequence Labelling with RNNs", 4.6), from t = T-1 down to 0,
with dh_t = dh_seq_t + dA_{t+1} W_h^T and dc_t = dc_{t+1} * f_{t+1} + dh_t * o (1 - tanh^2 c_t):

    dA_t = [dc_t g i (1-i),  dc_t c_{t-1} f (1-f),  dc_t i (1-g^2),  dh_t tanh(c_t) o (1-o)]
    dW_x = sum_t x_t^T dA_t,   dW_h = sum_t h_{t-1}^T dA_t,   db = sum_t dA_t,   dx_t = dA_t W_x^T

Speed: the input projection of all steps is one GEMM `(N*T, D) @ (D, 4H)`; each step makes one
fused `(N, H) @ (H, 4H)` GEMM for all four gates (numpy's BLAS, see blas.py) and one
elementwise loop; the backward keeps dA of every step, so dW_x, dW_h and dx are single GEMMs
over all steps. The states are kept
time-major `(T, N, ...)` so that one step is a contiguous block for BLAS, and the float32
activations are a vectorizable rational approximation (see `rnn._tanh32`). The cores compile
rnn.py's activations and blas.py's gemm into themselves and numba's disk cache does not notice
edits there: delete `kernels/__pycache__/lstm.*.nbi`/`.nbc` after changing them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._flags import jit
from .blas import gemm
from .buffers import reusable
from .rnn import (
    _sigmoid,
    _tanh,
    check_cache_array,
    check_recurrent_args,
    time_major,
    weight_grads,
)


class LSTMCache(NamedTuple):
    """What `lstm_backward` needs from the forward pass, time-major.

    Attributes:
        gates: `(T, N, 4H)` the activated gates i, f, g, o.
        c: `(T, N, H)` cell states.
        tanh_c: `(T, N, H)` tanh of the cell states.
        h: `(T, N, H)` hidden states (the same values as `h_seq`, for the dW_h GEMM).
        dA: `(T, N, 4H)` workspace `lstm_backward` writes the gate pre-activation gradients
            into (kept here so that a reused cache reuses it too).
    """

    gates: np.ndarray
    c: np.ndarray
    tanh_c: np.ndarray
    h: np.ndarray
    dA: np.ndarray


def lstm_forward(
    x: np.ndarray,
    W_x: np.ndarray,
    W_h: np.ndarray,
    b: np.ndarray,
    reuse: LSTMCache | None = None,
) -> tuple[np.ndarray, LSTMCache]:
    """Run an LSTM over whole sequences, h_0 = c_0 = 0 (formulas in the module docstring).

    Args:
        x: `(N, T, D)` float32 (float64 for gradient checks).
        W_x: `(D, 4H)`, W_h: `(H, 4H)`, b: `(4H,)`, all of x's dtype, gate blocks i, f, g, o.
        reuse: an earlier cache whose arrays may be overwritten when their shapes fit (a layer
            passes its previous one: new multi-MB arrays cost a page fault per 4 KB on first
            write); None allocates new arrays.

    Returns:
        `(h_seq, cache)`: h_seq `(N, T, H)` holds every hidden state, as a (non-contiguous)
        view of `cache.h`, so a later call with `reuse=cache` overwrites it: copy it to keep
        it. cache is an `LSTMCache`.

    Raises:
        ValueError: wrong ndim, dtype or shapes.
    """
    N, T, D, H = check_recurrent_args(x, W_x, W_h, b, 4)
    dtype = x.dtype
    old = reuse if isinstance(reuse, LSTMCache) else LSTMCache(None, None, None, None, None)
    cache = LSTMCache(
        gates=reusable(old.gates, (T, N, 4 * H), dtype),
        c=reusable(old.c, (T, N, H), dtype),
        tanh_c=reusable(old.tanh_c, (T, N, H), dtype),
        h=reusable(old.h, (T, N, H), dtype),
        dA=reusable(old.dA, (T, N, 4 * H), dtype),
    )
    W_x, W_h, b = (np.ascontiguousarray(a) for a in (W_x, W_h, b))
    _lstm_forward_core(time_major(x), W_x, b, W_h, cache.gates, cache.c, cache.tanh_c, cache.h)
    return cache.h.transpose(1, 0, 2), cache


def lstm_backward(
    dh_seq: np.ndarray,
    x: np.ndarray,
    W_x: np.ndarray,
    W_h: np.ndarray,
    cache: LSTMCache,
    need_dx: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    """Full backpropagation through time for `lstm_forward`.

    Args:
        dh_seq: `(N, T, H)` gradient of the loss w.r.t. every hidden state (zeros except the
            last step when only the last state was used). Not modified.
        x, W_x, W_h: the forward arguments.
        cache: the `LSTMCache` `lstm_forward` returned (its `dA` is overwritten).
        need_dx: compute dx (False returns None in its place and skips one GEMM).

    Returns:
        `(dx, dW_x, dW_h, db)` with the shapes of x, W_x, W_h, b.
    """
    b = np.zeros(W_h.shape[1], W_h.dtype)
    N, T, D, H = check_recurrent_args(x, W_x, W_h, b, 4)
    dtype = x.dtype
    dh_seq = check_cache_array("dh_seq", dh_seq, (N, T, H), dtype)
    if not isinstance(cache, LSTMCache):
        raise ValueError("cache must be the LSTMCache that lstm_forward returned")
    gates = check_cache_array("cache.gates", cache.gates, (T, N, 4 * H), dtype)
    c = check_cache_array("cache.c", cache.c, (T, N, H), dtype)
    tanh_c = check_cache_array("cache.tanh_c", cache.tanh_c, (T, N, H), dtype)
    h = check_cache_array("cache.h", cache.h, (T, N, H), dtype)
    dA = check_cache_array("cache.dA", cache.dA, (T, N, 4 * H), dtype)
    _lstm_backward_core(dh_seq, gates, c, tanh_c, np.ascontiguousarray(W_h.T), dA)
    return weight_grads(dA, x, h, W_x, need_dx)


# As in rnn.py, the cores loop over one contiguous row (one sample, one step) at a time, through
# 1-D views of the gate blocks, in several short loops rather than one fused loop. Measured on
# the gate nonlinearities: a loop over k in range(3H, 4H) stayed scalar (5x slower than the same
# loop over a view starting at 0), and the fused backward loop over eleven arrays ran 1.8x slower
# than seven loops over three or four arrays each (LLVM vectorizes a loop only when it can check
# a few pairs of arrays for overlap).


@jit
def _lstm_forward_core(x_tm, W_x, b, W_h, gates, c, tanh_c, h):
    """x_tm `(T, N, D)`, W_x `(D, 4H)`, b `(4H,)`, W_h `(H, 4H)`; writes the time-major gates
    `(T, N, 4H)`, c, tanh_c and h `(T, N, H)`."""
    T, N, H = h.shape
    D = x_tm.shape[2]
    # Input projection of all steps straight into `gates`; each step then adds b and
    # h_{t-1} W_h and activates in place (no separate pre-activation array).
    gemm(x_tm.reshape(T * N, D), W_x, gates.reshape(T * N, 4 * H))
    z = np.zeros((N, 4 * H), h.dtype)  # h_{t-1} W_h, all four gates; stays 0 at t = 0
    zeros = np.zeros(H, h.dtype)
    b_g, b_o = b[2 * H : 3 * H], b[3 * H :]
    for t in range(T):
        if t > 0:
            gemm(h[t - 1], W_h, z)
        for n in range(N):
            zr = z[n]
            a = gates[t, n]
            for k in range(2 * H):  # i and f, adjacent
                a[k] = _sigmoid(a[k] + b[k] + zr[k])
            i, f, g, o = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
            z_g, z_o = zr[2 * H : 3 * H], zr[3 * H :]
            for j in range(H):
                g[j] = _tanh(g[j] + b_g[j] + z_g[j])
            for j in range(H):
                o[j] = _sigmoid(o[j] + b_o[j] + z_o[j])
            c_prev = c[t - 1, n] if t > 0 else zeros
            ct = c[t, n]
            tc = tanh_c[t, n]
            ht = h[t, n]
            for j in range(H):
                ct[j] = f[j] * c_prev[j] + i[j] * g[j]
                tc[j] = _tanh(ct[j])
                ht[j] = o[j] * tc[j]


@jit
def _lstm_backward_core(dh_seq, gates, c, tanh_c, W_hT, dA):
    """dh_seq `(N, T, H)`, the time-major cache, W_hT = W_h^T `(4H, H)`; writes dA `(T, N, 4H)`,
    the gradients of the gate pre-activations."""
    N, T, H = dh_seq.shape
    one = c.dtype.type(1.0)
    dh_next = np.zeros((N, H), c.dtype)  # dA_{t+1} W_h^T, then dh_t in place
    dc_next = np.zeros((N, H), c.dtype)  # dc_{t+1} f_{t+1}, then dc_t in place
    zeros = np.zeros(H, c.dtype)
    for t in range(T - 1, -1, -1):
        for n in range(N):
            a = gates[t, n]
            i, f, g, o = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
            d = dA[t, n]
            d_i, d_f, d_g, d_o = d[:H], d[H : 2 * H], d[2 * H : 3 * H], d[3 * H :]
            tc = tanh_c[t, n]
            c_prev = c[t - 1, n] if t > 0 else zeros
            ds = dh_seq[n, t]
            dh = dh_next[n]
            dc = dc_next[n]
            for j in range(H):
                dh[j] += ds[j]
            for j in range(H):
                dc[j] += dh[j] * o[j] * (one - tc[j] * tc[j])
            for j in range(H):
                d_o[j] = dh[j] * tc[j] * o[j] * (one - o[j])
            for j in range(H):
                d_i[j] = dc[j] * g[j] * i[j] * (one - i[j])
            for j in range(H):
                d_f[j] = dc[j] * c_prev[j] * f[j] * (one - f[j])
            for j in range(H):
                d_g[j] = dc[j] * i[j] * (one - g[j] * g[j])
            for j in range(H):
                dc[j] *= f[j]
        if t > 0:
            gemm(dA[t], W_hT, dh_next)
