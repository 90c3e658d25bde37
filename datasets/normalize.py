"""Feature normalization fitted on the training split only, then applied to every split.

Methods: `none`, `standard` (zero mean, unit variance), `minmax` (to [0, 1]) and `pca-whiten`
(decorrelated, unit variance). What the statistics are taken over depends on the layout:

- `flat` (2D sets, CSV): per feature, over samples. `pca-whiten` rotates onto the principal
  axes and scales each by 1/sqrt(eigenvalue + eps); all components are kept, so the shape stays.
- `image` (N, C, H, W): one global mean/std (or min/max) over all training pixels. Per-pixel
  statistics would blow up MNIST's nearly-constant border pixels into noise. `pca-whiten` is
  ZCA here (rotate back after whitening), so the result is still an image.
- `sequence` (N, T, D): per channel D, over samples and time steps; `pca-whiten` over the D
  channels (for D = 1 it equals `standard`).
- `onehot` (Reber, text): categorical one-hot inputs are never rescaled; every method is the
  identity (the default `standard` must not turn symbols into fractions).

Statistics are computed in float64; results are float32. A constant feature gets scale 1, not inf.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ..validate import within_memory

METHODS = ("none", "standard", "minmax", "pca-whiten")
LAYOUTS = ("flat", "image", "sequence", "onehot")
WHITEN_EPS = 1e-3  # eigenvalue floor relative to the largest, so null directions stay finite


@dataclass(frozen=True)
class Normalizer:
    """A fitted transform `x -> (x - shift) @ matrix * scale` (pieces that do not apply: None).

    Use `apply` on new inputs in the raw units of the dataset (the app's decision-boundary
    grid, for example) so they match what the network was trained on.
    """

    method: str
    layout: str
    shift: np.ndarray | None = None
    scale: np.ndarray | None = None
    matrix: np.ndarray | None = None

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Transform `x` (same layout as the training inputs, any number of samples).

        Shift and scale run in float32 (60,000 MNIST images stay 190 MB, not 380); a
        whitening matrix in float64.
        """
        x = np.asarray(x, dtype=np.float64 if self.matrix is not None else np.float32)
        if self.shift is not None:
            x = x - self.shift.astype(x.dtype)
        if self.matrix is not None:
            x = (_features(x, self.layout) @ self.matrix).reshape(x.shape)
        if self.scale is not None:
            x = x * self.scale.astype(x.dtype)
        return x.astype(np.float32, copy=False)


def _features(x: np.ndarray, layout: str) -> np.ndarray:
    """Rows of features for statistics: (N, F) for flat/image, (N*T, D) for sequences."""
    if layout == "sequence":
        return x.reshape(-1, x.shape[-1])
    return x.reshape(len(x), -1)


def fit_normalizer(method: str, x_train: np.ndarray, layout: str) -> Normalizer:
    """Fit `method` on the training inputs `x_train` with the given layout (see module doc)."""
    if method not in METHODS:
        raise ValueError(f"unknown normalization {method!r}")
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}")
    if method == "none" or layout == "onehot" or len(x_train) == 0:
        return Normalizer("none", layout)
    if layout == "image" and method == "standard":
        mean, std = x_train.mean(dtype=np.float64), x_train.std(dtype=np.float64)
        return Normalizer(method, layout, np.array(mean), _safe_inv(std))
    if layout == "image" and method == "minmax":
        low, high = float(x_train.min()), float(x_train.max())
        return Normalizer(method, layout, np.array(low), _safe_inv(high - low))
    if method == "pca-whiten":
        _check_whitening(x_train, layout)
    x = x_train.astype(np.float64)
    rows = _features(x, layout)
    shape = x.shape[1:] if layout != "sequence" else (x.shape[-1],)  # one sample's features
    if method == "standard":
        mean, std = rows.mean(axis=0), rows.std(axis=0)
        return Normalizer(method, layout, mean.reshape(shape), _safe_inv(std).reshape(shape))
    if method == "minmax":
        low, high = rows.min(axis=0), rows.max(axis=0)
        return Normalizer(method, layout, low.reshape(shape), _safe_inv(high - low).reshape(shape))
    mean = rows.mean(axis=0)
    centred = rows - mean
    cov = centred.T @ centred / len(centred)
    eigenvalues, vectors = np.linalg.eigh(cov)
    eigenvalues = np.maximum(eigenvalues, 0.0)
    eps = WHITEN_EPS * max(eigenvalues.max(), 1e-12)
    whiten = vectors / np.sqrt(eigenvalues + eps)
    if layout == "image":  # ZCA: rotate back so pixels stay where they were
        whiten = whiten @ vectors.T
    else:  # PCA: principal axes, largest variance first
        whiten = whiten[:, ::-1]
    return Normalizer(method, layout, mean.reshape(shape), None, whiten)


def _safe_inv(spread: np.ndarray | float) -> np.ndarray:
    """1/spread, with 1 where the spread is (numerically) zero."""
    spread = np.asarray(spread, dtype=np.float64)
    return np.where(spread > 1e-12, 1.0 / np.where(spread > 1e-12, spread, 1.0), 1.0)


def _check_whitening(x_train: np.ndarray, layout: str) -> None:
    """A ConfigError when pca-whiten's float64 work would not fit in memory: the centred
    inputs twice over, and three F x F matrices (covariance, eigenvectors, whitening)."""
    features = _features(x_train[:1], layout).shape[1]
    try:
        within_memory(
            f"whitening {features:,} features", 16 * x_train.size + 24 * features * features
        )
    except ValueError as error:
        raise ConfigError(
            f'normalize = "pca-whiten": {error}; use normalize = "standard"'
        ) from None
