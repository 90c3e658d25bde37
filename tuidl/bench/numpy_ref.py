"""The plain-numpy references `tuidl bench` times against: careful, fast numpy, float32.

These are not the slow, obvious references of `tests/`: each is the fastest straightforward
numpy formulation we measured, so that "tuidl beats numpy" means beating numpy written well.

- conv2d: im2col with one strided slice copy per kernel offset into a `(C*KH*KW, N*OH*OW)`
  matrix and one GEMM for the whole batch; forward, dW and dcol are one GEMM each; col2im by
  KH*KW strided `+=` into a zero-padded buffer (Chellapilla et al. 2006).
- max-pool 2x2/2: max of the four strided sub-grids; backward routes each gradient to the first
  maximal element of its window (PyTorch's tie rule, and tuidl's).
- avg-pool 2x2/2: sum of the four sub-grids; backward by broadcasting.
- dense: three GEMMs (y = x W + b, dW = x^T dy, dx = dy W^T).
- LSTM: input projection of all steps in one GEMM, then per step one fused `(N, H) @ (H, 4H)`
  GEMM plus the gate math (gates i, f, g, o as PyTorch); BPTT per step, then dW_x, dW_h and dx
  as single GEMMs over all steps.

Every function does forward and backward in one call, returns a dict of named outputs and
gradients (`y`, `dx`, `dW`, `db`, ...) in tuidl's layouts, and allocates fresh arrays.
"""

from __future__ import annotations

import numpy as np


def conv2d(
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    stride: int,
    pad: tuple[int, int, int, int],
    dy: np.ndarray,
    need_dx: bool,
) -> dict[str, np.ndarray]:
    """Forward and backward of a 2-D convolution (cross-correlation) by im2col + GEMM.

    Args:
        x: (N, C, H, W) input.
        W: (F, C, KH, KW) filters; b: (F,) biases.
        stride: step between windows; pad: zero padding (top, bottom, left, right).
        dy: (N, F, OH, OW) upstream gradient.
        need_dx: False skips the dcol GEMM and col2im (a first layer).

    Returns:
        y (N, F, OH, OW), dW, db, and dx when `need_dx`.
    """
    N, C, H, Wd = x.shape
    F, _, KH, KW = W.shape
    top, bottom, left, right = pad
    Hp, Wp = H + top + bottom, Wd + left + right
    OH, OW = (Hp - KH) // stride + 1, (Wp - KW) // stride + 1
    rows, cols = stride * (OH - 1) + 1, stride * (OW - 1) + 1  # extent of one tap's slice
    # Channel-major padded input, so each tap's slice lands in a contiguous (N*OH*OW) row.
    xp = np.zeros((C, N, Hp, Wp), x.dtype)
    xp[:, :, top : top + H, left : left + Wd] = x.transpose(1, 0, 2, 3)
    col = np.empty((C, KH, KW, N, OH, OW), x.dtype)
    for kh in range(KH):
        for kw in range(KW):
            col[:, kh, kw] = xp[:, :, kh : kh + rows : stride, kw : kw + cols : stride]
    col = col.reshape(C * KH * KW, N * OH * OW)
    Wm = W.reshape(F, C * KH * KW)
    yt = Wm @ col
    y = np.empty((N, F, OH, OW), x.dtype)
    np.add(yt.reshape(F, N, OH, OW).transpose(1, 0, 2, 3), b[None, :, None, None], out=y)
    dyt = np.ascontiguousarray(dy.transpose(1, 0, 2, 3)).reshape(F, N * OH * OW)
    out = {"y": y, "dW": (dyt @ col.T).reshape(W.shape), "db": dyt.sum(axis=1)}
    if need_dx:
        dcol = (Wm.T @ dyt).reshape(C, KH, KW, N, OH, OW)
        dxp = np.zeros((C, N, Hp, Wp), x.dtype)
        for kh in range(KH):
            for kw in range(KW):
                dxp[:, :, kh : kh + rows : stride, kw : kw + cols : stride] += dcol[:, kh, kw]
        inner = dxp[:, :, top : top + H, left : left + Wd]
        out["dx"] = np.ascontiguousarray(inner.transpose(1, 0, 2, 3))
    return out


def _quarters(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """The four strided sub-grids of 2x2 windows, in window order (0,0), (0,1), (1,0), (1,1)."""
    return x[:, :, ::2, ::2], x[:, :, ::2, 1::2], x[:, :, 1::2, ::2], x[:, :, 1::2, 1::2]


def maxpool2x2(x: np.ndarray, dy: np.ndarray) -> dict[str, np.ndarray]:
    """Max-pool 2x2, stride 2, forward and backward; x (N, C, H, W) with even H and W.

    Returns:
        y (N, C, H/2, W/2) and dx (N, C, H, W): each dy at the first maximum of its window.
    """
    a, b, c, d = _quarters(x)
    y = np.maximum(np.maximum(a, b), np.maximum(c, d))
    dx = np.empty_like(x)
    taken = a == y  # windows whose gradient is already routed
    dx[:, :, ::2, ::2] = np.where(taken, dy, 0)
    for view, part in ((b, (slice(None, None, 2), slice(1, None, 2))),
                       (c, (slice(1, None, 2), slice(None, None, 2)))):  # fmt: skip
        here = (view == y) & ~taken
        dx[:, :, part[0], part[1]] = np.where(here, dy, 0)
        taken |= here
    dx[:, :, 1::2, 1::2] = np.where(taken, 0, dy)
    return {"y": y, "dx": dx}


def avgpool2x2(x: np.ndarray, dy: np.ndarray) -> dict[str, np.ndarray]:
    """Average-pool 2x2, stride 2, forward and backward; x (N, C, H, W) with even H and W."""
    a, b, c, d = _quarters(x)
    y = a + b
    y += c
    y += d
    y *= 0.25
    g = dy * np.asarray(0.25, dy.dtype)
    dx = np.empty_like(x)
    for rows in (slice(None, None, 2), slice(1, None, 2)):
        for cols in (slice(None, None, 2), slice(1, None, 2)):
            dx[:, :, rows, cols] = g
    return {"y": y, "dx": dx}


def dense(x: np.ndarray, W: np.ndarray, b: np.ndarray, dy: np.ndarray) -> dict[str, np.ndarray]:
    """y = x W + b and its gradients; x (N, D), W (D, U), b (U,), dy (N, U)."""
    y = x @ W
    y += b
    return {"y": y, "dx": dy @ W.T, "dW": x.T @ dy, "db": dy.sum(axis=0)}


def _sigmoid_(a: np.ndarray) -> None:
    """a = 1 / (1 + exp(-a)), in place (exp overflows to inf for a << 0: the result is 0)."""
    np.negative(a, out=a)
    np.exp(a, out=a)
    a += 1
    np.reciprocal(a, out=a)


def lstm(
    x: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray, dh: np.ndarray
) -> dict[str, np.ndarray]:
    """LSTM forward (h_0 = c_0 = 0) and full BPTT, the formulas of `tuidl.kernels.lstm`.

    Args:
        x: (N, T, D) inputs; W_x (D, 4H), W_h (H, 4H), b (4H,), gate blocks i, f, g, o.
        dh: (N, T, H) upstream gradient on every hidden state.

    Returns:
        y (N, T, H) the hidden states, dx (N, T, D), dW_x, dW_h, db.
    """
    N, T, D = x.shape
    H = W_h.shape[0]
    dtype = x.dtype
    x_tm = np.ascontiguousarray(x.transpose(1, 0, 2))
    gates = (x_tm.reshape(T * N, D) @ W_x).reshape(T, N, 4 * H)
    gates += b
    c = np.empty((T, N, H), dtype)
    tanh_c = np.empty((T, N, H), dtype)
    h = np.empty((T, N, H), dtype)
    with np.errstate(over="ignore"):
        for t in range(T):
            a = gates[t]
            if t > 0:
                a += h[t - 1] @ W_h
            _sigmoid_(a[:, : 2 * H])
            np.tanh(a[:, 2 * H : 3 * H], out=a[:, 2 * H : 3 * H])
            _sigmoid_(a[:, 3 * H :])
            i, f, g = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H]
            np.multiply(i, g, out=c[t])
            if t > 0:
                c[t] += f * c[t - 1]
            np.tanh(c[t], out=tanh_c[t])
            np.multiply(a[:, 3 * H :], tanh_c[t], out=h[t])
    dh_tm = dh.transpose(1, 0, 2)
    dA = np.empty((T, N, 4 * H), dtype)
    dh_next = np.zeros((N, H), dtype)
    dc_next = np.zeros((N, H), dtype)
    W_hT = W_h.T
    for t in range(T - 1, -1, -1):
        a = gates[t]
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        d = dA[t]
        dh_t = dh_tm[t] + dh_next
        tc = tanh_c[t]
        dc = dh_t * o * (1 - tc * tc) + dc_next
        d[:, 3 * H :] = dh_t * tc * o * (1 - o)
        d[:, :H] = dc * g * i * (1 - i)
        if t > 0:
            d[:, H : 2 * H] = dc * c[t - 1] * f * (1 - f)
        else:
            d[:, H : 2 * H] = 0
        d[:, 2 * H : 3 * H] = dc * i * (1 - g * g)
        dc_next = dc * f
        dh_next = d @ W_hT
    dA2 = dA.reshape(T * N, 4 * H)
    h_prev = np.empty((T, N, H), dtype)
    h_prev[0] = 0
    h_prev[1:] = h[:-1]
    dx_tm = (dA2 @ W_x.T).reshape(T, N, D)
    return {
        "y": h.transpose(1, 0, 2),
        "dx": np.ascontiguousarray(dx_tm.transpose(1, 0, 2)),
        "dW_x": x_tm.reshape(T * N, D).T @ dA2,
        "dW_h": h_prev.reshape(T * N, H).T @ dA2,
        "db": dA2.sum(axis=0),
    }
