"""Time the conv2d and pool2d kernels against plain-numpy references; print a markdown table.

Usage: python benchmarks/bench_kernels_image.py [--threads 1] [--repeats 30]

Each row is the median of `--repeats` timed forward+backward passes after two warm-up calls
(the first compiles or loads the numba cache), with the minor page faults per call: fresh
memory from the OS costs ~2.5 us per 4 KiB page on this VM, so they explain slow rows.
`--threads` sets OPENBLAS_NUM_THREADS before numpy loads; the numba cores are serial, so only
the BLAS matmuls use more than one thread. The numpy conv reference is im2col with a
(C*KH*KW, N*OH*OW) column matrix filled by one strided slice copy per tap, so each pass is one
matmul; the pool references work on the four strided views of the 2x2 windows.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

CONV_CASES = {
    # name: (x shape, W shape, pad, need_dx)
    "conv A, first layer (no dx)": ((64, 1, 28, 28), (8, 1, 5, 5), (2, 2, 2, 2), False),
    "conv A, with dx": ((64, 1, 28, 28), (8, 1, 5, 5), (2, 2, 2, 2), True),
    "conv B, with dx": ((64, 16, 14, 14), (32, 16, 3, 3), (1, 1, 1, 1), True),
}
POOL_SHAPE = (64, 16, 28, 28)


def numpy_conv(np):
    """Forward+backward im2col convolution in plain numpy (stride 1)."""

    def im2col(x, KH, KW, pad):
        N, C, H, W = x.shape
        OH, OW = H + pad[0] + pad[1] - KH + 1, W + pad[2] + pad[3] - KW + 1
        xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[1]), (pad[2], pad[3]))).transpose(1, 0, 2, 3)
        col = np.empty((C, KH, KW, N, OH, OW), x.dtype)
        for kh in range(KH):
            for kw in range(KW):
                col[:, kh, kw] = xp[:, :, kh : kh + OH, kw : kw + OW]
        return col.reshape(C * KH * KW, -1), OH, OW

    def run(x, W, b, pad, dy, need_dx):
        F, C, KH, KW = W.shape
        N = x.shape[0]
        col, OH, OW = im2col(x, KH, KW, pad)
        Wm = W.reshape(F, -1)
        y = (Wm @ col).reshape(F, N, OH, OW).transpose(1, 0, 2, 3) + b[:, None, None]
        y = np.ascontiguousarray(y)
        d = dy.transpose(1, 0, 2, 3).reshape(F, -1)
        db = d.sum(axis=1)
        dW = (d @ col.T).reshape(W.shape)
        if need_dx:
            dcol = (Wm.T @ d).reshape(C, KH, KW, N, OH, OW)
            dxp = np.zeros((C, N, OH + KH - 1, OW + KW - 1), x.dtype)
            for kh in range(KH):
                for kw in range(KW):
                    dxp[:, :, kh : kh + OH, kw : kw + OW] += dcol[:, kh, kw]
            H, Wd = x.shape[2:]
            dx = np.ascontiguousarray(
                dxp[:, :, pad[0] : pad[0] + H, pad[2] : pad[2] + Wd].transpose(1, 0, 2, 3)
            )
            return y, dx, dW, db
        return y, None, dW, db

    return run


def numpy_pools(np):
    """2x2/2 max and avg pooling in plain numpy on the four strided views of each window."""

    def views(x):
        return x[:, :, ::2, ::2], x[:, :, ::2, 1::2], x[:, :, 1::2, ::2], x[:, :, 1::2, 1::2]

    def maxpool(x, dy):
        a, b, c, d = views(x)
        y = np.maximum(np.maximum(a, b), np.maximum(c, d))
        first = np.where(a == y, 0, np.where(b == y, 1, np.where(c == y, 2, 3)))  # first max
        dx = np.empty_like(x)
        for k, (rows, cols) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
            dx[:, :, rows::2, cols::2] = np.where(first == k, dy, 0)
        return y, dx

    def avgpool(x, dy):
        a, b, c, d = views(x)
        y = (a + b + c + d) * 0.25
        dx = np.empty_like(x)
        g = dy * 0.25
        for rows, cols in ((0, 0), (0, 1), (1, 0), (1, 1)):
            dx[:, :, rows::2, cols::2] = g
        return y, dx

    return maxpool, avgpool


def median_ms(fn, repeats: int) -> tuple[float, float]:
    """Median milliseconds per call, and minor page faults per call (fresh memory costs here)."""
    fn()
    fn()
    times = []
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return 1e3 * statistics.median(times), faults / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="OPENBLAS_NUM_THREADS")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)  # before numpy loads OpenBLAS

    import numpy as np

    from tuidl.kernels import conv2d, pool2d

    rng = np.random.default_rng(0)
    rows = []
    ref_conv = numpy_conv(np)
    for name, (x_shape, w_shape, pad, need_dx) in CONV_CASES.items():
        x = rng.standard_normal(x_shape, np.float32)
        W = rng.standard_normal(w_shape, np.float32)
        b = rng.standard_normal(w_shape[0], np.float32)
        dy = rng.standard_normal(conv2d.conv2d_forward(x, W, b, 1, pad).shape, np.float32)

        spare = {}  # the previous step's workspace, recycled as the Conv2D layer does

        def ours(method, x=x, W=W, b=b, pad=pad, dy=dy, need_dx=need_dx, spare=spare):
            y, ws = conv2d.conv2d_forward_train(
                x, W, b, 1, pad, method=method, reuse=spare.get(method)
            )
            spare[method] = ws
            return conv2d.conv2d_backward(dy, x, W, 1, pad, need_dx, workspace=ws)

        base, faults = median_ms(lambda: ref_conv(x, W, b, pad, dy, need_dx), args.repeats)  # noqa: B023
        rows.append((name, "numpy im2col", base, base, faults))
        auto = conv2d.conv2d_forward_train(x, W, b, 1, pad)[1].method
        for method in ("direct", "gemm"):
            ms, faults = median_ms(lambda m=method: ours(m), args.repeats)
            label = f"tuidl {method}" + (" (auto)" if method == auto else "")
            rows.append((name, label, ms, base, faults))

    x = rng.standard_normal(POOL_SHAPE, np.float32)
    dy = rng.standard_normal((*POOL_SHAPE[:2], POOL_SHAPE[2] // 2, POOL_SHAPE[3] // 2), np.float32)
    np_max, np_avg = numpy_pools(np)

    def ours_max():
        y, argmax = pool2d.maxpool2d_forward(x, 2, 2)
        return pool2d.maxpool2d_backward(dy, argmax, x.shape)

    def ours_avg():
        pool2d.avgpool2d_forward(x, 2, 2)
        return pool2d.avgpool2d_backward(dy, x.shape, 2, 2)

    for name, ref, ours in (
        ("maxpool 2x2/2", np_max, ours_max),
        ("avgpool 2x2/2", np_avg, ours_avg),
    ):
        base, faults = median_ms(lambda ref=ref: ref(x, dy), args.repeats)
        rows.append((name, "numpy strided views", base, base, faults))
        ms, faults = median_ms(ours, args.repeats)
        rows.append((name, "tuidl", ms, base, faults))

    print(f"OPENBLAS_NUM_THREADS={args.threads}, median of {args.repeats}, forward+backward\n")
    print("| case | implementation | ms | vs numpy | page faults/call |")
    print("|---|---|---:|---:|---:|")
    for name, impl, ms, base, faults in rows:
        print(f"| {name} | {impl} | {ms:.3f} | {ms / base:.2f}x | {faults:.0f} |")


if __name__ == "__main__":
    main()
