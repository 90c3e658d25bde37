"""`tuidl predict`'s table: one CSV row per sample, built from the model's outputs.

Classifiers (a classification dataset, one probability row per sample) get the predicted
class and every class's probability, or with `top` the `top` most probable classes and their
probabilities, best first; a single sigmoid unit counts as two classes (1 - p, p). Anything
else (regression, sequences) gets its outputs, flattened, as `y_0, y_1, ...`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .inputs import fit_to_model, read_inputs
from .runmodel import RunModel

DIGITS = "{:.9g}"  # float32 round-trips through 9 significant digits


def predict_file(run: RunModel, source: str | Path) -> tuple[np.ndarray, list]:
    """The outputs of `run`'s model for the samples in `source`, and their names.

    Raises:
        ConfigError: an unreadable input, or samples of another shape than the model takes.
    """
    source = Path(source)
    features = int(np.prod(run.input_shape))
    x, names = read_inputs(source, features, run.experiment.data.get("label_column", -1))
    x = fit_to_model(x, names, run.input_shape, source)
    if not len(x):
        raise ConfigError(f"{source} holds no samples")
    return run.predict(x), names


def table(
    run: RunModel, outputs: np.ndarray, names: list, top: int | None = None
) -> Iterator[list[str]]:
    """The header, then a row per sample (module docstring)."""
    classes = _class_probabilities(run, outputs)
    if classes is None:
        if top is not None:
            raise ConfigError(f"--top needs a classifier; {run.experiment.name} predicts values")
        flat = outputs.reshape(len(outputs), -1)
        yield ["sample", *(f"y_{j}" for j in range(flat.shape[1]))]
        for name, row in zip(names, flat, strict=True):
            yield [str(name), *(DIGITS.format(v) for v in row)]
        return
    labels = run.dataset.class_names or [str(k) for k in range(classes.shape[1])]
    prefix = "p" if run.model.loss_name.endswith("cross_entropy") else "y"
    if top is None:
        yield ["sample", "class", *(f"{prefix}_{label}" for label in labels)]
    else:
        if top < 1:
            raise ConfigError(f"--top must be at least 1, got {top}")
        top = min(top, classes.shape[1])
        yield ["sample", "class", *(f"{c}{k}" for k in range(1, top + 1) for c in ("top", prefix))]
    order = np.argsort(-classes, axis=1, kind="stable")
    for name, row, ranked in zip(names, classes, order, strict=True):
        cells = [str(name), labels[ranked[0]]]
        if top is None:
            cells += [DIGITS.format(v) for v in row]
        else:
            cells += [c for k in ranked[:top] for c in (labels[k], DIGITS.format(row[k]))]
        yield cells


def _class_probabilities(run: RunModel, outputs: np.ndarray) -> np.ndarray | None:
    """(N, classes) scores of a classifier's outputs, or None for other models."""
    if run.dataset.task != "classification" or outputs.ndim != 2:
        return None
    if outputs.shape[1] == 1 and run.model.loss_name == "binary_cross_entropy":
        return np.concatenate([1 - outputs, outputs], axis=1)
    return outputs if outputs.shape[1] >= 2 else None


def write_csv(rows: Iterator[list[str]], out) -> None:
    """Rows as CSV lines on `out` (quoted where a class name needs it), `\\n` line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 1 << 16:
            out.write(buffer.getvalue())
            buffer.seek(0)
            buffer.truncate()
    out.write(buffer.getvalue())
