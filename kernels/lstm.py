"""LSTM forward and backpropagation through time (Hochreiter & Schmidhuber 1997, with the forget
gate of Gers et al. 2000), gates in the order i, f, g, o:

    [a_i, a_f, a_g, a_o] = x_t W_x + h_{t-1} W_h + b
    i = sigmoid(a_i),  f = sigmoid(a_f),  g = tanh(a_g),  o = sigmoid(a_o)
    c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t),   h_0 = c_0 = 0

Backward (Graves 2012, "Supervised Sequence Labelling with RNNs", 4.6), from t = T-1 down to 0,
with dh_t = dh_seq_t + dA_{t+1} W_h^T and dc_t = dc_{t+1} * f_{t+1} + dh_t * o (1 - tanh^2 c_t):

    dA_t = [dc_t g i (1-i),  dc_t c_{t-1} f (1-f),  dc_t i (1-g^2),  dh_t tanh(c_t) o (1-o)]
    dW_x = sum_t x_t^T dA_t,   dW_h = sum_t h_{t-1}^T dA_t,   db = sum_t dA_t,   dx_t = dA_t W_x^T

Speed and threads: the recurrence is independent across samples, so the batch splits into
blocks of `rnn.BLOCK` samples (fixed by N alone, see threads.py) that run their whole recurrence
in parallel (`prange`). Each step of a block is one GEMM `[x_t, h_{t-1}] [W_x; W_h]` straight
into the gates (numpy's BLAS, see blas.py; no separate input projection or h W_h sum to add),
then one elementwise pass; backward, one GEMM `dA_t [W_x; W_h]^T` per step gives dx_t and the
carried dh together. The arrays are sample-major (`(N, T, ...)`, one block a slab of each), and
`z = [x_t, h_{t-1}]` is stored per step, so each block's share of `[dW_x; dW_h]` is one GEMM
`z^T dA` over its rows; the shares are added in block order after the parallel loop, so the
results are the same bits on any thread count. Blocks of 32, not 16: OpenBLAS packs W afresh
for every call, and 16-sample calls made a 1-thread fwd+bwd (N=64, T=50, D=32, H=128) 11 %
slower than 64-sample ones, 32 about 2 %. The float32 activations are a vectorizable rational
approximation (see `rnn._rational_tanh`). The cores compile rnn.py's helpers and blas.py's gemm
into themselves and numba's disk cache does not notice edits there: delete
`kernels/__pycache__/lstm.*.nbi`/`.nbc` after changing them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import prange

from ._flags import jit, pjit
from .blas import gemm
from .buffers import reusable
from .rnn import (
    _sigmoid,
    _tanh,
    back_weights,
    backprop_step,
    block_count,
    block_weight_grads,
    check_cache_array,
    check_recurrent_args,
    concat_weights,
    fill_inputs,
    run_blocks,
    split_weight_grads,
    sum_blocks,
)


class LSTMCache(NamedTuple):
    """What `lstm_backward` needs from the forward pass, sample-major (one block of samples is
    one slab of every array).

    Attributes:
        gates: `(N, T, 4H)` the activated gates i, f, g, o.
        c: `(N, T, H)` cell states.
        tanh_c: `(N, T, H)` tanh of the cell states.
        z: `(N, T + 1, D + H)` the rows the steps multiply by `[W_x; W_h]`: `z[:, t]` is
            `[x_t, h_{t-1}]` (h_{-1} = 0) and `z[:, T]` is `[0, h_{T-1}]`, so `z[:, 1:, D:]`
            holds every hidden state and dW is one GEMM `z^T dA` per block.
        dA: `(N, T + 1, 4H)` workspace `lstm_backward` writes the gate pre-activation
            gradients into (kept here so that a reused cache reuses it too).
        parts: `(blocks, D + H, 4H)` workspace for each block's share of dW.
    """

    gates: np.ndarray
    c: np.ndarray
    tanh_c: np.ndarray
    z: np.ndarray
    dA: np.ndarray
    parts: np.ndarray


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
        view of `cache.z`, so a later call with `reuse=cache` overwrites it: copy it to keep
        it. cache is an `LSTMCache`.

    Raises:
        ValueError: wrong ndim, dtype or shapes.
    """
    N, T, D, H = check_recurrent_args(x, W_x, W_h, b, 4)
    dtype = x.dtype
    old = reuse if isinstance(reuse, LSTMCache) else LSTMCache(*(None,) * 6)
    cache = LSTMCache(
        gates=reusable(old.gates, (N, T, 4 * H), dtype),
        c=reusable(old.c, (N, T, H), dtype),
        tanh_c=reusable(old.tanh_c, (N, T, H), dtype),
        z=reusable(old.z, (N, T + 1, D + H), dtype),
        dA=reusable(old.dA, (N, T + 1, 4 * H), dtype),
        parts=reusable(old.parts, (block_count(N), D + H, 4 * H), dtype),
    )
    args = (
        np.ascontiguousarray(x), concat_weights(W_x, W_h), np.ascontiguousarray(b),
        cache.gates, cache.c, cache.tanh_c, cache.z,
    )  # fmt: skip
    run_blocks(_lstm_forward_core, _lstm_forward_block, N, args)
    return cache.z[:, 1:, D:], cache


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
        cache: the `LSTMCache` `lstm_forward` returned (its `dA` and `parts` are overwritten).
        need_dx: compute dx (False returns None in its place and multiplies each step's dA by
            W_h^T alone).

    Returns:
        `(dx, dW_x, dW_h, db)` with the shapes of x, W_x, W_h, b.
    """
    b = np.zeros(W_h.shape[1], W_h.dtype)
    N, T, D, H = check_recurrent_args(x, W_x, W_h, b, 4)
    dtype = x.dtype
    dh_seq = check_cache_array("dh_seq", dh_seq, (N, T, H), dtype)
    if not isinstance(cache, LSTMCache):
        raise ValueError("cache must be the LSTMCache that lstm_forward returned")
    gates = check_cache_array("cache.gates", cache.gates, (N, T, 4 * H), dtype)
    c = check_cache_array("cache.c", cache.c, (N, T, H), dtype)
    tanh_c = check_cache_array("cache.tanh_c", cache.tanh_c, (N, T, H), dtype)
    z = check_cache_array("cache.z", cache.z, (N, T + 1, D + H), dtype)
    dA = check_cache_array("cache.dA", cache.dA, (N, T + 1, 4 * H), dtype)
    parts = check_cache_array("cache.parts", cache.parts, (block_count(N), D + H, 4 * H), dtype)
    dx = np.empty((N, T, D) if need_dx else (0, T, D), dtype)
    db_parts = np.empty((len(parts), 4 * H), np.float64)
    args = (dh_seq, gates, c, tanh_c, z, back_weights(W_x, W_h, need_dx), dA, dx)
    run_blocks(_lstm_backward_core, _lstm_backward_block, N, args, (parts, db_parts))
    dW, db = np.empty((D + H, 4 * H), dtype), np.empty(4 * H, dtype)
    sum_blocks(parts, db_parts, dW, db)
    return (dx if need_dx else None), *split_weight_grads(dW, D), db


# As in rnn.py, the cores loop over one contiguous row (one sample, one step) at a time, through
# 1-D views of the gate blocks, in several short loops rather than one fused loop. Measured on
# the gate nonlinearities: a loop over k in range(3H, 4H) stayed scalar (5x slower than the same
# loop over a view starting at 0), and the fused backward loop over eleven arrays ran 1.8x slower
# than seven loops over three or four arrays each (LLVM vectorizes a loop only when it can check
# a few pairs of arrays for overlap).


@jit
def _lstm_forward_block(x, W, b, gates, c, tanh_c, z, n0, n1):
    """Samples n0:n1: each step one GEMM `[x_t, h_{t-1}] [W_x; W_h]` straight into the gates,
    then the activations in place and the new c and h."""
    T, D = x.shape[1], x.shape[2]
    H = c.shape[2]
    fill_inputs(x, z, n0, n1)
    zeros = np.zeros(H, c.dtype)
    b_g, b_o = b[2 * H : 3 * H], b[3 * H :]
    for t in range(T):
        gemm(z[n0:n1, t], W, gates[n0:n1, t])
        for n in range(n0, n1):
            a = gates[n, t]
            for k in range(2 * H):  # i and f, adjacent
                a[k] = _sigmoid(a[k] + b[k])
            i, f, g, o = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
            for j in range(H):
                g[j] = _tanh(g[j] + b_g[j])
            for j in range(H):
                o[j] = _sigmoid(o[j] + b_o[j])
            c_prev = c[n, t - 1] if t > 0 else zeros
            ct = c[n, t]
            tc = tanh_c[n, t]
            ht = z[n, t + 1, D:]
            for j in range(H):
                ct[j] = f[j] * c_prev[j] + i[j] * g[j]
                tc[j] = _tanh(ct[j])
                ht[j] = o[j] * tc[j]


@pjit
def _lstm_forward_core(x, W, b, gates, c, tanh_c, z, block):
    """x `(N, T, D)`, W = `[W_x; W_h]` `(D + H, 4H)`, b `(4H,)`; writes the gates, c, tanh_c
    and z (see `LSTMCache`), one block of `block` samples per parallel task."""
    N = x.shape[0]
    for k in prange((N + block - 1) // block):
        _lstm_forward_block(x, W, b, gates, c, tanh_c, z, k * block, min(N, (k + 1) * block))


@jit
def _lstm_backward_block(dh_seq, gates, c, tanh_c, z, W_back, dA, dx, n0, n1, part, db_part):
    """BPTT of samples n0:n1 into dA (and dx), then their share of dW and db."""
    T, H = dh_seq.shape[1], dh_seq.shape[2]
    off = W_back.shape[1] - H  # where the carried dh starts in a row of dzb
    one = c.dtype.type(1.0)
    dzb = np.zeros((n1 - n0, W_back.shape[1]), c.dtype)  # dA_{t+1} W_back; dh_t in place
    dcb = np.zeros((n1 - n0, H), c.dtype)  # dc_{t+1} f_{t+1}, then dc_t in place
    zeros = np.zeros(H, c.dtype)
    for t in range(T - 1, -1, -1):
        for n in range(n0, n1):
            a = gates[n, t]
            i, f, g, o = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
            d = dA[n, t]
            d_i, d_f, d_g, d_o = d[:H], d[H : 2 * H], d[2 * H : 3 * H], d[3 * H :]
            tc = tanh_c[n, t]
            c_prev = c[n, t - 1] if t > 0 else zeros
            ds = dh_seq[n, t]
            dh = dzb[n - n0, off:]
            dc = dcb[n - n0]
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
        backprop_step(dA, W_back, dzb, dx, t, n0, n1)
    block_weight_grads(z, dA, n0, n1, part, db_part)


@pjit
def _lstm_backward_core(dh_seq, gates, c, tanh_c, z, W_back, dA, dx, parts, db_parts, block):
    """dh_seq `(N, T, H)`, the cache, W_back from `back_weights`; writes dA, dx `(N, T, D)`
    (when it has N rows) and each block's share of dW and db, one block per parallel task."""
    N = dh_seq.shape[0]
    for k in prange(parts.shape[0]):
        n0, n1 = k * block, min(N, (k + 1) * block)
        _lstm_backward_block(
            dh_seq, gates, c, tanh_c, z, W_back, dA, dx, n0, n1, parts[k], db_parts[k]
        )
