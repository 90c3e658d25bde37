"""`StatusLine`: epoch, step, samples/s, ETA, lr and the trainer's state, in one row."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.text import Text

from ...render.charts import format_eta, short
from .textstrips import TextStrips

STATE_STYLES = {
    "running": "bold green",
    "paused": "bold yellow",
    "stepping": "bold yellow",
    "starting": "bold yellow",
    "compiling": "bold yellow",
    "finished": "bold cyan",
    "early_stopped": "bold cyan",
    "interrupted": "bold yellow",
    "diverged": "bold red",
    "died": "bold red",
    "failed": "bold red",
    "stopped": "bold red",
    "following": "bold green",
    "idle": "dim",
}


@dataclass
class Status:
    """What the status line shows (a latest-state value: newer replaces older)."""

    state: str = "idle"
    epoch: float = 0.0
    epochs: int = 0
    step: int = 0
    samples_per_s: float = 0.0  # NaN: no rate to show (paused)
    eta_s: float = float("nan")
    lr: float | None = None
    lr_marked: bool = False  # just changed by a key: shown highlighted
    loss: float | None = None
    stage: str = ""  # what comes before training (compiling, pretraining), shown instead of
    # epoch, step and loss
    note: str = ""


class StatusLine(TextStrips):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.status = Status()

    def show(self, status: Status) -> None:
        if status != self.status:
            self.status = status
            self.refresh()

    def build_text(self) -> Text:
        s = self.status
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(
            f" {s.state.replace('_', ' ').upper()} ", style=STATE_STYLES.get(s.state, "bold")
        )
        if s.stage:
            text.append(f" {s.stage}")
        else:
            of = f"/{s.epochs}" if s.epochs else ""  # a followed run (tuidl view) has no total
            text.append(f" epoch {s.epoch:.2f}{of}  step {s.step}")
            if s.loss is not None:
                text.append(f"  loss {short(s.loss)}")
        rate = "–" if math.isnan(s.samples_per_s) else f"{s.samples_per_s:,.0f}"
        text.append(f"  {rate} samples/s  ETA {format_eta(s.eta_s)}")
        if s.lr is not None:
            text.append("  ")
            text.append(f"lr {short(s.lr)}", style="reverse bold" if s.lr_marked else "")
        if s.note:
            text.append(f"  {s.note}", style="dim")
        return text
