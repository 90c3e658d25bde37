"""Per-layer histograms of activations, parameter gradients and weights, on fixed bins.

Every epoch record of `metrics.jsonl`, and the epoch-0 record written before the first update,
holds `hist`: `{"act": {layer: H}, "grad": {layer: H}, "weight": {layer: H}}`, where each H is

    {"scale": "linear" | "log10", "edges": [lo, hi], "bins": n, "counts": [n whole numbers],
     "below": values under lo, "above": values over hi}

plus, for `log10`, `"zeros"` (values exactly 0, which have no logarithm), and `"nan"` when any
value is NaN. Bin k holds lo + k·w <= v < lo + (k+1)·w, w = (hi - lo) / n, the last bin also
v = hi (`numpy.histogram`'s bins), so counts + below + above (+ zeros, + nan) is the number of
values. The bins are fixed, the same at every epoch and in every run, so that a layer's
histograms compare over time and between runs:

- activations: each layer's output on the probe samples (`Trainer.probe_data`), in evaluation
  mode, the outputs the `act` statistics describe: sigmoid, rbm and softmax over [0, 1], tanh
  over [-1, 1] (their whole ranges, as in Glorot & Bengio 2010's figures), every other layer
  over [-5, 5] (five standard deviations of a unit-variance activation), in `BINS` bins;
- gradients: log10 |g| of all the layer's parameter gradients together, over
  `GRADIENT_DECADES` (1e-7 to 1e2, the scale of the app's gradient bars and heatmap), four bins
  a decade; exact zeros (a dead unit's weights) counted apart. They are the gradient of the
  loss on the probe samples in training mode, at the weights the epoch ended with (at epoch 0:
  the initial weights, where no step has a gradient yet): the same samples every epoch, so
  only the weights change between two of them;
- weights: all the layer's parameters together, over [-R, R] in `BINS` bins, R = 4 x the RMS
  of the layer's initial parameters rounded up to 1, 2 or 5 x 10^k (`weight_limits`, from the
  weights as built from the seed, before any pretraining, so a resumed run has the same R).

The gradient pass changes nothing the run depends on (`untouched`): no random number is drawn
(each layer's stream is put back), batch norm's running statistics and the gradient buffer
are restored, and the optimizer is not involved, so a run is the same bit for bit with them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .diagnostics import layer_stats
from .kernels.histogram import histogram_counts
from .layers import RBM, Sigmoid, Softmax, Tanh
from .layers.base import Layer
from .model import Sequential
from .render.charts import GRADIENT_DECADES

BINS = 40  # bins of the activation and weight histograms
BINS_PER_DECADE = 4
ACT_LIMIT = 5.0  # activations without a bounded range: [-ACT_LIMIT, ACT_LIMIT]
WEIGHT_SPREAD = 4.0  # the weight range's half-width, in RMS of the initial weights
KINDS = ("act", "grad", "weight")


def histogram(values: np.ndarray, lo: float, hi: float, bins: int) -> dict[str, Any]:
    """The record of `values` counted in `bins` equal bins over [lo, hi] (see the module)."""
    counts, below, above, nan = histogram_counts(values, lo, hi, bins)
    return _record("linear", lo, hi, counts, below, above, nan)


def log_histogram(values: np.ndarray, decades: tuple[int, int] = GRADIENT_DECADES) -> dict:
    """The record of log10 |values| in `BINS_PER_DECADE` bins a decade over `decades`; zeros
    are counted apart (see the module)."""
    values = np.abs(np.ascontiguousarray(values).reshape(-1))
    nonzero = values[values != 0]
    lo, hi = decades
    with np.errstate(divide="ignore"):  # inf (log10 of inf) counts as above
        logs = np.log10(nonzero)
    counts, below, above, nan = histogram_counts(logs, lo, hi, (hi - lo) * BINS_PER_DECADE)
    record = _record("log10", lo, hi, counts, below, above, nan)
    record["zeros"] = int(values.size - nonzero.size)
    return record


def _record(scale, lo, hi, counts, below, above, nan) -> dict[str, Any]:
    record = {"scale": scale, "edges": [float(lo), float(hi)], "bins": int(counts.size),
              "counts": counts.tolist(), "below": below, "above": above}  # fmt: skip
    if nan:
        record["nan"] = nan
    return record


def activation_range(layer: Layer) -> tuple[float, float]:
    """The fixed range of `layer`'s activation histograms (see the module)."""
    if isinstance(layer, Sigmoid | RBM | Softmax):
        return 0.0, 1.0
    if isinstance(layer, Tanh):
        return -1.0, 1.0
    return -ACT_LIMIT, ACT_LIMIT


def nice_ceil(value: float) -> float:
    """The smallest of 1, 2 and 5 x 10^k not below `value` > 0."""
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value * (1 - 1e-12))


def weight_limits(model: Sequential) -> dict[str, float]:
    """R of each parameterised layer's weight range [-R, R], from its parameters now (the
    initial ones): `WEIGHT_SPREAD` x their RMS, rounded up by `nice_ceil`; 1 when all are 0."""
    limits = {}
    for name, part in model.layer_slices.items():
        rms = math.sqrt(float(np.mean(np.square(model.flat_params[part], dtype=np.float64))))
        limits[name] = nice_ceil(WEIGHT_SPREAD * rms) if rms > 0 else 1.0
    return limits


@contextlib.contextmanager
def untouched(model: Sequential) -> Iterator[None]:
    """Inside, a training-mode pass may run: on leaving, the model's random streams (dropout
    masks), its state (batch norm's running statistics) and its gradient buffer are as they
    were, so the run goes on as if it never happened. The layers' caches for backward are
    not kept: the next training step's forward pass makes them afresh."""
    grads = model.flat_grads.copy()
    state = {key: value.copy() for key, value in model.state().items()}
    rngs = [layer.rng for layer in model.layers if hasattr(layer, "rng")]  # as checkpoints do
    streams = [(rng, rng.bit_generator.state) for rng in rngs]
    try:
        yield
    finally:
        model.flat_grads[...] = grads
        for key, value in model.state().items():
            value[...] = state[key]
        for rng, saved in streams:
            rng.bit_generator.state = saved


def measure(
    model: Sequential, x: np.ndarray, t: np.ndarray, limits: dict[str, float]
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, dict[str, Any]]]]:
    """The `act` statistics and the `hist` histograms of an epoch record (see the module).

    Args:
        model: the built model, as the epoch left it (left so: `untouched`).
        x: (N, *input_shape) probe inputs; t: their N targets.
        limits: each parameterised layer's weight range R (`weight_limits`).

    Returns:
        (act: layer -> `layer_stats`, hist: kind -> layer -> histogram record).
    """
    act, activations = {}, {}
    y = x
    for layer in model.layers:
        y = layer.forward(y, train=False)
        act[layer.name] = layer_stats(layer, y)
        activations[layer.name] = histogram(y, *activation_range(layer), BINS)
    hist = {"act": activations, "grad": {}, "weight": {}}
    if not model.layer_slices:
        return act, hist
    with untouched(model):
        model.loss_and_grads(x, t)
        for name, part in model.layer_slices.items():
            hist["grad"][name] = log_histogram(model.flat_grads[part])
    for name, part in model.layer_slices.items():
        hist["weight"][name] = histogram(model.flat_params[part], -limits[name], limits[name], BINS)
    return act, hist


def histogram_problem(record: Any) -> str | None:
    """What is wrong with a histogram record read from a file, or None: the view draws only
    whole ones (a name of the field and what it must be)."""
    if not isinstance(record, dict):
        return "a histogram must be an object"
    edges, bins, counts = record.get("edges"), record.get("bins"), record.get("counts")
    if not (
        isinstance(edges, list)
        and len(edges) == 2
        and all(_is_number(e) and math.isfinite(e) for e in edges)
        and edges[0] < edges[1]
    ):
        return "a histogram's edges must be two increasing numbers"
    if not _is_count(bins) or bins < 1:
        return "a histogram's bins must be a whole number >= 1"
    if not isinstance(counts, list) or len(counts) != bins or not all(map(_is_count, counts)):
        return "a histogram's counts must be bins whole numbers >= 0"
    for key in ("below", "above", "zeros", "nan"):
        if key in record and not _is_count(record[key]):
            return f"a histogram's {key} must be a whole number >= 0"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
