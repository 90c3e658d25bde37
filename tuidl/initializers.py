"""Weight initializers, by the names the experiment file uses.

Fans follow Glorot & Bengio (2010) and He et al. (2015): for a dense `W (in, out)` fan_in = in,
fan_out = out; for a conv `W (F, C, KH, KW)` fan_in = C*KH*KW, fan_out = F*KH*KW.

An init is a name (`"he"`), a name with a scale for the two schemes that take one
(`"gaussian:0.01"` the std, `"uniform:0.1"` the limit of U(-0.1, 0.1)), or the same as a table
(`{ name = "gaussian", std = 0.01 }`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .suggest import did_you_mean
from .validate import number

UNIFORM_LIMIT = 0.05  # Keras RandomUniform default
GAUSSIAN_STD = 0.01  # the "small random numbers" of Deep Learning from Scratch, ch. 6

InitSpec = str | dict[str, Any]


def _uniform(shape, fan_in, fan_out, rng, limit=UNIFORM_LIMIT):
    return rng.uniform(-limit, limit, shape)


def _gaussian(shape, fan_in, fan_out, rng, std=GAUSSIAN_STD):
    return rng.normal(0.0, std, shape)


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
# tutorials call orthogonal init "svd" (Saxe et al.'s code took the matrix from an SVD; the
# QR above gives the same distribution), so that name draws exactly what orthogonal draws
ALIASES = {"svd": "orthogonal"}
INIT_NAMES = (*INITIALIZERS, *ALIASES)
# the schemes that take a scale: its key in the table form (and their keyword) and default
SCALES = {"gaussian": ("std", GAUSSIAN_STD), "uniform": ("limit", UNIFORM_LIMIT)}


def parse_init(spec: Any) -> tuple[str, dict[str, float]]:
    """The initializer an init names, and the scale it was given.

    Args:
        spec: `"he"`, `"svd"`, `"gaussian:0.01"`, `{ name = "uniform", limit = 0.1 }` ...

    Returns:
        The name in `INITIALIZERS` (an alias resolved) and its keyword arguments:
        `("gaussian", {"std": 0.01})`, `("he", {})`; without a scale, the scheme's default.

    Raises:
        ValueError: starting `init`, quoting the value and saying how to write it.
    """
    if isinstance(spec, dict):
        return _parse_table(spec)
    if not isinstance(spec, str):
        raise ValueError(
            'init must be a name like "he" or "gaussian:0.01", or a table like '
            f'{{ name = "gaussian", std = 0.01 }}, got {spec!r}'
        )
    text, sep, scale = spec.partition(":")
    name = _known(text.strip(), spec)
    if not sep:
        return name, {}
    if name not in SCALES:
        raise ValueError(f"init {spec!r}: {_no_scale(text.strip())}; write init = {text.strip()!r}")
    key, default = SCALES[name]
    try:
        value = float(scale)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(
            f"init {spec!r} needs a positive number after ':', e.g. {text.strip()}:{default}"
        )
    return name, {key: value}


def _parse_table(table: dict[str, Any]) -> tuple[str, dict[str, float]]:
    """`{ name = "gaussian", std = 0.01 }` -> `("gaussian", {"std": 0.01})`."""
    if "name" not in table:
        raise ValueError('init table needs a name, e.g. { name = "gaussian", std = 0.01 }')
    given = table["name"]
    if not isinstance(given, str) or ":" in given:
        raise ValueError(f'init table: name must be a name like "gaussian", got {given!r}')
    name = _known(given, given)
    scale = SCALES.get(name)
    for key in table:
        if key != "name" and (scale is None or key != scale[0]):
            hint = f"{given} takes only {scale[0]}" if scale else _no_scale(given)
            raise ValueError(f"init table: unknown key {key!r}; {hint}")
    if scale is None or scale[0] not in table:
        return name, {}
    return name, {scale[0]: number(f"init {scale[0]}", table[scale[0]], 0.0, low_open=True)}


def _known(name: str, spec: str) -> str:
    """`name` as a key of `INITIALIZERS`, or a ValueError quoting `spec` with a hint."""
    if name not in INIT_NAMES:
        raise ValueError(f"unknown init {spec!r}{did_you_mean(name, INIT_NAMES)}")
    return ALIASES.get(name, name)


def _no_scale(name: str) -> str:
    return f"{name} takes no scale (only {' and '.join(SCALES)} take one)"


def check_init(spec: Any) -> InitSpec:
    """`spec` (a table copied) if it is a valid init, else `parse_init`'s ValueError."""
    parse_init(spec)
    return dict(spec) if isinstance(spec, dict) else spec


def initialize(
    spec: InitSpec,
    shape: tuple[int, ...],
    fan_in: int,
    fan_out: int,
    rng: np.random.Generator,
    dtype: np.dtype = np.float32,
) -> np.ndarray:
    """Draw a weight array of `shape` with the initializer `spec` names.

    Args:
        spec: an init (see `parse_init`): `"he"`, `"gaussian:0.01"`, a table.
        shape: the array's shape.
        fan_in, fan_out: inputs and outputs per unit (see the module docstring).
        rng: the generator to draw from (drawn in float64, then cast, so the values do not
            depend on `dtype` beyond rounding).
    """
    name, scale = parse_init(spec)
    return INITIALIZERS[name](shape, fan_in, fan_out, rng, **scale).astype(dtype)
