"""The numba cores of Winograd F(4x4, 3x3): the tile transforms of `winograd.py`.

Each core moves a chunk of samples between a plane layout and the (36, P) rows of the 6x6
tile entries: `_input_core` (x -> V = Bt d B), `_output_core` (M -> y = At M A + b),
`_dy_core` (dy -> dM = A dy At, and db), `_dx_core` (dV -> dx, B dV Bt added back into the
overlapping windows). The layout and the reasons for it are in `winograd.py`'s docstring.
"""

from __future__ import annotations

import numpy as np

from ._flags import jit

# Samples per tile group: one AVX2 register of float32, one value of each sample side by side.
LANES = 8

# Staging columns: the transforms compute into a local (rows, TMAX) array T and copy its rows out.
# TMAX is a constant so that LLVM sees T's rows at fixed distances (36 rows of float32 fill 18
# KiB of L1); written straight into V or dM (rows at run-time distances) the loops needed more
# run-time alias checks than LLVM allows and stayed scalar.
TMAX = 128


# ---------------------------------------------------------------------------- numba cores

# The transforms' factors as float32: an int literal times a float32 is a float64 in numba,
# and float32 keeps float64 inputs float64.
_TWO, _FOUR, _FIVE, _EIGHT = np.float32(2), np.float32(4), np.float32(5), np.float32(8)


@jit
def _bt(d0, d1, d2, d3, d4, d5):
    """Bt @ (d0 .. d5): one axis of the input transform."""
    s, t = d4 - d2, d3 - d1
    return (
        _FOUR * d0 - _FIVE * d2 + d4,
        d3 + d4 - _FOUR * (d1 + d2),
        d4 - d3 + _FOUR * (d1 - d2),
        s + _TWO * t,
        s - _TWO * t,
        _FOUR * d1 - _FIVE * d3 + d5,
    )


@jit
def _b(v0, v1, v2, v3, v4, v5):
    """B @ (v0 .. v5), the adjoint of `_bt`."""
    s, t = v1 + v2, v3 + v4
    return (
        _FOUR * v0,
        _FOUR * (v2 - v1 + v5) + _TWO * (v4 - v3),
        -_FIVE * v0 - _FOUR * s - t,
        v1 - v2 + _TWO * (v3 - v4) - _FIVE * v5,
        v0 + s + t,
        v5,
    )


@jit
def _at(m0, m1, m2, m3, m4, m5):
    """At @ (m0 .. m5): one axis of the output transform."""
    a, b, c, d = m1 + m2, m1 - m2, m3 + m4, m3 - m4
    return m0 + a + c, b + _TWO * d, a + _FOUR * c, b + _EIGHT * d + m5


@jit
def _a(s0, s1, s2, s3):
    """A @ (s0 .. s3), the adjoint of `_at`."""
    e, o = s0 + _FOUR * s2, s1 + _FOUR * s3
    return s0, s0 + s1 + s2 + s3, s0 - s1 + s2 - s3, e + _TWO * o, e - _TWO * o, s3


@jit
def _six(arr, r, o):
    """arr[r[i] + o] for i < 6."""
    return arr[r[0] + o], arr[r[1] + o], arr[r[2] + o], arr[r[3] + o], arr[r[4] + o], arr[r[5] + o]


@jit
def _strided6(arr, first, step):
    """arr[first + i*step] for i < 6."""
    return _six(arr, _offsets6(first, step), np.uint64(0))


@jit
def _put(T, row, t, v):
    """T[row + i, t] = v[i] for the entries of the tuple v."""
    for i in range(len(v)):
        T[row + i, t] = v[i]


@jit
def _offsets6(first, step):
    """(first + i*step for i < 6) as uint64 offsets."""
    o0 = np.uint64(first)
    o1 = o0 + step
    o2 = o1 + step
    o3 = o2 + step
    o4 = o3 + step
    return o0, o1, o2, o3, o4, o4 + step


# Planes are staged in a "quad" layout: pixel (r, w) of a plane with Wq column quads at
# ((r*4 + w % 4)*Wq + w // 4)*LANES + q for sample q of a tile group. Then entry (i, j) of the
# 4x4 or 6x6 windows of one tile row is a contiguous run over (tw, q), so each transform is one
# vectorized loop per tile row instead of a short loop per tile. What else keeps the loops
# vectorized (each checked in the assembly): flat arrays at uint64 offsets (numba wraps negative
# signed indices, and that check stops LLVM), no views in the loops (a view costs two reference
# count calls, opaque to LLVM), and results staged in a local array T, copied out row by row.


@jit
def _gather(src, n0, valid, ch, top, left, Wq, buf):
    """buf[((r*4 + w % 4)*Wq + w // 4)*LANES + q] = src[n0 + q, ch, r - top, w - left] for
    lanes q < valid (zeros in the others); the rest of buf (padding) is left as it is."""
    _, C, H, W = src.shape
    sf = src.reshape(src.size)
    base, stride = np.uint64((n0 * C + ch) * H * W), np.uint64(C * H * W)
    if valid < LANES:
        buf[:] = 0
    for h in range(H):
        for w in range(W):
            wp = w + left
            d = np.uint64((((h + top) * 4 + (wp & 3)) * Wq + (wp >> 2)) * LANES)
            s = base + np.uint64(h * W + w)
            for q in range(np.uint64(valid)):
                buf[d + q] = sf[s + q * stride]


@jit
def _scatter(buf, bias, dst, n0, valid, top, left, Wq):
    """dst[n0 + q, ch, h, w] = bias[ch] + what `_gather` reads from there, for q < valid and
    every channel ch, the planes one after another in buf. Sample by sample, so that dst is
    written in order."""
    _, C, H, W = dst.shape
    plane = buf.size // C
    df = dst.reshape(dst.size)
    d = np.uint64(n0 * C * H * W)
    for q in range(valid):
        for ch in range(C):
            for h in range(H):
                s = np.uint64(ch * plane + (h + top) * 4 * Wq * LANES + q)
                for w in range(W):
                    wp = w + left
                    df[d] = buf[s + np.uint64(((wp & 3) * Wq + (wp >> 2)) * LANES)] + bias[ch]
                    d += np.uint64(1)


@jit
def _window_columns(quad):
    """Where window columns j = 0..5 of a tile start in a quad-layout row: phases 0..3 of the
    tile's quad, then phases 0 and 1 of the next one."""
    lanes = np.uint64(LANES)
    return np.uint64(0), quad, quad + quad, quad + quad + quad, lanes, quad + lanes


@jit
def _lanes(n):
    """Tile lanes for n samples: whole groups of LANES."""
    return (n + LANES - 1) // LANES * LANES


@jit
def _flush(T, fill, out, start, step):
    """out[start + k*step + u] = T[k, u] for k < T.shape[0], u < fill."""
    for k in range(T.shape[0]):
        d = start + np.uint64(k) * step
        for u in range(fill):
            out[d + u] = T[k, u]


@jit
def _input_core(x, n0, n1, top, left, TH, TW, V):
    """V[:, c*P + (g*TH*TW + th*TW + tw)*LANES + q] = Bt d B, d tile (th, tw) of sample n0 +
    g*LANES + q and channel c of x zero-padded by (top, left) (zeros for samples from n1);
    P the chunk's tile lanes."""
    _, C, H, W = x.shape
    P, ks = _lanes(n1 - n0) * TH * TW, np.uint64(V.shape[1])
    Vf = V.reshape(V.size)
    Wq = TW + 1  # the 6x6 windows reach one column quad past the tiles
    buf = np.zeros((4 * TH + 2) * 4 * Wq * LANES, x.dtype)
    T = np.empty((36, TMAX), x.dtype)
    row, quad = np.uint64(4 * Wq * LANES), np.uint64(Wq * LANES)
    cols = _window_columns(quad)
    width = TW * LANES
    for g in range((n1 - n0 + LANES - 1) // LANES):
        for c in range(C):
            _gather(x, n0 + g * LANES, min(LANES, n1 - n0 - g * LANES), c, top, left, Wq, buf)
            start, fill = np.uint64(c * P + g * TH * TW * LANES), np.uint64(0)
            for th in range(TH):
                done = 0
                while done < width:
                    seg = min(width - done, TMAX - fill)
                    r = _offsets6(np.uint64(4 * th) * row + np.uint64(done), row)
                    for u in range(np.uint64(seg)):
                        u0 = _bt(*_six(buf, r, cols[0] + u))  # Bt d, column by column
                        u1 = _bt(*_six(buf, r, cols[1] + u))
                        u2 = _bt(*_six(buf, r, cols[2] + u))
                        u3 = _bt(*_six(buf, r, cols[3] + u))
                        u4 = _bt(*_six(buf, r, cols[4] + u))
                        u5 = _bt(*_six(buf, r, cols[5] + u))
                        t = fill + u  # then (.) B, row by row
                        _put(T, 0, t, _bt(u0[0], u1[0], u2[0], u3[0], u4[0], u5[0]))
                        _put(T, 6, t, _bt(u0[1], u1[1], u2[1], u3[1], u4[1], u5[1]))
                        _put(T, 12, t, _bt(u0[2], u1[2], u2[2], u3[2], u4[2], u5[2]))
                        _put(T, 18, t, _bt(u0[3], u1[3], u2[3], u3[3], u4[3], u5[3]))
                        _put(T, 24, t, _bt(u0[4], u1[4], u2[4], u3[4], u4[4], u5[4]))
                        _put(T, 30, t, _bt(u0[5], u1[5], u2[5], u3[5], u4[5], u5[5]))
                    fill += np.uint64(seg)
                    done += seg
                    if fill == TMAX:
                        _flush(T, fill, Vf, start, ks)
                        start, fill = start + fill, np.uint64(0)
            if fill:
                _flush(T, fill, Vf, start, ks)


@jit
def _output_core(M, b, n0, n1, y):
    """y[n, f, 4*th + i, 4*tw + j] = (At M[:, f*P + p] A)[i, j] + b[f], tile p as in
    `_input_core`, for samples n0 .. n1; rows and columns past y's edge are dropped."""
    _, F, OH, OW = y.shape
    TH, TW = (OH + 3) // 4, (OW + 3) // 4
    P, ks = _lanes(n1 - n0) * TH * TW, np.uint64(M.shape[1])
    Mf = M.reshape(M.size)
    plane = 4 * TH * 4 * TW * LANES
    buf = np.empty(F * plane, y.dtype)  # all F planes of a tile group, for `_scatter`
    T = np.empty((16, TMAX), y.dtype)
    width = TW * LANES
    row, quad = np.uint64(4 * width), np.uint64(width)
    for g in range((n1 - n0 + LANES - 1) // LANES):
        for f in range(F):
            for th in range(TH):
                for done in range(0, width, TMAX):
                    seg = np.uint64(min(width - done, TMAX))
                    first = np.uint64(f * P + (g * TH * TW + th * TW) * LANES + done)
                    m0 = _offsets6(first, ks)  # entries (a, 0) .. (a, 5) for a=0
                    step = np.uint64(6) * ks
                    for u in range(seg):
                        # At M, column by column: M[6a + j] for a < 6
                        r0 = _at(*_strided6(Mf, m0[0] + u, step))
                        r1 = _at(*_strided6(Mf, m0[1] + u, step))
                        r2 = _at(*_strided6(Mf, m0[2] + u, step))
                        r3 = _at(*_strided6(Mf, m0[3] + u, step))
                        r4 = _at(*_strided6(Mf, m0[4] + u, step))
                        r5 = _at(*_strided6(Mf, m0[5] + u, step))
                        _put(T, 0, u, _at(r0[0], r1[0], r2[0], r3[0], r4[0], r5[0]))
                        _put(T, 4, u, _at(r0[1], r1[1], r2[1], r3[1], r4[1], r5[1]))
                        _put(T, 8, u, _at(r0[2], r1[2], r2[2], r3[2], r4[2], r5[2]))
                        _put(T, 12, u, _at(r0[3], r1[3], r2[3], r3[3], r4[3], r5[3]))
                    o = np.uint64(f * plane) + np.uint64(4 * th) * row + np.uint64(done)
                    for k in range(16):  # pixel (i, j) at row 4*th + i, column phase j
                        d = o + np.uint64(k // 4) * row + np.uint64(k % 4) * quad
                        for u in range(seg):
                            buf[d + u] = T[k, u]
        n = n0 + g * LANES
        _scatter(buf, b, y, n, min(LANES, n1 - n), 0, 0, TW)


@jit
def _dy_core(dy, n0, n1, dM, db):
    """dM[:, f*P + p] = A dy_tile At for every 4x4 tile p of dy (zeros past its edges; the
    adjoint of `_output_core`) for samples n0 .. n1, and db[f] += the sum of those dy."""
    _, F, OH, OW = dy.shape
    TH, TW = (OH + 3) // 4, (OW + 3) // 4
    P, ks = _lanes(n1 - n0) * TH * TW, np.uint64(dM.shape[1])
    dMf = dM.reshape(dM.size)
    buf = np.zeros(4 * TH * 4 * TW * LANES, dy.dtype)
    T = np.empty((36, TMAX), dy.dtype)
    width = TW * LANES
    row, quad = np.uint64(4 * width), np.uint64(width)
    cols = _offsets6(0, quad)  # column phases j = 0..3
    for g in range((n1 - n0 + LANES - 1) // LANES):
        for f in range(F):
            _gather(dy, n0 + g * LANES, min(LANES, n1 - n0 - g * LANES), f, 0, 0, TW, buf)
            total = db[f]
            for k in range(buf.size):
                total += buf[k]
            db[f] = total
            start, fill = np.uint64(f * P + g * TH * TW * LANES), np.uint64(0)
            for th in range(TH):
                done = 0
                while done < width:
                    seg = min(width - done, TMAX - fill)
                    r = _offsets6(np.uint64(4 * th) * row + np.uint64(done), row)
                    for u in range(np.uint64(seg)):
                        # A dy, column by column (rows i < 4), then (.) At
                        c0 = _a(buf[r[0] + u], buf[r[1] + u], buf[r[2] + u], buf[r[3] + u])
                        o = cols[1] + u
                        c1 = _a(buf[r[0] + o], buf[r[1] + o], buf[r[2] + o], buf[r[3] + o])
                        o = cols[2] + u
                        c2 = _a(buf[r[0] + o], buf[r[1] + o], buf[r[2] + o], buf[r[3] + o])
                        o = cols[3] + u
                        c3 = _a(buf[r[0] + o], buf[r[1] + o], buf[r[2] + o], buf[r[3] + o])
                        t = fill + u
                        _put(T, 0, t, _a(c0[0], c1[0], c2[0], c3[0]))
                        _put(T, 6, t, _a(c0[1], c1[1], c2[1], c3[1]))
                        _put(T, 12, t, _a(c0[2], c1[2], c2[2], c3[2]))
                        _put(T, 18, t, _a(c0[3], c1[3], c2[3], c3[3]))
                        _put(T, 24, t, _a(c0[4], c1[4], c2[4], c3[4]))
                        _put(T, 30, t, _a(c0[5], c1[5], c2[5], c3[5]))
                    fill += np.uint64(seg)
                    done += seg
                    if fill == TMAX:
                        _flush(T, fill, dMf, start, ks)
                        start, fill = start + fill, np.uint64(0)
            if fill:
                _flush(T, fill, dMf, start, ks)


@jit
def _dx_core(dV, n0, n1, top, left, TH, TW, dx):
    """dx[n0 .. n1] = B dV Bt added into each tile's 6x6 window of the zero-padded input, what
    falls into the padding dropped: the adjoint of `_input_core`."""
    _, C, H, W = dx.shape
    P, ks = _lanes(n1 - n0) * TH * TW, np.uint64(dV.shape[1])
    dVf = dV.reshape(dV.size)
    Wq = TW + 1
    plane = (4 * TH + 2) * 4 * Wq * LANES
    buf = np.empty(C * plane, dx.dtype)  # all C planes of a tile group, for `_scatter`
    zeros = np.zeros(C, dx.dtype)
    T = np.empty((36, TMAX), dx.dtype)
    row, quad = np.uint64(4 * Wq * LANES), np.uint64(Wq * LANES)
    cols = _window_columns(quad)
    width = TW * LANES
    for g in range((n1 - n0 + LANES - 1) // LANES):
        buf[:] = 0
        for c in range(C):
            for th in range(TH):
                for done in range(0, width, TMAX):
                    seg = np.uint64(min(width - done, TMAX))
                    first = np.uint64(c * P + (g * TH * TW + th * TW) * LANES + done)
                    s0 = _offsets6(first, ks)
                    step = np.uint64(6) * ks
                    for u in range(seg):
                        # B dV, column by column: dV[6a + j] for a < 6, then (.) Bt
                        r0 = _b(*_strided6(dVf, s0[0] + u, step))
                        r1 = _b(*_strided6(dVf, s0[1] + u, step))
                        r2 = _b(*_strided6(dVf, s0[2] + u, step))
                        r3 = _b(*_strided6(dVf, s0[3] + u, step))
                        r4 = _b(*_strided6(dVf, s0[4] + u, step))
                        r5 = _b(*_strided6(dVf, s0[5] + u, step))
                        _put(T, 0, u, _b(r0[0], r1[0], r2[0], r3[0], r4[0], r5[0]))
                        _put(T, 6, u, _b(r0[1], r1[1], r2[1], r3[1], r4[1], r5[1]))
                        _put(T, 12, u, _b(r0[2], r1[2], r2[2], r3[2], r4[2], r5[2]))
                        _put(T, 18, u, _b(r0[3], r1[3], r2[3], r3[3], r4[3], r5[3]))
                        _put(T, 24, u, _b(r0[4], r1[4], r2[4], r3[4], r4[4], r5[4]))
                        _put(T, 30, u, _b(r0[5], r1[5], r2[5], r3[5], r4[5], r5[5]))
                    # one loop per window entry: neighbouring windows overlap, one loop does not
                    o = np.uint64(c * plane) + np.uint64(4 * th) * row + np.uint64(done)
                    for k in range(36):
                        d = o + np.uint64(k // 6) * row + cols[k % 6]
                        for u in range(seg):
                            buf[d + u] += T[k, u]
        n = n0 + g * LANES
        _scatter(buf, zeros, dx, n, min(LANES, n1 - n), top, left, Wq)
