"""What the trainer measures besides the loss: gradient norms, update ratios, activation health.

Thresholds for the named alerts (the UI and `tuidl run` show them as they are):
- vanishing: a layer's gradient norm below `VANISHING_RATIO` of the largest layer's;
- exploding: a layer's gradient norm above `EXPLODING_NORM` (or not finite);
- dead_relu: more than `DEAD_FRACTION` of a relu layer's units output 0 on every probe sample.
"""

from __future__ import annotations

import math

import numpy as np

from .layers import ReLU, Sigmoid, Tanh
from .model import Sequential

VANISHING_RATIO = 1e-6
EXPLODING_NORM = 1e3
DEAD_FRACTION = 0.5
SATURATION = 0.98  # |tanh| above this, or sigmoid outside [1 - this, this], counts as saturated


def layer_grad_norms(model: Sequential) -> dict[str, float]:
    """L2 norm of each parameterised layer's gradients, all its arrays together."""
    grads = model.flat_grads
    return {
        name: math.sqrt(float(np.vdot(grads[part], grads[part])))
        for name, part in model.layer_slices.items()
    }


class UpdateRatios:
    """‖Δw‖/‖w‖ per layer for one optimizer step: `before()` copies, `after()` compares.

    Works on the model's flat parameter buffer (optimizers update it in place) through one
    buffer made here, so a logged step allocates nothing and costs a few calls per layer.
    """

    def __init__(self, model: Sequential) -> None:
        self.model = model
        self.saved = model.flat_params.copy()
        self.weight_sq: dict[str, float] = {}

    def before(self) -> None:
        np.copyto(self.saved, self.model.flat_params)
        saved = self.saved
        self.weight_sq = {
            name: float(np.vdot(saved[part], saved[part]))
            for name, part in self.model.layer_slices.items()
        }

    def after(self) -> dict[str, float]:
        saved = self.saved
        np.subtract(self.model.flat_params, saved, out=saved)  # the buffer now holds the update
        ratios = {}
        for name, part in self.model.layer_slices.items():
            weight = self.weight_sq[name]
            delta = float(np.vdot(saved[part], saved[part]))
            ratios[name] = math.sqrt(delta / weight) if weight > 0 else 0.0
        return ratios


def activation_stats(model: Sequential, x: np.ndarray) -> dict[str, dict[str, float]]:
    """Mean and std of every layer's output on probe inputs `x` (evaluation mode).

    Sigmoid and tanh layers add `saturated` (fraction of outputs near their limits); relu
    layers add `dead` (fraction of units that output 0 for every probe sample).
    """
    stats = {}
    for layer in model.layers:
        x = layer.forward(x, train=False)
        entry = {"mean": float(x.mean()), "std": float(x.std())}
        if isinstance(layer, Sigmoid):
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
        if not np.isfinite(norm) or norm > EXPLODING_NORM:
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
