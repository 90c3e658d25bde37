"""Compiling the kernels a run uses before its first step, with progress to show.

numba compiles each kernel at its first call (and caches it on disk): with an empty cache,
digits-cnn's first step took about 18 s while the screen said nothing. `compile_kernels`
makes those first calls on purpose — a forward and backward pass of two samples, layer by
layer, then the evaluation pass and the diagnostics (an epoch end's histograms too) — on a
copy of the trainer's model, so the run itself (weights, random streams, batchnorm
statistics) is untouched and stays bit-for-bit the same as one without the warm-up.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from .diagnostics import StepNorms
from .histograms import measure, weight_limits

WARM_SAMPLES = 2


def compiling_text(done: int, total: int) -> str:
    """What a terminal shows meanwhile: `compiling kernels (first start only) 3/15`."""
    return f"compiling kernels (first start only) {done}/{total}"


def compile_kernels(trainer, report: Callable[[int, int], None]) -> None:
    """Run every layer's kernels once on a copy of `trainer.model`.

    Args:
        trainer: a built `Trainer`.
        report: called with (passes done, passes in all) before each pass: a forward and a
            backward pass per layer, then the evaluation and diagnostics pass.
    """
    model = copy.deepcopy(trainer.model)
    layers = model.run_layers
    total = 2 * len(layers) + 1
    x = trainer.dataset.x_train[:WARM_SAMPLES]
    t = trainer.dataset.y_train[:WARM_SAMPLES]
    y = x
    for k, layer in enumerate(layers):
        report(k, total)
        y = layer.forward(y, True)
    model.loss.forward(y, t)
    dy = model.loss.backward()
    for k, layer in enumerate(reversed(layers), len(layers)):
        report(k, total)
        dy = layer.backward(dy)
    report(total - 1, total)
    model.predict(x)
    norms = StepNorms(model)
    norms.before()
    norms.after()
    measure(model, x, t, weight_limits(model))
    report(total, total)
