"""`GradBars`: each layer's gradient norm now, one row per layer, on the fixed log10 scale
the heatmap uses (`GRADIENT_DECADES`, written under the bars), so two runs' bars compare; a
layer with an active vanishing or exploding alert is tagged (the bars make room for the tag,
and every row is cut to the width, so none wraps)."""

from __future__ import annotations

from rich.text import Text

from ...render.charts import GRADIENT_DECADES, log_fraction, ramp, short
from .textstrips import TextStrips

NAME_WIDTH = 10
TAGS = {"vanishing": " vanish", "exploding": " EXPLODE"}
TAG_WIDTH = max(len(tag) for tag in TAGS.values())
_RAMP = ramp()


class GradBars(TextStrips):
    """Bars of the latest `grad_norm` record on the fixed gradient scale."""

    DEFAULT_CSS = """
    GradBars { height: auto; min-height: 3; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.norms: dict[str, float] = {}
        self.alerts: dict[str, str] = {}
        self.lo, self.hi = GRADIENT_DECADES

    def update_norms(self, norms: dict[str, float], alerts: dict[str, str] | None = None) -> None:
        """Show `norms` (layer -> L2 norm), tagging the layers in `alerts` (layer -> active
        alert: vanishing or exploding)."""
        # a layout pass re-composes the whole screen: ask for one only when the height changes
        layout = len(norms) != len(self.norms)
        self.norms = dict(norms)
        self.alerts = dict(alerts or {})
        self.refresh(layout=layout)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self.norms) + 1)

    def build_text(self) -> Text:
        if not self.norms:
            return Text("gradients appear after the first step", style="dim")
        width = self.content_size.width
        tag_width = TAG_WIDTH if self.alerts else 0
        bar_width = max(4, width - NAME_WIDTH - 9 - tag_width)
        text = Text(no_wrap=True, overflow="crop")
        for name, value in self.norms.items():
            line = Text()
            fraction = log_fraction(value, self.lo, self.hi)
            cells = fraction * bar_width
            full = int(cells)
            color = _RAMP[min(len(_RAMP) - 1, max(4, int(fraction * (len(_RAMP) - 1))))]
            alert = self.alerts.get(name)
            line.append(
                f"{name[: NAME_WIDTH - 1]:<{NAME_WIDTH}}", style="bold red" if alert else ""
            )
            line.append("█" * full + ("▌" if cells - full >= 0.5 else ""), style=color)
            pad = bar_width - full - (1 if cells - full >= 0.5 else 0)
            line.append(" " * max(0, pad))
            line.append(f" {short(value):>8}")
            if alert in TAGS:
                line.append(TAGS[alert], style="bold red")
            line.truncate(width)
            text.append_text(line)
            text.append("\n")
        lo, hi = f"1e{int(self.lo)}", f"1e{int(self.hi)}"
        middle = "log10 |grad|".center(max(1, bar_width - len(lo) - len(hi)))
        text.append(f"{'':<{NAME_WIDTH}}{lo}{middle}{hi}", style="dim")
        return text
