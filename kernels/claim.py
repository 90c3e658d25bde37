"""Blocks of a parallel core: each thread's own share first, then what another has not reached.

numba's `prange` (OpenMP layer) gives each thread an equal share of the iterations before
they start, so a region lasts as long as its slowest thread: on a VM whose host lends one of
its cores elsewhere for a while, the other thread waits at the region's end. A core that
claims instead runs one task per thread; task t takes the blocks of its own share in order
(the samples every static core gives thread t, still in that core's cache), then blocks of
another share while two or more of them are unclaimed. Each block writes its own outputs and
partials, added in block order after the region, so the bits do not depend on which thread
ran which block.

The direct convolution claims (`direct.py`): LeNet's training step on 2 threads took 0.89-1.00
of the static split's time in 10 in-process A/B runs on a shared 2-core VM (median 0.97; the
noisier the minute, the larger the gain), the same on 1 thread. Taking blocks in any order
(one shared counter) cost 3-4 % there instead: the samples then move between the cores'
caches from layer to layer. The pools' short regions (30 us) ran 5-8 % slower claiming, and
keep `prange`'s split.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._flags import jit


def _counter_op(operation):
    """An intrinsic `f(counters, index)` -> int64 that runs `operation(builder, pointer)` on
    the int64 counters[index] (monotonic order: the blocks' results are published by the
    region's closing barrier, not by the counters)."""

    def typer(typingctx, counters, index):
        if not (isinstance(counters, types.Array) and counters.dtype == types.int64):
            return None

        def codegen(context, builder, signature, args):
            array = context.make_array(signature.args[0])(context, builder, args[0])
            return operation(builder, builder.gep(array.data, [args[1]]))

        return types.int64(counters, types.intp), codegen

    return intrinsic(typer)


# counters[index] += 1 as one atomic operation, returning the value before
_fetch_add = _counter_op(
    lambda builder, slot: builder.atomic_rmw(
        "add", slot, ir.Constant(ir.IntType(64), 1), "monotonic"
    )
)
# counters[index] read as one atomic load (another task may be adding to it meanwhile)
_peek = _counter_op(lambda builder, slot: builder.load_atomic(slot, "monotonic", 8))


# int64s from one counter to the next: each on its own 64-byte line, so a task's claims do not
# take the line from under the other tasks' (and their atomic adds stay cheap)
LINE = 8


@jit
def counters(tasks):
    """One claim counter per task, at 0."""
    return np.zeros(tasks * LINE, np.int64)


@jit
def claim(counters, task, blocks):
    """The next block for `task` of the tasks sharing `blocks` blocks (one counter each in
    `counters`); `blocks` once none is left."""
    tasks = counters.shape[0] // LINE
    for i in range(tasks):
        j = (task + i) % tasks
        start, end = j * blocks // tasks, (j + 1) * blocks // tasks
        # another task's share only while it has two blocks left unclaimed: its last one is
        # about to be its own next, and taking it would only move its data between caches
        if i > 0 and end - start - _peek(counters, j * LINE) < 2:
            continue
        k = start + _fetch_add(counters, j * LINE)
        if k < end:
            return k
    return blocks
