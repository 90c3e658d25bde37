"""`SampleStrip`: a few validation images with the model's predictions (green right, red
wrong), and the latest epoch's confusion matrix (true rows x predicted columns)."""

from __future__ import annotations

import numpy as np
from rich.text import Text

from ..charts import block_average, gray, quantize
from .halfblock import compose, levels_to_pixels
from .imageview import ImageView

_GRAY = gray()


class SampleStrip(ImageView):
    EMPTY = "samples and a confusion matrix appear for image classification"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.confusion: np.ndarray | None = None
        self.names: list[str] | None = None
        self._last: dict | None = None

    def set_samples(self, samples: dict) -> None:
        self._last = samples
        self._redraw()

    def set_confusion(self, matrix: np.ndarray, names: list[str] | None = None) -> None:
        self.confusion, self.names = matrix, names
        if self._last is not None:
            self._redraw()

    def _redraw(self) -> None:
        samples = self._last
        width = max(8, self.size.width or 60)
        x, y, pred = samples["x"], samples["y"], samples["pred"]
        tiles = []
        for image in x:
            small = block_average(image.mean(axis=0), 10)
            tiles.append(levels_to_pixels(quantize(small, small.min(), small.max() + 1e-9), _GRAY))
        tw = len(tiles[0][0])
        count = max(1, min(len(tiles), (width + 1) // (tw + 1)))
        pixels = compose(tiles[:count], count)
        labels = Text(no_wrap=True)
        for truth, guess in zip(y[:count].tolist(), pred[:count].tolist(), strict=True):
            cell = f"{guess}" if truth == guess else f"{guess}≠{truth}"
            labels.append(f"{cell:<{tw + 1}}", style="green" if truth == guess else "bold red")
        after = [labels]
        if self.confusion is not None:
            after += confusion_text(self.confusion)
        self.show_pixels(pixels, after=after)


def confusion_text(matrix: np.ndarray) -> list[Text]:
    """Rows of the confusion matrix, the diagonal in green, off-diagonal counts in red."""
    k = matrix.shape[0]
    header = Text("true\\pred " + "".join(f"{j:>4}" for j in range(k)), style="dim")
    rows = [Text("confusion (val, latest epoch)", style="dim"), header]
    peak = max(1, int(matrix.max()))
    for i in range(k):
        row = Text(f"{i:>9} ")
        for j in range(k):
            v = int(matrix[i, j])
            style = (
                "green" if i == j else ("bold red" if v > 0.1 * peak else ("red" if v else "dim"))
            )
            row.append(f"{v:>4}", style=style)
        rows.append(row)
    return rows
