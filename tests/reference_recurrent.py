"""Slow, obvious numpy LSTM and tanh RNN: the tests' reference for the numba kernels.

One step at a time, in the dtype of the inputs (the tests pass float64; the recurrent benchmark
passes float32 as its plain-numpy baseline). Layouts as in PRODUCT.md: x `(N, T, D)`, LSTM
`W_x (D, 4H)`, `W_h (H, 4H)`, `b (4H,)` with gates i, f, g, o; RNN `W_x (D, H)`, `W_h (H, H)`,
`b (H,)`; h_0 = c_0 = 0. The backward is textbook BPTT, gradients summed step by step.
"""

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def lstm_forward(x, W_x, W_h, b):
    """Returns `(h_seq (N, T, H), steps)`, steps a list of per-step dicts for the backward."""
    N, T, _ = x.shape
    H = W_h.shape[0]
    h = np.zeros((N, H), x.dtype)
    c = np.zeros((N, H), x.dtype)
    h_seq = np.zeros((N, T, H), x.dtype)
    steps = []
    for t in range(T):
        a = x[:, t] @ W_x + h @ W_h + b
        i = sigmoid(a[:, :H])
        f = sigmoid(a[:, H : 2 * H])
        g = np.tanh(a[:, 2 * H : 3 * H])
        o = sigmoid(a[:, 3 * H :])
        c_prev, h_prev = c, h
        c = f * c_prev + i * g
        h = o * np.tanh(c)
        steps.append(dict(x=x[:, t], h_prev=h_prev, c_prev=c_prev, i=i, f=f, g=g, o=o, c=c))
        h_seq[:, t] = h
    return h_seq, steps


def lstm_backward(dh_seq, W_x, W_h, steps):
    """Returns `(dx, dW_x, dW_h, db)` for `lstm_forward`'s steps."""
    N, T, H = dh_seq.shape
    dx = np.zeros((N, T, W_x.shape[0]), dh_seq.dtype)
    dW_x, dW_h = np.zeros_like(W_x), np.zeros_like(W_h)
    db = np.zeros(4 * H, dh_seq.dtype)
    dh_next = np.zeros((N, H), dh_seq.dtype)
    dc_next = np.zeros((N, H), dh_seq.dtype)
    for t in reversed(range(T)):
        s = steps[t]
        dh = dh_seq[:, t] + dh_next
        tanh_c = np.tanh(s["c"])
        do = dh * tanh_c
        dc = dc_next + dh * s["o"] * (1 - tanh_c**2)
        di = dc * s["g"]
        df = dc * s["c_prev"]
        dg = dc * s["i"]
        da = np.concatenate(
            [
                di * s["i"] * (1 - s["i"]),
                df * s["f"] * (1 - s["f"]),
                dg * (1 - s["g"] ** 2),
                do * s["o"] * (1 - s["o"]),
            ],
            axis=1,
        )
        dW_x += s["x"].T @ da
        dW_h += s["h_prev"].T @ da
        db += da.sum(axis=0)
        dx[:, t] = da @ W_x.T
        dh_next = da @ W_h.T
        dc_next = dc * s["f"]
    return dx, dW_x, dW_h, db


def rnn_forward(x, W_x, W_h, b):
    """Returns `(h_seq (N, T, H), steps)`."""
    N, T, _ = x.shape
    H = W_h.shape[0]
    h = np.zeros((N, H), x.dtype)
    h_seq = np.zeros((N, T, H), x.dtype)
    steps = []
    for t in range(T):
        h_prev = h
        h = np.tanh(x[:, t] @ W_x + h_prev @ W_h + b)
        steps.append(dict(x=x[:, t], h_prev=h_prev, h=h))
        h_seq[:, t] = h
    return h_seq, steps


def rnn_backward(dh_seq, W_x, W_h, steps):
    """Returns `(dx, dW_x, dW_h, db)` for `rnn_forward`'s steps."""
    N, T, H = dh_seq.shape
    dx = np.zeros((N, T, W_x.shape[0]), dh_seq.dtype)
    dW_x, dW_h = np.zeros_like(W_x), np.zeros_like(W_h)
    db = np.zeros(H, dh_seq.dtype)
    dh_next = np.zeros((N, H), dh_seq.dtype)
    for t in reversed(range(T)):
        s = steps[t]
        da = (dh_seq[:, t] + dh_next) * (1 - s["h"] ** 2)
        dW_x += s["x"].T @ da
        dW_h += s["h_prev"].T @ da
        db += da.sum(axis=0)
        dx[:, t] = da @ W_x.T
        dh_next = da @ W_h.T
    return dx, dW_x, dW_h, db


def random_problem(rng, N, T, D, H, gates, last_only=False, forget_bias=0.0):
    """Float64 inputs for a recurrent kernel test: `(x, W_x, W_h, b, dh_seq)`.

    W_x is scaled like Glorot init (pre-activations of order 1: gates neither saturated nor
    linear). Each (H, H) gate block of W_h is a Gaussian matrix divided by its largest singular
    value, so the recurrence does not expand: with an expanding one (an exploding gradient)
    BPTT amplifies float32 rounding like the gradient itself and no fixed tolerance holds.
    `dh_seq` is random on every step, or only on the last one (`last_only`, what a layer
    returning the last state passes). `forget_bias` shifts the LSTM forget gate (gate block 1):
    3 gives f ~ 0.95, a memory of ~20 steps that makes the backward errors add up over time.
    """
    x = rng.standard_normal((N, T, D))
    W_x = rng.standard_normal((D, gates * H)) / np.sqrt(D)
    blocks = [rng.standard_normal((H, H)) for _ in range(gates)]
    W_h = np.concatenate([w / np.linalg.norm(w, 2) for w in blocks], axis=1)
    b = 0.1 * rng.standard_normal(gates * H)
    if gates == 4:
        b[H : 2 * H] += forget_bias
    dh_seq = rng.standard_normal((N, T, H))
    if last_only:
        dh_seq[:, :-1] = 0.0
    return x, W_x, W_h, b, dh_seq
