"""What the trainer measures besides the loss: gradient norms, update ratios, activation health.

Thresholds for the named alerts (the UI and `tuidl run` show them as they are):
- vanishing: a layer's gradient norm below `VANISHING_RATIO` of the largest layer's;
- exploding: a layer's gradient norm above `EXPLODING_NORM` (or not finite);
- dead_relu: more than `DEAD_FRACTION` of a relu layer's units output 0 on every probe sample.
"""

from __future__ import annotations

import math

import numpy as np

from .kernels.norms import save_and_norms, update_ratios
from .layers import RBM, ReLU, Sigmoid, Tanh
from .model import Sequential

VANISHING_RATIO = 1e-6
EXPLODING_NORM = 1e3
DEAD_FRACTION = 0.5
SATURATION = 0.98  # |tanh| above this, or sigmoid outside [1 - this, this], counts as saturated


class StepNorms:
    """Per-layer gradient norms and update ratios ‖Δw‖/‖w‖ of one optimizer step.

    `before()` (after backward, before the optimizer) copies the model's flat parameter buffer
    and returns the gradient L2 norm of every parameterised layer, all its arrays together;
    `after()` returns the update ratios. Each is one numba pass over the flat buffers, so a
    logged step allocates nothing and costs a few microseconds whatever the layer count.
    """

    def __init__(self, model: Sequential) -> None:
        self.model = model
        self.names = list(model.layer_slices)
        parts = list(model.layer_slices.values())
        self.starts = np.array([part.start for part in parts], np.int64)
        self.ends = np.array([part.stop for part in parts], np.int64)
        self.saved = model.flat_params.copy()
        self.weight_sq = np.zeros(len(parts))
        self.grad_sq = np.zeros(len(parts))
        self.ratios = np.zeros(len(parts))

    def before(self) -> dict[str, float]:
        model = self.model
        save_and_norms(model.flat_params, model.flat_grads, self.saved, self.starts, self.ends,
                       self.weight_sq, self.grad_sq)  # fmt: skip
        return dict(zip(self.names, np.sqrt(self.grad_sq).tolist(), strict=True))

    def after(self) -> dict[str, float]:
        update_ratios(self.model.flat_params, self.saved, self.starts, self.ends, self.weight_sq,
                      self.ratios)  # fmt: skip
        return dict(zip(self.names, self.ratios.tolist(), strict=True))


def activation_stats(model: Sequential, x: np.ndarray) -> dict[str, dict[str, float]]:
    """Mean and std of every layer's output on probe inputs `x` (evaluation mode).

    Sigmoid, rbm and tanh layers add `saturated` (fraction of outputs near their limits); relu
    layers add `dead` (fraction of units that output 0 for every probe sample).
    """
    stats = {}
    for layer in model.layers:
        x = layer.forward(x, train=False)
        entry = {"mean": float(x.mean()), "std": float(x.std())}
        if isinstance(layer, Sigmoid | RBM):
            entry["saturated"] = float(np.mean((x < 1 - SATURATION) | (x > SATURATION)))
        elif isinstance(layer, Tanh):
            entry["saturated"] = float(np.mean(np.abs(x) > SATURATION))
        elif isinstance(layer, ReLU):
            entry["dead"] = float(np.mean(np.all(x <= 0, axis=0)))
        stats[layer.name] = entry
    return stats


def gradient_alerts(grad_norms: dict[str, float]) -> list[dict[str, object]]:
    """Vanishing and exploding gradient alerts for one step's per-layer norms."""
    if not grad_norms:
        return []
    largest = max(grad_norms.values())
    alerts: list[dict[str, object]] = []
    for name, norm in grad_norms.items():
        if not math.isfinite(norm) or norm > EXPLODING_NORM:
            alerts.append({"kind": "exploding", "layer": name, "value": norm})
        elif largest > 0 and norm < VANISHING_RATIO * largest:
            alerts.append({"kind": "vanishing", "layer": name, "value": norm / largest})
    return alerts


def dead_relu_alerts(stats: dict[str, dict[str, float]]) -> list[dict[str, object]]:
    return [
        {"kind": "dead_relu", "layer": name, "value": entry["dead"]}
        for name, entry in stats.items()
        if entry.get("dead", 0.0) > DEAD_FRACTION
    ]
