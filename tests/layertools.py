"""Building layers and models for the tests, and their float64 gradient checks.

Gradient checks run in float64 through `tuidl.gradcheck` (central differences, h = 1e-5), and
every relative error, the worst named in the failure, must be below GRADCHECK_TOL.
"""

from __future__ import annotations

import numpy as np

from tuidl.gradcheck import check_layers, check_model
from tuidl.model import Sequential

GRADCHECK_TOL = 1e-6  # float64 central differences: truncation ~h^2, rounding ~eps/h


def built(layer, input_shape, seed: int = 0, init: str | None = None, dtype=None):
    """`layer` built for samples of `input_shape` from `default_rng(seed)` with the model
    initializer `init` (None: the layer's own default), its parameters cast to `dtype` (None:
    left as built, float32)."""
    layer.build(input_shape, np.random.default_rng(seed), init)
    if dtype is not None:
        layer.astype(dtype)
    return layer


def built_model(config: dict, input_shape, seed: int = 0) -> Sequential:
    """The `[model]` table `config` as a Sequential built for samples of `input_shape`."""
    model = Sequential.from_config(config)
    model.build(input_shape, np.random.default_rng(seed))
    return model


def assert_below_tolerance(errors: dict[str, float], seed: int) -> dict[str, float]:
    """Every relative error below GRADCHECK_TOL; the failure names the worst and the seed."""
    worst = max(errors, key=errors.get)
    assert errors[worst] < GRADCHECK_TOL, f"seed={seed}: {worst} rel err {errors[worst]:.2e}"
    return errors


def assert_gradcheck(layers, x, seed: int) -> dict[str, float]:
    """Backprop through `layers` on input `x` matches central differences for the input and
    every parameter; returns the relative errors by name."""
    errors = check_layers(layers, x, rng=np.random.default_rng(seed))
    return assert_below_tolerance(errors, seed)


def assert_model_gradcheck(model, x, t, seed: int, **options) -> dict[str, float]:
    """The same for a whole model with its loss against targets `t` (`options` go to
    `check_model`, e.g. `max_entries`); returns the relative errors by name."""
    return assert_below_tolerance(check_model(model, x, t, **options), seed)
