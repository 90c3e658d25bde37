"""What the app's image panels show, computed from a consistent model between two steps.

`Probe.take(trainer, source)` returns a `ProbeTaken` record of copies: the decision boundary
(class and confidence per pixel of a grid over the input plane) for 2-D classification, the
chosen conv layer's filters and the feature maps it makes of the chosen probe input, and
probe images with their predicted labels for image classification. `Probe.confusion` counts
the trainer's last validation predictions by class, with no extra forward pass.
"""

from __future__ import annotations

import numpy as np

from .session.messages import (
    Boundary,
    ConfusionMeasured,
    FeatureMaps,
    Filters,
    ProbeTaken,
    Samples,
)

GRID = 48  # decision-boundary grid side (pixels)
SAMPLES = 8  # images in the sample strip
POINTS = 400  # training points drawn over the boundary


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
        self.conv = self.input = 0
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
        validation = len(dataset.x_val) > 0
        self.sample_x = (dataset.x_val if validation else x)[:SAMPLES].copy()
        self.sample_y = (dataset.y_val if validation else dataset.y_train)[:SAMPLES].copy()

    def choose(self, conv_step: int = 0, input_step: int = 0) -> None:
        """Move to another conv layer / probe input."""
        self.conv += conv_step
        self.input += input_step

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
        convs = [layer for layer in model.layers if layer.type == "conv2d"]
        if convs:
            self.conv %= len(convs)
            conv = convs[self.conv]
            filters = Filters(conv.name, conv.params["W"].copy(), self.conv, len(convs))
            if len(self.sample_x):
                self.input %= len(self.sample_x)
                image = self.sample_x[self.input]
                label = self.sample_y[self.input]
                maps = FeatureMaps(
                    maps=model.forward_to(image[None], conv)[0].copy(),
                    input=self.input,
                    image=image,
                    label=int(label) if np.ndim(label) == 0 and self.images else None,
                )
        if self.images:
            pred = model.predict(self.sample_x, 256).argmax(axis=-1)
            samples = Samples(self.sample_x, self.sample_y, pred)
        return ProbeTaken(source, trainer.step_count, boundary, filters, maps, samples)

    def confusion(self, trainer, source: str) -> ConfusionMeasured | None:
        """Predicted vs true class counts of the trainer's last validation (epoch end)."""
        if not self.images or trainer.val_predictions is None:
            return None
        k = max(2, self.num_outputs)  # one sigmoid output: classes 0 and 1
        true = trainer.val_labels.ravel().astype(np.int64)
        pairs = true * k + trainer.val_predictions.ravel()
        return ConfusionMeasured(source, np.bincount(pairs, minlength=k * k).reshape(k, k))
