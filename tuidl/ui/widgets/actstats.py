"""`ActivationStats`: per layer mean, std and the saturated (tanh, sigmoid) or dead (relu)
fraction from the latest epoch record; a layer with an active dead-relu alert is named in red.
Every row is cut to the width, so none wraps."""

from __future__ import annotations

from rich.text import Text

from ...render.charts import short
from .textstrips import TextStrips

NAME_WIDTH = 10


class ActivationStats(TextStrips):
    DEFAULT_CSS = """
    ActivationStats { height: auto; min-height: 2; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.act: dict[str, dict[str, float]] = {}
        self.alerted: set[str] = set()

    def update_stats(self, act: dict[str, dict[str, float]], alerted: set[str]) -> None:
        """Show `act` (layer -> statistics), naming the layers in `alerted` in red."""
        if act == self.act and alerted == self.alerted:
            return  # the same epoch's record again: nothing to redraw
        # a layout pass re-composes the whole screen: ask for one only when the height changes
        layout = len(act) != len(self.act)
        self.act = dict(act)
        self.alerted = set(alerted)
        self.refresh(layout=layout)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self.act) + 1)

    def build_text(self) -> Text:
        if not self.act:
            return Text("activation statistics appear at the end of each epoch", style="dim")
        width = self.content_size.width
        bar_width = max(0, width - NAME_WIDTH - 27)
        text = Text(no_wrap=True, overflow="crop")
        header = Text(f"{'layer':<{NAME_WIDTH}}{'mean':>8}{'std':>8} sat|dead", style="dim")
        header.truncate(width)
        text.append_text(header)
        for name, entry in self.act.items():
            line = Text()
            line.append(
                f"{name[: NAME_WIDTH - 1]:<{NAME_WIDTH}}",
                style="bold red" if name in self.alerted else "",
            )
            line.append(f"{short(entry['mean']):>8}{short(entry['std']):>8} ")
            for key in ("saturated", "dead"):
                if key in entry:
                    fraction = entry[key]
                    bad = fraction > 0.5
                    line.append(f"{fraction:4.0%} {key[0]} ", style="bold red" if bad else "")
                    filled = round(fraction * bar_width)
                    line.append("▇" * filled, style="red" if bad else "yellow")
            line.truncate(width)
            text.append("\n")
            text.append_text(line)
        return text
