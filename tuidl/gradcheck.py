"""Numerical gradient checks: central differences against backprop, in float64.

Used by the tests for every layer and loss, and by `tuidl gradcheck`. The relative error of two
arrays is ||a - b|| / max(||a|| + ||b||, NORM_FLOOR), which stays meaningful where single entries
are 0. The floor matters only for gradients that are zero by construction (a bias right before
batchnorm): there the central differences are pure rounding noise, about eps * |loss| / h ~ 1e-11
per entry, which a relative error with no floor would call a 100% miss.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .layers.base import Layer

DEFAULT_STEP = 1e-5
NORM_FLOOR = 1e-4


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """Relative error of `a` against `b`, measured against at least `NORM_FLOOR`."""
    num = np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64))
    den = np.linalg.norm(a) + np.linalg.norm(b)
    return float(num / max(den, NORM_FLOOR))


def numerical_grad(
    f: Callable[[], float],
    x: np.ndarray,
    h: float = DEFAULT_STEP,
    indices: np.ndarray | None = None,
) -> np.ndarray:
    """Central-difference gradient of the scalar `f()` with respect to `x`, changed in place.

    Each entry of `x` is nudged by ±h and restored, so `f` must read `x` itself. With
    `indices` (into the flattened `x`) only those entries are checked and returned, flat.
    """
    flat = x.reshape(-1)  # a view: x must be contiguous
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_grad needs a contiguous array")
    entries = range(flat.size) if indices is None else indices
    g = np.zeros(len(entries), np.float64)
    for n, i in enumerate(entries):
        old = flat[i]
        flat[i] = old + h
        plus = f()
        flat[i] = old - h
        minus = f()
        flat[i] = old
        g[n] = (plus - minus) / (2 * h)
    return g.reshape(x.shape) if indices is None else g


def _rng_states(layers: list[Layer]) -> list:
    return [layer.rng.bit_generator.state if hasattr(layer, "rng") else None for layer in layers]


def _set_rng_states(layers: list[Layer], states: list) -> None:
    for layer, state in zip(layers, states, strict=True):
        if state is not None:
            layer.rng.bit_generator.state = state


def check_layers(
    layers: list[Layer],
    x: np.ndarray,
    loss: Callable[[np.ndarray], float] | None = None,
    dloss: Callable[[np.ndarray], np.ndarray] | None = None,
    h: float = DEFAULT_STEP,
    rng: np.random.Generator | None = None,
    max_entries: int | None = None,
) -> dict[str, float]:
    """Compare backprop with central differences for a stack of built float64 layers.

    The scalar checked is `loss(y)` (default: `sum(y * r)` for a fixed random `r`, which makes
    every output entry matter). Random layers (dropout) replay the same masks in every forward
    pass, which is the deterministic mode the check needs. With `max_entries`, each array is
    checked at that many random entries at most (big networks: two forward passes per entry).

    Returns:
        relative error per parameter (`"<layer name>.<key>"`) and for the input (`"input"`).
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    states = _rng_states(layers)
    rng = rng or np.random.default_rng(0)

    def compare(analytic: np.ndarray, array: np.ndarray) -> float:
        if max_entries is None or array.size <= max_entries:
            return rel_error(analytic, numerical_grad(lambda: loss(forward()), array, h))
        picked = rng.choice(array.size, max_entries, replace=False)
        numeric = numerical_grad(lambda: loss(forward()), array, h, picked)
        return rel_error(analytic.reshape(-1)[picked], numeric)

    def forward() -> np.ndarray:
        _set_rng_states(layers, states)
        y = x
        for layer in layers:
            y = layer.forward(y, train=True)
        return y

    if loss is None:
        r = rng.standard_normal(forward().shape)
        loss = lambda y: float(np.sum(y * r))  # noqa: E731
        dloss = lambda y: r  # noqa: E731
    dy = dloss(forward())
    for layer in reversed(layers):
        dy = layer.backward(dy)
    errors = {"input": compare(dy, x)}
    for layer in layers:
        for key, param in layer.params.items():
            errors[f"{layer.name}.{key}"] = compare(layer.grads[key].copy(), param)
    return errors


def check_model(
    model,
    x: np.ndarray,
    t: np.ndarray,
    h: float = DEFAULT_STEP,
    max_entries: int | None = None,
) -> dict[str, float]:
    """Gradient check of a whole built model with its own loss, in float64.

    Checks what training differentiates: the loss of `model.run_layers` (a softmax fused with
    its loss is part of the loss). Converts the model to float64 in place (check a copy if you
    want to keep training it). Returns relative errors per parameter and for the input, as
    `check_layers`.
    """
    model.astype(np.float64)
    first = model.layers[0]
    first.needs_input_grad, restore = True, first.needs_input_grad
    try:

        def dloss(y: np.ndarray) -> np.ndarray:
            model.loss.forward(y, t)
            return model.loss.backward()

        return check_layers(
            model.run_layers,
            x,
            lambda y: model.loss.forward(y, t),
            dloss,
            h,
            max_entries=max_entries,
        )
    finally:
        first.needs_input_grad = restore
