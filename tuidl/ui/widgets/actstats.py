"""`ActivationStats`: per layer mean, std and the saturated (tanh, sigmoid) or dead (relu)
fraction from the latest epoch record, plus the run's alerts."""

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
        self.alerts: list[str] = []

    def update_stats(self, act: dict[str, dict[str, float]], alerts: list[dict] | None) -> None:
        alerts = [f"{a['kind']} {a.get('layer', '')}".strip() for a in alerts or []]
        if act == self.act and alerts == self.alerts:
            return  # the same epoch's record again: nothing to redraw
        # a layout pass re-composes the whole screen: ask for one only when the height changes
        layout = (len(act), bool(alerts)) != (len(self.act), bool(self.alerts))
        self.act = dict(act)
        self.alerts = alerts
        self.refresh(layout=layout)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self.act) + 1 + (1 if self.alerts else 0))

    def build_text(self) -> Text:
        if not self.act:
            return Text("activation statistics appear at the end of each epoch", style="dim")
        width = self.content_size.width
        bar_width = max(0, width - NAME_WIDTH - 27)
        text = Text(no_wrap=True, overflow="crop")
        text.append(f"{'layer':<{NAME_WIDTH}}{'mean':>8}{'std':>8} sat|dead\n", style="dim")
        for name, entry in self.act.items():
            text.append(f"{name[: NAME_WIDTH - 1]:<{NAME_WIDTH}}")
            text.append(f"{short(entry['mean']):>8}{short(entry['std']):>8} ")
            for key in ("saturated", "dead"):
                if key in entry:
                    fraction = entry[key]
                    bad = fraction > 0.5
                    text.append(f"{fraction:4.0%} {key[0]} ", style="bold red" if bad else "")
                    filled = round(fraction * bar_width)
                    text.append("▇" * filled, style="red" if bad else "yellow")
            text.append("\n")
        if self.alerts:
            text.append("alerts: " + ", ".join(self.alerts), style="bold red")
        return text
