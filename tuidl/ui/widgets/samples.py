"""`SampleStrip`: a few validation images with the model's predictions (green right, red
wrong; the input whose feature maps show is underlined), as large as the panel shows them all
(or one row of them, when not even their own size does), and `ConfusionMatrix`: the latest
epoch's confusion matrix (true rows x predicted columns)."""

from __future__ import annotations

import numpy as np
from rich.text import Text

from ...render.charts import grid_columns, strip_zoom
from ...session.messages import Samples
from .halfblock import compose, gray_tile
from .imageview import ImageView


class SampleStrip(ImageView):
    EMPTY = "samples appear for image classification"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._last: Samples | None = None
        self.highlight: int | None = None

    def set_samples(self, samples: Samples, highlight: int | None = None) -> None:
        """Show probe images with their labels and predictions; `highlight`: the index of
        the probed input (its label is underlined)."""
        self._last, self.highlight = samples, highlight
        self.redraw()

    def has_data(self) -> bool:
        return self._last is not None

    def redraw(self) -> None:
        samples = self._last
        if samples is None or not self.size.width:
            return
        images, y, pred = samples.x.mean(axis=1), samples.y, samples.pred  # channels averaged
        zoom = strip_zoom(images.shape[1:], len(images), self.size.width, self.room())
        tiles = [gray_tile(image, zoom) for image in images]
        tw = len(tiles[0][0])
        per_row = grid_columns(len(tiles), tw, self.size.width)
        blocks: list = []
        for start in range(0, len(tiles), per_row):  # a row of images, then their labels
            blocks.append(compose(tiles[start : start + per_row], per_row))
            labels = Text(no_wrap=True)
            for k in range(start, min(start + per_row, len(tiles))):
                truth, guess = int(y[k]), int(pred[k])
                cell = f"{guess}" if truth == guess else f"{guess}≠{truth}"
                style = "green" if truth == guess else "bold red"
                if k == self.highlight:
                    style += " underline"
                labels.append(cell, style=style)
                labels.append(" " * max(1, tw + 1 - len(cell)))
            blocks.append(labels)
        self.show(blocks)


class ConfusionMatrix(ImageView):
    EMPTY = "confusion matrix after the first epoch"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.matrix: np.ndarray | None = None

    def set_confusion(self, matrix: np.ndarray | None) -> None:
        """Counts of (true, predicted) pairs; None clears (a new run)."""
        self.matrix = matrix
        self.redraw()

    def has_data(self) -> bool:
        return self.matrix is not None

    def redraw(self) -> None:
        self.show([] if self.matrix is None else confusion_text(self.matrix))


def confusion_text(matrix: np.ndarray) -> list[Text]:
    """Rows of the confusion matrix, the diagonal in green, off-diagonal counts in red."""
    k = matrix.shape[0]
    header = Text("true\\pred" + "".join(f"{j:>4}" for j in range(k)), style="dim")
    rows = [header]
    peak = max(1, int(matrix.max()))
    for i in range(k):
        row = Text(f"{i:>9}")
        for j in range(k):
            v = int(matrix[i, j])
            style = (
                "green" if i == j else ("bold red" if v > 0.1 * peak else ("red" if v else "dim"))
            )
            row.append(f"{v:>4}", style=style)
        rows.append(row)
    return rows
