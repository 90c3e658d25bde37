"""The one shape every dataset takes (`Dataset`), and the step from raw arrays to it.

Loaders return a `Raw` (all samples, or explicit splits for file sets that come split);
`finish` makes the seeded validation split, fits the normalization on the training split only
and casts to the documented dtypes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from .normalize import Normalizer, fit_normalizer

# how many times over a dataset's inputs exist while it is loaded, split and normalized
LOAD_COPIES = 4


@dataclass(frozen=True, kw_only=True)
class Dataset:
    """Train/validation(/test) arrays with what a model needs to know about them.

    Attributes:
        name: the catalog name (`spiral`, `csv:data/iris.csv` ...).
        x_train, x_val, x_test: float32 inputs `(N, *input_shape)`; `x_val` may hold 0 rows
            (`val_split = 0`); `x_test`/`y_test` are None when the source has no test split.
        y_train, y_val, y_test: `classification`: int64 labels `(N,)`; `regression`: float32
            targets `(N, num_outputs)`; `sequence`: int64 labels per step `(N, T)` (the next
            symbol at every step, classes over the last axis of the model output).
        input_shape: one sample's shape, no batch axis: (2,), (1, 28, 28), (T, D).
        task: `classification`, `regression` or `sequence`.
        num_outputs: classes (classification, sequence) or target size (regression).
        class_names: label names where known (digits '0'..'9', fashion item names, symbols).
        source: where the data came from (a generator, a file path, a library).
        normalizer: the fitted input normalization; `normalizer.apply(x)` maps new raw inputs.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    input_shape: tuple[int, ...]
    task: str
    num_outputs: int
    class_names: list[str] | None = None
    source: str = ""
    normalizer: Normalizer | None = field(default=None, repr=False, compare=False)


@dataclass
class Raw:
    """What a loader returns before splitting and normalization.

    `x`/`y` are all samples when `x_val` is None (then `finish` splits them); otherwise they are
    the training split and `x_val`/`y_val` (and perhaps `x_test`/`y_test`) were fixed by the
    source. `layout` picks how normalization statistics are taken (see `normalize.py`).
    `train_limit`, when set, keeps only that many of the training split's first samples.
    """

    x: np.ndarray
    y: np.ndarray
    task: str
    num_outputs: int
    layout: str
    source: str
    class_names: list[str] | None = None
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    train_limit: int | None = None


def split_indices(
    n: int, val_split: float, rng: np.random.Generator, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/validation indices; per class (stratified) when `labels` are given.

    Each class gives floor(val_split * its count + 0.5) samples to validation; with `labels`
    None the whole set does. Both index arrays come back in one random order (never by class).
    """
    order = rng.permutation(n)
    if val_split <= 0 or n == 0:
        return order, order[:0]
    is_val = np.zeros(n, dtype=bool)
    if labels is None:
        is_val[order[: int(val_split * n + 0.5)]] = True
    else:
        ordered_labels = labels[order]
        for label in np.unique(labels):
            members = order[ordered_labels == label]
            is_val[members[: int(val_split * len(members) + 0.5)]] = True
    return order[~is_val[order]], order[is_val[order]]


def finish(
    name: str, raw: Raw, *, val_split: float, normalize: str, rng: np.random.Generator
) -> Dataset:
    """Split (unless the source did), normalize on the training split, cast dtypes.

    Raises:
        ConfigError: labels of only one class, or no training samples left by the split.
    """
    if raw.task in ("classification", "sequence"):
        check_classes(name, raw)
    x, y = raw.x, raw.y
    x_val, y_val = raw.x_val, raw.y_val
    if x_val is None:
        stratify = y if raw.task == "classification" else None
        train, val = split_indices(len(x), val_split, rng, stratify)
        x, y, x_val, y_val = x[train], y[train], x[val], y[val]
    # cut after the split, so the validation set is the one the whole source gives
    x, y = x[: raw.train_limit], y[: raw.train_limit]
    if len(x) == 0:
        raise_empty_train(name, val_split)
    norm = fit_normalizer(normalize, x, raw.layout)

    def inputs(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else norm.apply(a)

    def targets(a: np.ndarray | None) -> np.ndarray | None:
        if a is None:
            return None
        if raw.task == "regression":
            a = np.asarray(a, dtype=np.float32)
            return a.reshape(len(a), -1) if a.ndim != 2 else a
        return np.asarray(a, dtype=np.int64)

    return Dataset(
        name=name,
        x_train=inputs(x),
        y_train=targets(y),
        x_val=inputs(x_val),
        y_val=targets(y_val),
        x_test=inputs(raw.x_test),
        y_test=targets(raw.y_test),
        input_shape=tuple(int(s) for s in x.shape[1:]),
        task=raw.task,
        num_outputs=int(raw.num_outputs),
        class_names=list(raw.class_names) if raw.class_names is not None else None,
        source=raw.source,
        normalizer=norm,
    )


def check_classes(name: str, raw: Raw) -> None:
    """A classifier's labels must hold two classes at least: with one, every prediction is
    right from the first step and nothing is learnt (a "100 %" that means nothing)."""
    present = np.unique(np.concatenate([np.ravel(y) for y in (raw.y, raw.y_val) if y is not None]))
    if len(present) == 1:
        label = int(present[0]) if raw.class_names is None else raw.class_names[present[0]]
        where = " (is label_column the right column?)" if name.startswith("csv:") else ""
        raise ConfigError(
            f"{name} has only one class, {label!r}{where}; a classifier needs at least two"
        )


def raise_empty_train(name: str, val_split: float) -> None:
    raise ConfigError(
        f"{name}: no training samples are left after val_split = {val_split}; "
        "use more samples (n) or a smaller val_split"
    )
