"""The LSTM and tanh RNN kernels on 1 and 2 threads.

Both cores split the batch into blocks of `rnn.BLOCK` samples (the last one shorter), each
running its whole recurrence, and add the blocks' shares of dW and db in block order (on one
thread, or with one block, the wrappers run the same blocks themselves, without a parallel
region); so their results must be the same bits on 1 and 2 threads, and match the float64
reference in `reference_recurrent.py` on either. Shapes: batch 1, one block exactly, batches
that are not a multiple of the block (a last block of 1 and of 3 samples), several blocks,
T = 1, D = 1.
Tolerances as in `test_kernel_lstm.py` and `test_kernel_rnn.py`: float32 `rtol = 1e-5`,
`atol = 1e-6 * K`, K the terms summed into one output entry.
"""

import numpy as np
import pytest
import reference_recurrent as ref

from tuidl.kernels import threads
from tuidl.kernels.lstm import lstm_backward, lstm_forward
from tuidl.kernels.rnn import BLOCK, rnn_backward, rnn_forward

RTOL_32 = 1e-5
ATOL_PER_TERM_32 = 1e-6
COUNTS = [1, 2] if threads.most() >= 2 else [1]
needs_two = pytest.mark.skipif(threads.most() < 2, reason="numba runs one thread here")

SHAPES = {  # (N, T, D, H)
    "batch1": (1, 5, 3, 6),
    "one_block": (BLOCK, 4, 2, 5),
    "last_block_of_1": (BLOCK + 1, 6, 3, 4),
    "last_block_of_3": (2 * BLOCK + 3, 7, 5, 9),
    "four_blocks_T1": (4 * BLOCK, 1, 3, 8),
    "D1": (BLOCK + 5, 6, 1, 7),
}
CASES = [pytest.param(*shape, id=name) for name, shape in SHAPES.items()]
KERNELS = {  # gates per step, forward, backward, reference forward and backward
    "lstm": (4, lstm_forward, lstm_backward, ref.lstm_forward, ref.lstm_backward),
    "rnn": (1, rnn_forward, rnn_backward, ref.rnn_forward, ref.rnn_backward),
}


@pytest.fixture(autouse=True)
def one_thread_after():
    yield
    threads.set_threads(1)


def run(kind, problem, count, need_dx=True):
    """h, dx, dW_x, dW_h, db of the kernel in float32 on `count` threads, as copies."""
    _, forward, backward, _, _ = KERNELS[kind]
    x, W_x, W_h, b, dh_seq = (a.astype(np.float32) for a in problem)
    threads.set_threads(count)
    h, cache = forward(x, W_x, W_h, b)
    h = h.copy()  # a view of the cache
    dx, dW_x, dW_h, db = backward(dh_seq, x, W_x, W_h, cache, need_dx)
    return {"h": h, "dx": dx, "dW_x": dW_x, "dW_h": dW_h, "db": db}


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("kind", list(KERNELS))
@pytest.mark.parametrize("N, T, D, H", CASES)
def test_matches_reference_on_each_thread_count(kind, N, T, D, H, count, seed):
    gates, _, _, ref_forward, ref_backward = KERNELS[kind]
    problem = ref.random_problem(np.random.default_rng(seed), N, T, D, H, gates=gates)
    x, W_x, W_h, b, dh_seq = problem
    h_ref, steps = ref_forward(x, W_x, W_h, b)
    want = dict(
        zip(["dx", "dW_x", "dW_h", "db"], ref_backward(dh_seq, W_x, W_h, steps), strict=True)
    )
    want["h"] = h_ref
    got = run(kind, problem, count)
    K = {"h": D + H, "dx": gates * H, "dW_x": N * T, "dW_h": N * T, "db": N * T}
    for name, expected in want.items():
        np.testing.assert_allclose(
            got[name],
            expected,
            rtol=RTOL_32,
            atol=ATOL_PER_TERM_32 * K[name],
            err_msg=f"seed={seed} {kind} {count} threads: {name}",
        )


@needs_two
@pytest.mark.parametrize("need_dx", [True, False], ids=["dx", "no_dx"])
@pytest.mark.parametrize("kind", list(KERNELS))
@pytest.mark.parametrize("N, T, D, H", CASES)
def test_one_and_two_threads_give_the_same_bits(kind, N, T, D, H, need_dx, seed):
    gates = KERNELS[kind][0]
    problem = ref.random_problem(np.random.default_rng(seed), N, T, D, H, gates=gates)
    one, two = run(kind, problem, 1, need_dx), run(kind, problem, 2, need_dx)
    for name, value in one.items():
        if value is None:
            assert two[name] is None and not need_dx
            continue
        np.testing.assert_array_equal(two[name], value, err_msg=f"seed={seed} {kind}: {name}")


@pytest.mark.parametrize("kind", list(KERNELS))
def test_repeat_runs_on_two_threads_give_the_same_bits(kind, seed):
    # a reused cache, as the layers pass it: every block rewrites all it reads
    gates, forward, backward, _, _ = KERNELS[kind]
    problem = ref.random_problem(np.random.default_rng(seed), 3 * BLOCK + 2, 9, 4, 7, gates=gates)
    x, W_x, W_h, b, dh_seq = (a.astype(np.float32) for a in problem)
    threads.set_threads(COUNTS[-1])
    runs, cache = [], None
    for _ in range(3):
        h, cache = forward(x, W_x, W_h, b, cache)
        runs.append((h.copy(), *backward(dh_seq, x, W_x, W_h, cache, True)))
    for later in runs[1:]:
        for a, b_ in zip(runs[0], later, strict=True):
            np.testing.assert_array_equal(a, b_, err_msg=f"seed={seed} {kind}")
