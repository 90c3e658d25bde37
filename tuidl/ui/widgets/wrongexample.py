"""`WrongExample`: a validation image the model gets wrong, large, with its true class and the
model's top classes and probabilities; `w` browses the others (a gallery of mistakes)."""

from __future__ import annotations

from rich.text import Text

from ...render.charts import strip_zoom
from ...session.messages import Misclassified
from .halfblock import gray_tile
from .imageview import ImageView


class WrongExample(ImageView):
    EMPTY = "no misclassified example among the first validation images"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._last: Misclassified | None = None

    def set_example(self, example: Misclassified | None) -> None:
        self._last = example
        self.redraw()

    def has_data(self) -> bool:
        return self._last is not None

    def redraw(self) -> None:
        example = self._last
        if example is None or not self.size.width:
            self.show([])
            return
        image = example.image.mean(axis=0)  # channels averaged
        zoom = strip_zoom(image.shape, 1, self.size.width, self.room())  # its caption: a label row
        caption = Text(no_wrap=True)
        caption.append(f"wrong {example.index + 1}/{example.total} (w) ", style="dim")
        caption.append(f"true {example.true} ", style="green")
        for k, (cls, p) in enumerate(example.top):
            caption.append(f"{cls} {p:.0%}", style="bold red" if k == 0 else "")
            caption.append("  ")
        self.show([caption, gray_tile(image, zoom)])
