"""The compare screen: race variants of the current experiment (optimizers, values of any key,
seeds: `tuidl compare`'s options) from identical weights and batches; overlaid loss curves with
a legend (several seeds: their mean inside a min-max band), a live table (mean ± half the range
over seeds), each run's gradients on demand. The race runs in the app's `CompareSession`; this
screen shows its records and progress."""

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
from ...render.bands import mean_spread, seed_band
from ...render.charts import PALETTE, short
from ...session.messages import Progress, RunStarted
from ...variants import RACE_EXAMPLE, Variant, parse_race, plan_race, race_line
from ..history import RunSeries
from ..widgets.footer import KeyFooter
from ..widgets.gradbars import GradBars
from ..widgets.linechart import LineChart
from ..widgets.panel import Panel
from ..widgets.surfaceplot import PathHistory, SurfacePlot
from .records import RecordView
from .train import PLOT_SECONDS

# the race table needs about 70 cells ("early stopped" in a row); beside the curves it gets 2/5
# of the width, so below 180 columns it goes under them, at full width
SIDE_BY_SIDE_COLUMNS = 180


class CompareScreen(RecordView):
    """o edits the race (`sgd:0.1,adam --vary model.init=he,xavier --seeds 3`), s (or enter)
    starts it, space pauses, g shows the highlighted variant's gradients (its first seed's)."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (SIDE_BY_SIDE_COLUMNS, "-wide")]
    BINDINGS = [
        Binding("s", "start", "start race"),
        Binding("space", "toggle_pause", "pause/resume"),
        Binding("g", "toggle_grads", "gradients"),
        Binding("o", "focus_input", "edit race"),
        Binding("l", "toggle_log", "log y"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.runs: dict[str, RunSeries] = {}  # by run label (`adam seed1`)
        self.groups: dict[str, list[str]] = {}  # variant label -> its runs, one per seed
        self.paths: dict[str, PathHistory] = {}  # a surface race's: each run's path
        self.rates: dict[str, tuple[float, int, float]] = {}  # label -> (time, step, steps/s)
        self._dirty = False
        self._last_plot = -math.inf
        self._offered = ""  # the race line offered for the experiment, until the user edits it

    def compose(self) -> ComposeResult:
        with Horizontal(id="compare-controls"):
            yield Label("race ", classes="field-label")
            yield Input(placeholder=RACE_EXAMPLE, id="race")
        with Horizontal(id="compare-body"):
            with Vertical(id="compare-left"):
                chart = LineChart(id="compare-curve", empty="s starts the race (o edits it)")
                yield Panel(chart, title="loss (smoothed) per variant", id="compare-curve-panel")
                surface = Panel(SurfacePlot(id="compare-surface"), title="paths",
                                id="compare-surface-panel")  # fmt: skip
                surface.display = False  # for a race on a surface
                yield surface
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
        table.add_columns("variant", "state", "step", "loss", "val loss", "val acc", "steps/s")
        self.query_one("#compare-table", DataTable).focus()

    def on_screen_resume(self) -> None:
        """Offer the experiment's own race (its `[compare]` table) unless the line was edited."""
        field = self.query_one("#race", Input)
        if self.app.experiment is not None and field.value == self._offered:
            self._offered = field.value = race_line(self.app.experiment)

    @on(Input.Submitted, "#race")
    def _submitted(self, event: Input.Submitted) -> None:
        self.action_start()

    def action_start(self) -> None:
        """Race what the input says (`sgd:0.1,adam --vary model.init=he,xavier --seeds 3`)."""
        app = self.app
        if app.experiment is None:
            self.notify("no experiment to race on", severity="error")
            return
        try:
            optimizers, vary, seeds = parse_race(self.query_one("#race", Input).value)
            variants = plan_race([app.experiment], optimizers, vary, seeds)
        except ConfigError as error:
            self.notify(str(error), severity="error")
            return
        self.reset(variants)
        app.start_compare(variants)
        self.query_one("#compare-table", DataTable).focus()

    def reset(self, variants: list[Variant]) -> None:
        self.runs = {variant.run: RunSeries() for variant in variants}
        self.paths = {}
        self.groups = {}
        for variant in variants:
            self.groups.setdefault(variant.label, []).append(variant.run)
        self.rates = {}
        chart = self.query_one("#compare-curve", LineChart)
        chart.clear()
        table = self.query_one("#compare-table", DataTable)
        table.clear()
        for label in self.groups:
            table.add_row(Text(label, style=self.color(label)), *[""] * 6, key=label)
        self._dirty = True

    def begin(self, record: RunStarted) -> None:
        self.runs[record.source] = RunSeries()
        self._dirty = True

    def add_steps(self, steps: list[dict[str, Any]], source: str) -> None:
        if steps:
            self.runs.setdefault(source, RunSeries()).add_steps(steps)
            if "position" in steps[0]:  # a surface experiment's: every step has one
                self.paths.setdefault(source, PathHistory()).add(steps)
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
        for label, runs in self.groups.items():
            series = [self.runs[run] for run in runs]
            self._draw_group(chart, label, series)
            steps = [int(run.loss.last_x) if run.steps else 0 for run in series]
            step = min(steps)
            previous = self.rates.get(label)
            rate = 0.0
            if previous is not None and now > previous[0]:
                rate = (step - previous[1]) / (now - previous[0])
            self.rates[label] = (now, step, rate)
            states = dict.fromkeys(progress.runs.get(run, "").replace("_", " ") for run in runs)
            epochs = [run.last_epoch or {} for run in series]
            values = [
                ", ".join(states),
                str(step),
                _spread([run.smooth.last for run in series if run.steps], short),
                _spread([e["val_loss"] for e in epochs if "val_loss" in e], short),
                _spread([e["val_acc"] for e in epochs if "val_acc" in e], _percent),
                f"{rate:,.0f}",
            ]
            if label in table.rows:
                for column, value in zip(list(table.columns)[1:], values, strict=True):
                    table.update_cell(label, column, value, update_width=True)
        chart.refresh()
        self._title_curves()
        self._update_grads()
        self._draw_paths()

    def _draw_paths(self) -> None:
        """A surface race: each variant's path (its first seed's) on the surface."""
        panel = self.query_one("#compare-surface-panel")
        panel.display = bool(self.paths)
        self.set_class(bool(self.paths), "-surface")
        if not self.paths:
            return
        plot = self.query_one(SurfacePlot)
        plot.set_function(next(iter(self.paths.values())).function)
        paths = {}
        for label, runs in self.groups.items():
            history = self.paths.get(runs[0])
            if history is not None and history.count:
                paths[label] = (*history.points(), self.color(label))
        plot.set_paths(paths)
        panel.border_title = f"paths on {plot.function} (first seed of each)"

    def _draw_group(self, chart: LineChart, label: str, series: list[RunSeries]) -> None:
        """One variant's curve: its run's, or its seeds' mean inside their min-max band."""
        color = self.color(label)
        curves = [run.smooth.curve() for run in series if run.steps]
        if len(series) == 1 and curves:
            chart.extend(label, *curves[0], color)
        elif len(curves) == len(series) > 1:
            x, mean, low, high = seed_band(curves)
            chart.extend(f"{label} min", x, low, f"dim {color}", legend=False)
            chart.extend(f"{label} max", x, high, f"dim {color}", legend=False)
            chart.extend(label, x, mean, color)

    def color(self, label: str) -> str:
        """The one colour of variant `label` on this screen: its curve, table label, gradients
        title.

        Args:
            label: a variant of the race.

        Returns:
            A colour of the charts' palette, by the variant's place in the race.
        """
        return PALETTE[list(self.groups).index(label) % len(PALETTE)]

    def _title_curves(self) -> None:
        """The curves' panel title, saying when y is logarithmic."""
        chart = self.query_one("#compare-curve", LineChart)
        seeds = max(map(len, self.groups.values()), default=1)
        title = "loss (smoothed) per variant"
        if seeds > 1:
            title += f": mean, band min-max over {seeds} seeds"
        title += "  [log y]" if chart.uses_log else ""
        panel = self.query_one("#compare-curve-panel")
        if panel.border_title != title:  # setting it repaints the panel, even unchanged
            panel.border_title = title

    def _update_grads(self) -> None:
        panel = self.query_one("#compare-grads-panel")
        if not panel.display or not self.groups:
            return
        table = self.query_one("#compare-table", DataTable)
        labels = list(self.groups)
        label = labels[min(max(table.cursor_row, 0), len(labels) - 1)]
        first = self.groups[label][0]
        run = self.runs[first]
        panel.border_title = f"gradients: [{self.color(label)}]{escape(first)}[/]"
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
        self.query_one("#race", Input).focus()

    def action_toggle_log(self) -> None:
        chart = self.query_one("#compare-curve", LineChart)
        chart.log_y = not chart.uses_log  # from then on as chosen, not by the values
        self._title_curves()


def _spread(values: list[float], fmt) -> str:
    """A table cell: the value, or over several seeds their mean ± half the range."""
    if not values:
        return ""
    if len(values) == 1:
        return fmt(values[0])
    mean, half = mean_spread(values)
    return f"{fmt(mean)} ±{fmt(half)}"


def _percent(value: float) -> str:
    return f"{value:.1%}"
