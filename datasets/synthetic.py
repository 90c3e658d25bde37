"""Generated 2D classification sets, as in TensorFlow Playground.

Every generator takes the total sample count `n`, the noise level and a numpy Generator, and
returns `x: (n, 2) float32` with coordinates roughly in [-1, 1] and `y: (n,) int64` labels.
Classes get n // k samples each (the first n % k classes one more) and the rows come shuffled.
Noise is Gaussian, its standard deviation in those coordinate units.
"""

from __future__ import annotations

import numpy as np


def class_sizes(n: int, classes: int) -> list[int]:
    """n split as evenly as possible: the first n % classes classes get one more."""
    return [n // classes + (c < n % classes) for c in range(classes)]


def _shuffled(
    parts: list[np.ndarray], rng: np.random.Generator, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    x = np.concatenate(parts)
    y = np.concatenate([np.full(len(p), c, dtype=np.int64) for c, p in enumerate(parts)])
    x = x + noise * rng.standard_normal(x.shape)
    order = rng.permutation(len(x))
    return x[order].astype(np.float32), y[order]


def spiral(n: int, classes: int, noise: float, rng: np.random.Generator):
    """`classes` interleaved arms winding 1.75 turns out from the centre (Playground's spiral).

    Arm c at radius r in [0, 1] sits at angle 2*pi*(1.75 r + c / classes).
    """
    parts = []
    for c, size in enumerate(class_sizes(n, classes)):
        r = rng.uniform(0.02, 1.0, size)
        angle = 2 * np.pi * (1.75 * r + c / classes)
        parts.append(np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1))
    return _shuffled(parts, rng, noise)


def circles(n: int, noise: float, rng: np.random.Generator):
    """Class 0: a disk of radius 0.5; class 1: a ring between radii 0.7 and 1 around it."""
    parts = []
    for size, (low, high) in zip(class_sizes(n, 2), [(0.0, 0.5), (0.7, 1.0)], strict=True):
        r = np.sqrt(rng.uniform(low**2, high**2, size))  # uniform over the area
        angle = rng.uniform(0, 2 * np.pi, size)
        parts.append(np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1))
    return _shuffled(parts, rng, noise)


def xor(n: int, noise: float, rng: np.random.Generator):
    """Label 1 where x1 * x2 > 0 (the two quadrants of equal sign), 0 elsewhere.

    Points keep a 0.05 gap from the axes (as Playground pads them) so labels stay clear.
    """
    parts = []
    for c, size in enumerate(class_sizes(n, 2)):
        magnitude = rng.uniform(0.05, 1.0, (size, 2))
        sign = rng.choice([-1.0, 1.0], size)
        # class 1: same signs (x1 * x2 > 0); class 0: opposite signs
        signs = np.stack([sign, sign if c == 1 else -sign], axis=1)
        parts.append(magnitude * signs)
    return _shuffled(parts, rng, noise)


def gauss(n: int, classes: int, noise: float, rng: np.random.Generator):
    """Gaussian blobs with standard deviation `noise`, centred on a circle of radius 0.6.

    With 2 classes the centres are (0.42, 0.42) and (-0.42, -0.42), as in Playground.
    """
    parts = []
    for c, size in enumerate(class_sizes(n, classes)):
        angle = np.pi / 4 + 2 * np.pi * c / classes
        centre = 0.6 * np.array([np.cos(angle), np.sin(angle)])
        parts.append(np.broadcast_to(centre, (size, 2)))
    return _shuffled(parts, rng, noise)


def moons(n: int, noise: float, rng: np.random.Generator):
    """Two interleaved half circles (scikit-learn's make_moons), centred on the origin."""
    parts = []
    for c, size in enumerate(class_sizes(n, 2)):
        t = rng.uniform(0, np.pi, size)
        if c == 0:
            arc = np.stack([np.cos(t), np.sin(t)], axis=1)
        else:
            arc = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1)
        parts.append((arc - [0.5, 0.25]) * 0.8)
    return _shuffled(parts, rng, noise)
