"""Weight initializers, by the names the experiment file uses.

Fans follow Glorot & Bengio (2010) and He et al. (2015): for a dense `W (in, out)` fan_in = in,
fan_out = out; for a conv `W (F, C, KH, KW)` fan_in = C*KH*KW, fan_out = F*KH*KW.
"""

from __future__ import annotations

import numpy as np

UNIFORM_LIMIT = 0.05  # Keras RandomUniform default
GAUSSIAN_STD = 0.01  # the "small random numbers" of Deep Learning from Scratch, ch. 6


def _uniform(shape, fan_in, fan_out, rng):
    return rng.uniform(-UNIFORM_LIMIT, UNIFORM_LIMIT, shape)


def _gaussian(shape, fan_in, fan_out, rng):
    return rng.normal(0.0, GAUSSIAN_STD, shape)


def _xavier(shape, fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), shape)


def _xavier_uniform(shape, fan_in, fan_out, rng):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape)


def _he(shape, fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)


def _he_uniform(shape, fan_in, fan_out, rng):
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, shape)


def _lecun(shape, fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(1.0 / fan_in), shape)


def _orthogonal(shape, fan_in, fan_out, rng):
    """Saxe et al. (2014): rows or columns orthonormal, via QR of a Gaussian matrix."""
    rows = shape[0]
    cols = int(np.prod(shape[1:]))
    a = rng.normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # make the decomposition unique, so the result is uniform
    if rows < cols:
        q = q.T
    return q.reshape(shape)


INITIALIZERS = {
    "uniform": _uniform,
    "gaussian": _gaussian,
    "xavier": _xavier,
    "xavier_uniform": _xavier_uniform,
    "he": _he,
    "he_uniform": _he_uniform,
    "lecun": _lecun,
    "orthogonal": _orthogonal,
}


def check_init(name: str) -> str:
    """Return `name` if it is a known initializer, else raise a ValueError listing them."""
    if name not in INITIALIZERS:
        raise ValueError(f"unknown init {name!r}; choose one of {', '.join(INITIALIZERS)}")
    return name


def initialize(
    name: str,
    shape: tuple[int, ...],
    fan_in: int,
    fan_out: int,
    rng: np.random.Generator,
    dtype: np.dtype = np.float32,
) -> np.ndarray:
    """Draw a weight array of `shape` with initializer `name`.

    Args:
        name: one of `INITIALIZERS`.
        shape: the array's shape.
        fan_in, fan_out: inputs and outputs per unit (see the module docstring).
        rng: the generator to draw from (drawn in float64, then cast, so the values do not
            depend on `dtype` beyond rounding).
    """
    return INITIALIZERS[check_init(name)](shape, fan_in, fan_out, rng).astype(dtype)
