"""The compare screen: race optimizers on the current network from identical weights and
batches; overlaid loss curves with a legend, a live table, each run's gradients on demand.
The race runs in the app's `CompareSession`; this screen shows its records and progress."""

from __future__ import annotations

import math
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.widgets import DataTable, Input, Label

from ...errors import ConfigError
from ...experiment import Experiment
from ...render.charts import short
from ...session.messages import Progress, RunStarted
from ...variants import parse_optimizers
from ..widgets.footer import KeyFooter
from ..widgets.gradbars import GradBars
from ..widgets.linechart import PALETTE, LineChart
from ..widgets.panel import Panel
from .records import RecordView
from .train import PLOT_SECONDS, RunSeries

DEFAULT_OPTIMIZERS = "sgd,momentum,adam"
# the race table needs about 70 cells ("early stopped" in a row); beside the curves it gets 2/5
# of the width, so below 180 columns it goes under them, at full width
SIDE_BY_SIDE_COLUMNS = 180


class CompareScreen(RecordView):
    """o edits the optimizers (`sgd:0.1,adam`), s (or enter) races them, space pauses, g
    shows the highlighted run's gradients."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (SIDE_BY_SIDE_COLUMNS, "-wide")]
    BINDINGS = [
        Binding("s", "start", "start race"),
        Binding("space", "toggle_pause", "pause/resume"),
        Binding("g", "toggle_grads", "gradients"),
        Binding("o", "focus_input", "optimizers"),
        Binding("l", "toggle_log", "log y"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.runs: dict[str, RunSeries] = {}
        self.rates: dict[str, tuple[float, int, float]] = {}  # label -> (time, step, steps/s)
        self._dirty = False
        self._last_plot = -math.inf

    def compose(self) -> ComposeResult:
        with Horizontal(id="compare-controls"):
            yield Label("optimizers[:lr] ", classes="field-label")
            yield Input(value=DEFAULT_OPTIMIZERS, id="optimizers")
        with Horizontal(id="compare-body"):
            chart = LineChart(id="compare-curve", empty="s starts the race (o edits the list)")
            yield Panel(chart, title="loss (smoothed) per optimizer", id="compare-curve-panel")
            with Vertical(id="compare-side"):
                table = DataTable(id="compare-table", cursor_type="row")
                yield Panel(table, title="race", id="compare-table-panel")
                grads = Panel(GradBars(id="compare-grads"), title="gradients (g)",
                              id="compare-grads-panel")  # fmt: skip
                grads.display = False
                yield grads
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#compare-table", DataTable)
        table.add_columns("optimizer", "state", "step", "loss", "val loss", "val acc", "steps/s")
        self.query_one("#compare-table", DataTable).focus()

    @on(Input.Submitted, "#optimizers")
    def _submitted(self, event: Input.Submitted) -> None:
        self.action_start()

    def action_start(self) -> None:
        """Race the optimizers typed in the input (`sgd:0.1,momentum,adam`)."""
        app = self.app
        text = self.query_one("#optimizers", Input).value
        if app.experiment is None:
            self.notify("no experiment to race on", severity="error")
            return
        base = app.experiment.to_dict()
        try:
            runs = parse_optimizers(text, app.experiment.optimizer)
            variants = [(label, Experiment.from_dict(base | {"optimizer": table}))
                        for label, table in runs]  # fmt: skip
        except ConfigError as error:
            self.notify(str(error), severity="error")
            return
        self.reset([label for label, _ in variants])
        app.start_compare(variants)
        self.query_one("#compare-table", DataTable).focus()

    def reset(self, labels: list[str]) -> None:
        self.runs = {label: RunSeries() for label in labels}
        self.rates = {}
        chart = self.query_one("#compare-curve", LineChart)
        chart.clear()
        table = self.query_one("#compare-table", DataTable)
        table.clear()
        for label in labels:
            table.add_row(Text(label, style=self.color(label)), *[""] * 6, key=label)
        self._dirty = True

    def begin(self, record: RunStarted) -> None:
        self.runs[record.source] = RunSeries()
        self._dirty = True

    def add_steps(self, steps: list[dict[str, Any]], source: str) -> None:
        if steps:
            self.runs.setdefault(source, RunSeries()).add_steps(steps)
            self._dirty = True

    def add_epochs(self, epochs: list[dict[str, Any]], source: str) -> None:
        if epochs:
            self.runs.setdefault(source, RunSeries()).add_epochs(epochs)
            self._dirty = True

    def redraw(self, now: float, progress: Progress, force: bool = False) -> None:
        """Redraw the curves and the table (at most every PLOT_SECONDS unless `force`)."""
        if not self._dirty or (not force and now - self._last_plot < PLOT_SECONDS):
            return
        self._last_plot = now
        self._dirty = False
        chart = self.query_one("#compare-curve", LineChart)
        chart.clear()
        table = self.query_one("#compare-table", DataTable)
        for label, run in self.runs.items():
            if run.steps:
                chart.extend(label, *run.smooth.curve(), self.color(label))
            step = int(run.loss.last_x) if run.steps else 0
            previous = self.rates.get(label)
            rate = 0.0
            if previous is not None and now > previous[0]:
                rate = (step - previous[1]) / (now - previous[0])
            self.rates[label] = (now, step, rate)
            state = progress.runs.get(label, "").replace("_", " ")
            epoch = run.last_epoch or {}
            values = [
                state,
                str(step),
                short(run.smooth.last) if run.steps else "",
                short(epoch["val_loss"]) if "val_loss" in epoch else "",
                f"{epoch['val_acc']:.1%}" if "val_acc" in epoch else "",
                f"{rate:,.0f}",
            ]
            if label in table.rows:
                for column, value in zip(list(table.columns)[1:], values, strict=True):
                    table.update_cell(label, column, value, update_width=True)
        chart.refresh()
        self._title_curves()
        self._update_grads()

    def color(self, label: str) -> str:
        """The one colour of run `label` on this screen: its curve, table label, gradients title.

        Args:
            label: a run of the race.

        Returns:
            A colour of the charts' palette, by the run's place in the race.
        """
        return PALETTE[list(self.runs).index(label) % len(PALETTE)]

    def _title_curves(self) -> None:
        """The curves' panel title, saying when y is logarithmic."""
        chart = self.query_one("#compare-curve", LineChart)
        title = "loss (smoothed) per optimizer" + ("  [log y]" if chart.uses_log else "")
        panel = self.query_one("#compare-curve-panel")
        if panel.border_title != title:  # setting it repaints the panel, even unchanged
            panel.border_title = title

    def _update_grads(self) -> None:
        panel = self.query_one("#compare-grads-panel")
        if not panel.display or not self.runs:
            return
        table = self.query_one("#compare-table", DataTable)
        labels = list(self.runs)
        label = labels[min(max(table.cursor_row, 0), len(labels) - 1)]
        run = self.runs[label]
        panel.border_title = f"gradients: [{self.color(label)}]{escape(label)}[/]"
        if run.last_step is not None:
            bars = self.query_one("#compare-grads", GradBars)
            bars.update_norms(run.last_step.get("grad_norm", {}))

    def action_toggle_pause(self) -> None:
        self.app.toggle(self.app.race)

    def action_toggle_grads(self) -> None:
        panel = self.query_one("#compare-grads-panel")
        panel.display = not panel.display
        self._update_grads()

    def action_focus_input(self) -> None:
        self.query_one("#optimizers", Input).focus()

    def action_toggle_log(self) -> None:
        chart = self.query_one("#compare-curve", LineChart)
        chart.log_y = not chart.uses_log  # from then on as chosen, not by the values
        self._title_curves()
