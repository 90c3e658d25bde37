"""What the app's image panels show, computed from a consistent model between two steps.

`Probe.take(trainer, source)` returns a `ProbeTaken` record of copies: for 2-D
classification the decision boundary (class and confidence per pixel of a grid over the input
plane) and the space a chosen hidden layer makes of the plane (its grid lines and the data as
that layer maps them, on two chosen units); for image classification the chosen conv layer's
filters (or the first dense or rbm layer's weights, one picture per unit) and the feature
maps it makes of the chosen probe input, probe images with their predicted labels, and the
chosen misclassified validation example with the model's top classes. `Probe.confusion` counts
the trainer's last validation predictions by class, with no extra forward pass.
"""

from __future__ import annotations

import numpy as np

from .session.messages import (
    Boundary,
    ConfusionMeasured,
    FeatureMaps,
    Filters,
    Misclassified,
    ProbeTaken,
    Samples,
    ShowView,
    Space,
)

GRID = 48  # decision-boundary grid side (pixels)
SAMPLES = 8  # images in the sample strip
POINTS = 400  # training points drawn over the boundary
SPACE_LINES = 11  # grid lines of the input plane, each way, drawn as a hidden layer maps them
LINE_POINTS = 64  # points along each of them
CHECKED = 512  # validation images searched for misclassified examples
TOP = 3  # classes shown with their probabilities for a misclassified example


def class_probabilities(model, x: np.ndarray) -> np.ndarray:
    """(N, classes) probabilities of `x` by the model's own loss; one sigmoid output counts
    as two classes."""
    p = model.loss.probabilities(model.predict(x, 4096, logits=True))
    return np.concatenate([1 - p, p], axis=1) if p.shape[1] == 1 else p


class Probe:
    """Picks and computes what the image panels show for one dataset.

    `conv` (counting conv2d layers only) and `input` (an index into the probe inputs) pick
    what shows; `choose` moves them, wrapping around at the next `take`.
    """

    def __init__(self, dataset) -> None:
        self.conv = self.input = self.units = self.wrong = 0
        self.layer = -1  # the space panel starts at the last hidden layer
        x = dataset.x_train
        self.two_d = dataset.input_shape == (2,) and dataset.task == "classification"
        self.images = len(dataset.input_shape) == 3 and dataset.task == "classification"
        self.num_outputs = dataset.num_outputs
        if self.two_d:
            lo, hi = x.min(axis=0), x.max(axis=0)
            pad = (hi - lo) * 0.05
            self.extent = (float(lo[0] - pad[0]), float(hi[0] + pad[0]),
                           float(lo[1] - pad[1]), float(hi[1] + pad[1]))  # fmt: skip
            gx = np.linspace(self.extent[0], self.extent[1], GRID, dtype=np.float32)
            gy = np.linspace(self.extent[3], self.extent[2], GRID, dtype=np.float32)  # top first
            xx, yy = np.meshgrid(gx, gy)
            self.grid = np.stack([xx.ravel(), yy.ravel()], axis=1)
            self.points = x[:POINTS].copy()
            self.point_labels = dataset.y_train[:POINTS].copy()
            self.lines = _grid_lines(self.extent)
        validation = len(dataset.x_val) > 0
        self.sample_x = (dataset.x_val if validation else x)[:SAMPLES].copy()
        self.sample_y = (dataset.y_val if validation else dataset.y_train)[:SAMPLES].copy()
        self.check_x = (dataset.x_val if validation else x)[:CHECKED]
        self.check_y = (dataset.y_val if validation else dataset.y_train)[:CHECKED]

    def choose(self, view: ShowView) -> None:
        """Move to other filters, probe input, hidden layer, units or misclassified example."""
        self.conv += view.conv
        self.input += view.input
        self.layer += view.layer
        self.units += view.units
        self.wrong += view.wrong

    def take(self, trainer, source: str) -> ProbeTaken:
        """The panels' data for the trainer's model as it is now (copies)."""
        model = trainer.model
        boundary = filters = maps = samples = None
        if self.two_d:
            probs = class_probabilities(model, self.grid)
            boundary = Boundary(
                cls=probs.argmax(axis=1).reshape(GRID, GRID),
                conf=probs.max(axis=1).reshape(GRID, GRID),
                extent=self.extent,
                points=self.points,
                labels=self.point_labels,
            )
        pictured = [layer for layer in model.layers if layer.type == "conv2d"]
        dense = _first_dense(model) if self.images else None
        pictured += [dense] if dense is not None else []
        if pictured:
            self.conv %= len(pictured)
            layer = pictured[self.conv]
            filters = Filters(
                layer.name, _pictures(layer, model), self.conv, len(pictured), layer is dense
            )
            if len(self.sample_x) and layer.type == "conv2d":
                self.input %= len(self.sample_x)
                image = self.sample_x[self.input]
                label = self.sample_y[self.input]
                maps = FeatureMaps(
                    maps=model.forward_to(image[None], layer)[0].copy(),
                    input=self.input,
                    image=image,
                    label=int(label) if np.ndim(label) == 0 and self.images else None,
                )
        wrong = None
        if self.images:
            pred = model.predict(self.sample_x, 256).argmax(axis=-1)
            samples = Samples(self.sample_x, self.sample_y, pred)
            wrong = self._misclassified(model)
        space = self._space(model) if self.two_d else None
        return ProbeTaken(
            source, trainer.step_count, boundary, filters, maps, samples, space, wrong
        )

    def _space(self, model) -> Space | None:
        """The plane's grid lines and the data as the chosen hidden layer maps them."""
        hidden = [
            layer
            for layer in model.layers[:-1]
            if len(layer.output_shape) == 1 and layer.output_shape[0] >= 2
        ]
        if not hidden:
            return None
        self.layer %= len(hidden)
        layer = hidden[self.layer]
        width = layer.output_shape[0]
        self.units %= width
        units = (self.units, (self.units + 1) % width)
        lines = model.forward_to(self.lines.reshape(-1, 2), layer)[:, units]
        points = model.forward_to(self.points, layer)[:, units]
        return Space(
            name=layer.name,
            index=self.layer,
            count=len(hidden),
            width=width,
            units=units,
            lines=lines.reshape(*self.lines.shape[:2], 2).copy(),
            points=points.copy(),
            labels=self.point_labels,
        )

    def _misclassified(self, model) -> Misclassified | None:
        """The chosen validation example (of the first CHECKED) the model now gets wrong."""
        if len(self.check_x) == 0 or np.ndim(self.check_y) != 1:
            return None
        probs = class_probabilities(model, self.check_x)
        wrong = np.flatnonzero(probs.argmax(axis=1) != self.check_y)
        if len(wrong) == 0:
            return None
        self.wrong %= len(wrong)
        index = wrong[self.wrong]
        top = np.argsort(-probs[index])[:TOP]
        return Misclassified(
            image=self.check_x[index].copy(),
            true=int(self.check_y[index]),
            top=[(int(k), float(probs[index, k])) for k in top],
            index=self.wrong,
            total=len(wrong),
        )

    def confusion(self, trainer, source: str) -> ConfusionMeasured | None:
        """Predicted vs true class counts of the trainer's last validation (epoch end)."""
        if not self.images or trainer.val_predictions is None:
            return None
        k = max(2, self.num_outputs)  # one sigmoid output: classes 0 and 1
        true = trainer.val_labels.ravel().astype(np.int64)
        pairs = true * k + trainer.val_predictions.ravel()
        return ConfusionMeasured(source, np.bincount(pairs, minlength=k * k).reshape(k, k))


def _grid_lines(extent: tuple[float, float, float, float]) -> np.ndarray:
    """(2 * SPACE_LINES, LINE_POINTS, 2): the plane's vertical, then horizontal, grid lines."""
    x0, x1, y0, y1 = extent
    along = np.linspace(0.0, 1.0, LINE_POINTS)
    across = np.linspace(0.0, 1.0, SPACE_LINES)
    xs, ys = x0 + (x1 - x0) * across, y0 + (y1 - y0) * across
    vertical = np.stack(np.broadcast_arrays(xs[:, None], (y0 + (y1 - y0) * along)[None]), -1)
    horizontal = np.stack(np.broadcast_arrays((x0 + (x1 - x0) * along)[None], ys[:, None]), -1)
    return np.concatenate([vertical, horizontal]).astype(np.float32)


def _first_dense(model):
    """The dense or rbm layer that sees the input image itself (only a flatten before it)."""
    for layer in model.layers:
        if layer.type in ("dense", "rbm"):
            return layer
        if layer.type not in ("flatten", "dropout"):
            return None
    return None


def _pictures(layer, model) -> np.ndarray:
    """A copy of the layer's weights as pictures: a conv's own, a dense layer's one per unit
    in the input image's shape."""
    if layer.type == "conv2d":
        return layer.params["W"].copy()
    weights = layer.params["W"]  # (inputs, units)
    return np.ascontiguousarray(weights.T).reshape(-1, *model.input_shape).copy()
