"""The numba cores of 2-D average pooling, forward and backward (`pool2d.py` calls them).

The N*C planes split into at most `blocks` blocks (`pool2d.BLOCKS`); the 2x2 stride-2 cores
run in two passes per plane, rows then columns, for the reason `pool2d.py` gives for max
pooling, and the backward in reverse: columns, then rows. They index flat arrays with uint64
offsets, as the max cores do (`pool2d.py` says why).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._flags import jit, pjit


@jit
def _scalar(value, dtype):
    """`value` as a scalar of `dtype`, so float32 loops stay in float32."""
    out = np.empty(1, dtype)
    out[0] = value
    return out[0]


@jit
def _avg2_plane(xf, x0, W, yf, y0, OH, OW, scale, t):
    """2x2 windows at stride 2 of the plane at xf[x0:] into yf[y0:]; t: OH * 2*OW scratch."""
    one, two, Wu, L = np.uint64(1), np.uint64(2), np.uint64(W), np.uint64(2 * OW)
    for i in range(np.uint64(OH)):  # t row i: the sum of x rows 2i and 2i + 1
        r0 = np.uint64(x0) + two * i * Wu
        for w in range(L):
            t[i * L + w] = xf[r0 + w] + xf[r0 + Wu + w]
    for m in range(np.uint64(OH * OW)):  # adjacent columns of t, the whole plane in one loop
        yf[np.uint64(y0) + m] = (t[two * m] + t[two * m + one]) * scale


@jit
def avgpool_block(x, size, stride, y, q0, q1, t):
    """Planes q0..q1-1 (q = n*C + c); t: the 2x2 stride-2 core's OH * 2*OW scratch."""
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    scale = _scalar(1.0 / (size * size), y.dtype)
    xf, yf = x.reshape(x.size), y.reshape(y.size)
    if size == 2 and stride == 2:
        for q in range(q0, q1):
            _avg2_plane(xf, q * H * W, W, yf, q * OH * OW, OH, OW, scale, t)
        return
    one, Wu, step, OWu = np.uint64(1), np.uint64(W), np.uint64(stride), np.uint64(OW)
    for q in range(np.uint64(q0), np.uint64(q1)):
        for i in range(np.uint64(OH)):
            r0 = (q * np.uint64(H) + i * step) * Wu  # the windows' top row
            o = (q * np.uint64(OH) + i) * OWu
            if size == 2:  # unrolled: one pass, no partial sums in memory
                r1 = r0 + Wu
                for j in range(OWu):
                    w = j * step
                    yf[o + j] = (
                        xf[r0 + w] + xf[r0 + w + one] + xf[r1 + w] + xf[r1 + w + one]
                    ) * scale
                continue
            for j in range(OWu):
                yf[o + j] = 0
            for dh in range(np.uint64(size)):
                for dw in range(np.uint64(size)):
                    r = r0 + dh * Wu + dw
                    for j in range(OWu):
                        yf[o + j] += xf[r + j * step]
            for j in range(OWu):
                yf[o + j] *= scale


@pjit
def avgpool_core(x, size, stride, y, blocks):
    P = x.shape[0] * x.shape[1]
    nb = min(P, blocks)
    t = np.empty((nb, y.shape[2] * 2 * y.shape[3]), x.dtype)
    for k in prange(nb):
        avgpool_block(x, size, stride, y, k * P // nb, (k + 1) * P // nb, t[k])


@jit
def _avg2_backward_plane(gf, y0, OH, OW, scale, xf, x0, W, t):
    """dx of 2x2 windows at stride 2: the plane at gf[y0:] spread over xf[x0:]; t as forward.

    Leaves the dropped last row or column (odd H or W) alone.
    """
    one, two, Wu, L = np.uint64(1), np.uint64(2), np.uint64(W), np.uint64(2 * OW)
    for m in range(np.uint64(OH * OW)):  # each dy twice in a row, the whole plane in one loop
        v = gf[np.uint64(y0) + m] * scale
        t[two * m] = v
        t[two * m + one] = v
    for i in range(np.uint64(OH)):  # t row i to x rows 2i and 2i + 1 (one loop each vectorizes)
        r0 = np.uint64(x0) + two * i * Wu
        for w in range(L):
            xf[r0 + w] = t[i * L + w]
        for w in range(L):
            xf[r0 + Wu + w] = t[i * L + w]


@jit
def avgpool_backward_block(dy, size, stride, dx, q0, q1, t):
    """Planes q0..q1-1 (q = n*C + c); t: OH * 2*OW scratch (2x2 stride 2), else OW."""
    N, C, H, W = dx.shape
    OH, OW = dy.shape[2], dy.shape[3]
    scale = _scalar(1.0 / (size * size), dx.dtype)
    xf, gf = dx.reshape(dx.size), dy.reshape(dy.size)
    Wu, step, OWu = np.uint64(W), np.uint64(stride), np.uint64(OW)
    tiling = stride == size  # tiling windows write each covered input once
    for q in range(q0, q1):
        plane = dx[q // C, q % C]
        if tiling:
            plane[OH * size :] = 0  # the dropped edges
            plane[: OH * size, OW * size :] = 0
        else:  # overlaps or gaps: accumulate into zeros
            plane[:] = 0
    if size == 2 and stride == 2:
        for q in range(q0, q1):
            _avg2_backward_plane(gf, q * OH * OW, OH, OW, scale, xf, q * H * W, W, t)
        return
    g = t[:OW]
    for q in range(np.uint64(q0), np.uint64(q1)):
        for i in range(np.uint64(OH)):
            r0 = (q * np.uint64(H) + i * step) * Wu
            o = (q * np.uint64(OH) + i) * OWu
            for j in range(OWu):
                g[j] = gf[o + j] * scale
            for dh in range(np.uint64(size)):
                for dw in range(np.uint64(size)):
                    r = r0 + dh * Wu + dw
                    if tiling:
                        for j in range(OWu):
                            xf[r + j * step] = g[j]
                    else:
                        for j in range(OWu):
                            xf[r + j * step] += g[j]


@pjit
def avgpool_backward_core(dy, size, stride, dx, blocks):
    P = dx.shape[0] * dx.shape[1]
    nb = min(P, blocks)
    t = np.empty((nb, dy.shape[2] * 2 * dy.shape[3]), dx.dtype)
    for k in prange(nb):
        avgpool_backward_block(dy, size, stride, dx, k * P // nb, (k + 1) * P // nb, t[k])
