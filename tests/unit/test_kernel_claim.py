"""Block claims (`kernels/claim.py`): every block to exactly one task, each task's own share
first and in order, another's only while two of its blocks are left."""

import numpy as np
import pytest

from tuidl.kernels import threads
from tuidl.kernels.claim import claim, counters


def drain(claims, task, blocks):
    taken = []
    while (k := claim(claims, task, blocks)) < blocks:
        taken.append(k)
    return taken


def test_a_task_alone_takes_its_share_then_all_but_the_last_of_another():
    claims = counters(2)
    first = drain(claims, 0, 16)
    assert first == list(range(8)) + list(range(8, 15))
    assert drain(claims, 1, 16) == [15]
    assert drain(claims, 0, 16) == drain(claims, 1, 16) == []


@pytest.mark.parametrize(("tasks", "blocks"), [(1, 1), (2, 1), (3, 2), (2, 16), (3, 32), (4, 7)])
def test_every_block_goes_to_one_task_whatever_the_order(tasks, blocks, seed):
    rng = np.random.default_rng(seed)
    claims = counters(tasks)
    taken: list[list[int]] = [[] for _ in range(tasks)]  # each task's blocks, as it claimed them
    live = list(range(tasks))
    while live:  # tasks claim one block at a time, in a random order, until each finds none
        task = int(rng.choice(live))
        k = claim(claims, task, blocks)
        if k == blocks:
            live.remove(task)
        else:
            taken[task].append(k)
    assert sorted(k for blocks_of in taken for k in blocks_of) == list(range(blocks))
    for task, got in enumerate(taken):  # its own share first, in order, then any others
        share = range(task * blocks // tasks, (task + 1) * blocks // tasks)
        own = [k for k in got if k in share]
        assert got[: len(own)] == own == sorted(own)


def test_the_direct_convolution_on_2_threads_claims_every_block_once():
    """On real threads: a convolution whose blocks all run (any block left out or run twice
    would leave or corrupt its samples' outputs) matches the one on 1 thread bit for bit."""
    from tuidl.kernels import conv2d

    if threads.most() < 2:
        pytest.skip("needs 2 threads")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 8, 14, 14)).astype(np.float32)
    W = rng.standard_normal((16, 8, 5, 5)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    results = []
    for count in (1, 2, 2):
        threads.set_threads(count)
        try:
            y, ws = conv2d.conv2d_forward_train(x, W, b, 1, (0, 0, 0, 0), method="direct")
            dx, dW, db = conv2d.conv2d_backward(y, x, W, 1, (0, 0, 0, 0), True, workspace=ws)
        finally:
            threads.set_threads(1)
        results.append((y, dx, dW, db))
    for got in results[1:]:
        for a, e in zip(got, results[0], strict=True):
            np.testing.assert_array_equal(a, e)
