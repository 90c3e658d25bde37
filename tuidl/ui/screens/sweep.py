"""The sweep screen (`tuidl view SWEEP_DIR`, `tuidl sweep ... --app`): the trials ranked by the
sweep's metric, a scatter of a swept key against the metric (log axis where the key was swept
on a log scale; `k` picks the key) and the best trials' curves; enter opens the highlighted
trial in the train view, following it live while it trains. It reads the sweep directory
through `SweepWatch` in a worker thread, once a second."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Label

from ...render.charts import PALETTE, short
from ...session.sweepwatch import TOP, SweepState, SweepWatch
from ...sweep.trials import format_value
from ..widgets.footer import KeyFooter
from ..widgets.linechart import LineChart
from ..widgets.panel import Panel
from ..widgets.scatterplot import ScatterPlot

POLL_SECONDS = 1.0


class SweepScreen(Screen):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]
    BINDINGS = [
        Binding("enter", "open_trial", "open trial"),
        Binding("k", "next_key", "scatter key"),
    ]

    def __init__(self, watch: SweepWatch, **kwargs) -> None:
        super().__init__(**kwargs)
        self.watch = watch
        self.key = 0  # the swept key the scatter shows, an index into plan.keys
        self.state: SweepState | None = None

    def compose(self) -> ComposeResult:
        yield Label(id="sweep-head")
        with Horizontal(id="sweep-body"):
            table = DataTable(id="sweep-table", cursor_type="row")
            yield Panel(table, title="trials, best first", id="sweep-table-panel")
            with Vertical(id="sweep-side"):
                yield Panel(ScatterPlot(id="sweep-scatter"), id="sweep-scatter-panel")
                curves = LineChart(id="sweep-curves", empty="no trial has ended yet")
                curves.x_unit = "epoch"
                yield Panel(curves, id="sweep-curves-panel")
        yield KeyFooter()

    def on_mount(self) -> None:
        plan = self.watch.plan
        table = self.query_one(DataTable)
        table.add_columns("#", "trial", "state", *plan.keys, plan.metric, "epoch", "steps/s",
                          "worker")  # fmt: skip
        table.focus()
        self.poll()
        self.set_interval(POLL_SECONDS, self.poll)

    @work(thread=True, exclusive=True)
    def poll(self) -> None:
        """Read the sweep directory off the UI thread, then show what it holds."""
        state = self.watch.poll()
        self.app.call_from_thread(self.show_state, state)

    def show_state(self, state: SweepState) -> None:
        self.state = state
        plan = state.plan
        better = "higher" if plan.metric.endswith("acc") else "lower"
        ended = len(state.ended)
        running = sum(s == "running" for s in state.waiting.values())
        head = (
            f"{self.watch.sweep_dir.name}: {ended}/{len(plan.trials)} trials ended, "
            f"{running} running · {plan.metric} ({better} is better) · {plan.mode} search"
        )
        self.query_one("#sweep-head", Label).update(head)
        self._fill_table(state)
        self._draw_scatter()
        self._draw_curves(state)

    def _fill_table(self, state: SweepState) -> None:
        table = self.query_one(DataTable)
        cursor = self._cursor_run()
        table.clear()
        values = {trial.folder: trial.values for trial in state.plan.trials}
        for rank, result in enumerate(state.ended, 1):
            run = result["run"]
            rate = result.get("steps_per_s")
            table.add_row(
                str(rank), run, result["status"].replace("_", " "),
                *(format_value(v) for v in result["values"].values()),
                "-" if result.get("metric") is None else short(result["metric"]),
                str(result.get("epoch", "")), f"{rate:,.0f}" if rate else "",
                str(result.get("worker") or "").removeprefix("tcp://"), key=run,
            )  # fmt: skip
        for run, what in state.waiting.items():
            table.add_row("", run, Text(what, style="dim"),
                          *(format_value(v) for v in values[run].values()), "", "", "", "",
                          key=run)  # fmt: skip
        if cursor in table.rows:
            table.move_cursor(row=table.get_row_index(cursor))

    def _cursor_run(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def _draw_scatter(self) -> None:
        state = self.state
        keys = state.plan.keys
        panel = self.query_one("#sweep-scatter-panel")
        if not keys:
            return
        key = keys[self.key % len(keys)]
        log = key in state.plan.log
        xs = [result["values"].get(key) for result in state.ended]
        ys = [result.get("metric") for result in state.ended]
        ys = [float("nan") if y is None else y for y in ys]
        self.query_one(ScatterPlot).set_points(xs, ys, log_x=log, best=TOP)
        more = " · k: next key" if len(keys) > 1 else ""
        panel.border_title = (
            f"{state.plan.metric} by {key}{' (log axis)' if log else ''}; best {TOP} bright{more}"
        )

    def _draw_curves(self, state: SweepState) -> None:
        chart = self.query_one(LineChart)
        chart.clear()
        for k, (run, (epochs, values)) in enumerate(state.curves.items()):
            if epochs:
                chart.extend(run, epochs, values, PALETTE[k % len(PALETTE)])
        chart.refresh()
        self.query_one(
            "#sweep-curves-panel"
        ).border_title = f"{state.plan.metric} per epoch: the best {len(state.curves)}"

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_trial()

    def action_open_trial(self) -> None:
        run = self._cursor_run()
        if run is None:
            return
        if not self.watch.run_dir(run).is_dir():
            self.notify(f"{run} has not started yet", severity="warning")
            return
        self.app.follow_trial(self.watch.run_dir(run))

    def action_next_key(self) -> None:
        self.key += 1
        if self.state is not None:
            self._draw_scatter()
