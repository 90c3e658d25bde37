"""`AlertBanner`: a run's active alerts above the train screen's panels, one line each: its
name, the layer, what it means and what to try, cut to the width (never wrapped)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ...diagnostics import ALERTS
from .textstrips import TextStrips

MAX_LINES = 4  # more alerts than fit share the last line, by kind
ROWS_PER_LINE = 12  # a line per this many terminal rows: 2 at 24 rows, 4 at 48


class AlertBanner(TextStrips):
    """Shows the alert lines handed to `show_alerts`; hidden while there are none."""

    DEFAULT_CSS = """
    AlertBanner { height: auto; display: none; padding: 0 1; background: $error 15%; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.alerts: list[dict[str, Any]] = []

    def show_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """The active alerts (their `metrics.jsonl` lines), in the order they started."""
        if alerts == self.alerts:
            return
        self.alerts = list(alerts)
        self.display = bool(alerts)
        self.refresh(layout=True)

    def _lines(self) -> int:
        """How many lines the banner takes: one per alert, as many as the terminal spares."""
        room = max(2, min(MAX_LINES, self.app.size.height // ROWS_PER_LINE))
        return max(1, min(len(self.alerts), room))

    def get_content_height(self, container, viewport, width: int) -> int:
        return self._lines()

    def build_text(self) -> Text:
        width = self.content_size.width
        alerts = self.alerts
        lines_room = self._lines()
        shown = alerts if len(alerts) <= lines_room else alerts[: lines_room - 1]
        lines = []
        for alert in shown:
            name, meaning, advice = ALERTS.get(alert["alert"], (alert["alert"], "", ""))
            line = Text(no_wrap=True)
            line.append(f" {name} ", style="bold reverse red")
            line.append(f" {alert['layer']}  ", style="bold")
            line.append(f"{meaning}; try {advice}" if meaning else alert["message"])
            lines.append(line)
        if len(shown) < len(alerts):
            kinds: dict[str, list[str]] = {}
            for alert in alerts[len(shown) :]:
                kinds.setdefault(alert["alert"], []).append(alert["layer"])
            rest = "; ".join(f"{kind} {', '.join(layers)}" for kind, layers in kinds.items())
            lines.append(Text(f"+{len(alerts) - len(shown)} more: {rest}", style="bold red"))
        text = Text(no_wrap=True)
        for k, line in enumerate(lines):
            line.truncate(width, overflow="ellipsis")
            text.append_text(line)
            if k < len(lines) - 1:
                text.append("\n")
        return text
