"""Time the LSTM and RNN kernels against plain numpy, forward + full BPTT backward.

The numpy baseline is `tests/reference_recurrent.py` run in float32: the textbook algorithm with
per-step GEMMs and numpy's vectorized exp/tanh. Every step gets an upstream gradient. The
kernels run as the layers call them, overwriting the previous cache (the last row allocates a
new one each call instead, which costs a page fault per 4 KB of first write). Prints a
markdown table of medians and minima (perf_counter, after warm-up, kernel and numpy timed in
alternating blocks). BLAS threads are fixed when numpy loads, so set them from the shell:

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_kernels_recurrent.py
    OPENBLAS_NUM_THREADS=2 python benchmarks/bench_kernels_recurrent.py --repeats 40
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tuidl.kernels.lstm import lstm_backward, lstm_forward
from tuidl.kernels.rnn import rnn_backward, rnn_forward

REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "reference_recurrent.py"


def load_reference():
    spec = importlib.util.spec_from_file_location("reference_recurrent", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def paired_ms(
    kernel: Callable[[], object],
    baseline: Callable[[], object],
    repeats: int,
    rounds: int = 3,
    warmup: int = 3,
) -> tuple[float, float, float, float]:
    """Median and min milliseconds of `kernel` and `baseline`, timed in alternating blocks.

    Alternating blocks lets both see the same load on a shared machine. Each block warms up
    first and holds calls of one side only: numba calls scipy's OpenBLAS and numpy its own
    copy, and with OPENBLAS_NUM_THREADS > 1 the idle copy's threads keep spinning for a while
    after each call, which slowed whichever side ran next when calls alternated one by one.
    """
    times: tuple[list[float], list[float]] = ([], [])
    per_round = max(1, repeats // rounds)
    for _ in range(rounds):
        for fn, out in zip((kernel, baseline), times, strict=True):
            for _ in range(warmup):
                fn()
            for _ in range(per_round):
                start = time.perf_counter()
                fn()
                out.append(time.perf_counter() - start)
    k, b = (1e3 * np.array(t) for t in times)
    return float(np.median(k)), float(k.min()), float(np.median(b)), float(b.min())


def make_inputs(rng: np.random.Generator, N: int, T: int, D: int, H: int, gates: int):
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    W_x = (rng.standard_normal((D, gates * H)) / np.sqrt(D)).astype(np.float32)
    W_h = (rng.standard_normal((H, gates * H)) / np.sqrt(H)).astype(np.float32)
    b = np.zeros(gates * H, np.float32)
    dh = rng.standard_normal((N, T, H)).astype(np.float32)
    return x, W_x, W_h, b, dh


def bench(name, forward, backward, ref_forward, ref_backward, gates, sizes, repeats):
    N, T, D, H = sizes
    x, W_x, W_h, b, dh = make_inputs(np.random.default_rng(0), N, T, D, H, gates)

    # As the layers call them: each forward overwrites the previous cache (`reuse`).
    _, cache = forward(x, W_x, W_h, b)

    def kernel_fwd():
        return forward(x, W_x, W_h, b, reuse=cache)

    def kernel_bwd():
        return backward(dh, x, W_x, W_h, cache, True)

    def kernel_both():
        _, c = forward(x, W_x, W_h, b, reuse=cache)
        return backward(dh, x, W_x, W_h, c, True)

    def kernel_both_fresh():
        _, c = forward(x, W_x, W_h, b)
        return backward(dh, x, W_x, W_h, c, True)

    def numpy_fwd():
        return ref_forward(x, W_x, W_h, b)

    _, steps = numpy_fwd()

    def numpy_bwd():
        return ref_backward(dh, W_x, W_h, steps)

    def numpy_both():
        _, s = ref_forward(x, W_x, W_h, b)
        return ref_backward(dh, W_x, W_h, s)

    rows = []
    for part, k, n in [
        ("forward", kernel_fwd, numpy_fwd),
        ("backward", kernel_bwd, numpy_bwd),
        ("fwd+bwd", kernel_both, numpy_both),
        ("fwd+bwd, new cache arrays", kernel_both_fresh, numpy_both),
    ]:
        tk, tk_min, tn, tn_min = paired_ms(k, n, repeats)
        kernel_ms = f"{tk:.2f} ({tk_min:.2f})"
        numpy_ms = f"{tn:.2f} ({tn_min:.2f})"
        rows.append(f"| {name} | {part} | {kernel_ms} | {numpy_ms} | {tn / tk:.2f}x |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--N", type=int, default=64)
    parser.add_argument("--T", type=int, default=50)
    parser.add_argument("--D", type=int, default=32)
    parser.add_argument("--H", type=int, default=128)
    args = parser.parse_args()
    sizes = (args.N, args.T, args.D, args.H)
    ref = load_reference()
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    print(
        f"float32, N={args.N} T={args.T} D={args.D} H={args.H}, gradient on every step, "
        f"OPENBLAS_NUM_THREADS={threads}, median of {args.repeats} (3 blocks each)\n"
    )
    print("| cell | pass | numba kernel ms, median (min) | numpy ms, median (min) | speed-up |")
    print("|---|---|---:|---:|---:|")
    for row in bench(
        "lstm",
        lstm_forward,
        lstm_backward,
        ref.lstm_forward,
        ref.lstm_backward,
        4,
        sizes,
        args.repeats,
    ):
        print(row)
    for row in bench(
        "rnn",
        rnn_forward,
        rnn_backward,
        ref.rnn_forward,
        ref.rnn_backward,
        1,
        sizes,
        args.repeats,
    ):
        print(row)


if __name__ == "__main__":
    main()
