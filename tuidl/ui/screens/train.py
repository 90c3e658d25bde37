"""The train screen: curves, gradient bars and heatmap, activation statistics, histograms,
images (or a surface experiment's path), status, and a banner naming the active alerts above
the panels.

It owns no trainer: the app hands it the records of its session (a training run, or run
directories followed for `tuidl view`), and it redraws on `redraw()`, which the app calls every
1-3 s; curves are redrawn at most every PLOT_SECONDS, images every IMAGE_SECONDS.
"""

from __future__ import annotations

import math
import time
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import Reactive, var
from textual.widget import Widget

from ...render.charts import PALETTE
from ...session.messages import (
    AlertRaised,
    ConfusionMeasured,
    ProbeTaken,
    Reinit,
    RunStarted,
    Save,
    ScaleLr,
    Step,
)
from ..history import RunSeries
from ..widgets.actstats import ActivationStats
from ..widgets.alertbanner import AlertBanner
from ..widgets.boundary import DecisionBoundary
from ..widgets.filters import FilterGrid
from ..widgets.footer import KeyFooter
from ..widgets.gradbars import GradBars
from ..widgets.heatmap import GradHeatmap
from ..widgets.histograms import HistogramView
from ..widgets.linechart import LineChart
from ..widgets.panel import Panel, ScrollPanel
from ..widgets.samples import ConfusionMatrix, SampleStrip
from ..widgets.spaceview import SpaceView
from ..widgets.statusline import StatusLine
from ..widgets.surfaceplot import PathHistory, SurfacePlot
from ..widgets.wrongexample import WrongExample
from .probeviews import VIEW_ACTIONS, ProbeViews
from .records import RecordView

PLOT_SECONDS = 0.5
IMAGE_SECONDS = 1.0
PANELS = ["loss-panel", "grad-panel", "heat-panel", "act-panel", "view-panel", "samples-panel",
          "hist-panel"]  # fmt: skip
LEFT_PANELS = {"loss-panel", "heat-panel", "samples-panel"}  # the rest are in the right column
# keys that drive the app's own trainer: hidden (footer, help) and off in `tuidl view`
TRAINING_ACTIONS = {"toggle_pause", "step_once", "reinit", "resume_run", "lr_up", "lr_down",
                    "save", *VIEW_ACTIONS}  # fmt: skip


class TrainScreen(ProbeViews, RecordView):
    """Watch one run learn (or several, in `tuidl view`)."""

    BINDINGS = [
        Binding("space", "toggle_pause", "pause/run"),
        Binding("n", "step_once", "one step"),
        Binding("r", "reinit", "re-init"),
        Binding("R", "resume_run", "resume a died run", show=False),
        Binding("plus,equals_sign", "lr_up", "lr x2"),
        Binding("minus", "lr_down", "lr /2"),
        Binding("s", "save", "save ckpt"),
        Binding("a", "toggle_metric", "loss/acc"),
        Binding("f", "next_filters", "filters"),
        Binding("i", "next_input", "input"),
        Binding("h", "next_layer", "space layer", show=False),
        Binding("u", "next_units", "space units", show=False),
        Binding("w", "next_wrong", "mistakes", show=False),
        Binding("p", "show_predictions", "predictions", show=False),
        Binding("l", "toggle_log", "log y", show=False),
        # named in the histogram panel's title: the footer has no room left at 80 columns
        Binding("d", "next_histograms", "histograms: act/grad/weights", show=False),
        Binding(
            "left_square_bracket", "histogram_layer(-1)", "histogram: layer before", show=False
        ),  # fmt: skip
        Binding(
            "right_square_bracket", "histogram_layer(1)", "histogram: next layer", show=False
        ),  # fmt: skip
        Binding("tab", "next_panel", "panel", show=False),
        Binding("shift+tab", "previous_panel", "panel", show=False),
    ]

    # `var`s, and Screen's `focused` without its repaint: a change (`a`, tab) repaints only
    # the widgets it touches (the chart; the borders of the panels losing and getting focus),
    # not the whole screen (at 160x48 a full repaint costs the training thread ~20 ms)
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)
    metric: var[str] = var("loss")
    """Which curves the chart shows: `loss` or `acc`."""
    current: var[int] = var(0)
    """Index of the focused panel in PANELS (at 80 columns only it and the curves show;
    panels the run has nothing for are skipped)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.runs: dict[str, RunSeries] = {}
        self.paths: dict[str, PathHistory] = {}  # the runs of surface experiments: their paths
        self.primary: str | None = None
        self._plot_dirty = self._image_dirty = False
        self._last_plot = self._last_image = -math.inf
        self._probe: ProbeTaken | None = None  # the latest probe (kept once drawn)
        self._pending_confusion: ConfusionMeasured | None = None
        self._titles: dict[str, str] = {}  # panel titles set by `_set_title`
        # each run's active alerts, by (alert, layer), in the order they started
        self.alerts: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield AlertBanner(id="alerts")
        with Horizontal(id="train-body"):
            with Vertical(id="left"):
                yield Panel(LineChart(id="curve"), title="loss", id="loss-panel")
                yield Panel(GradHeatmap(id="heatmap"), title="gradient norm over steps",
                            id="heat-panel", classes="secondary")  # fmt: skip
                yield ScrollPanel(
                    Horizontal(SampleStrip(id="samples"), ConfusionMatrix(id="confusion"),
                               id="samples-row"),
                    WrongExample(id="wrong"),
                    title="predictions (val) · confusion (val, latest epoch) · w: mistakes",
                    id="samples-panel",
                    classes="secondary -unused",
                )  # fmt: skip
            with Vertical(id="right"):
                yield Panel(GradBars(id="gradbars"), title="gradient norm now (log)",
                            id="grad-panel", classes="secondary")  # fmt: skip
                yield ScrollPanel(ActivationStats(id="acts"), title="activations",
                                  id="act-panel", classes="secondary")  # fmt: skip
                yield Panel(HistogramView(id="hists"), title="histograms",
                            id="hist-panel", classes="secondary -unused")  # fmt: skip
                yield ScrollPanel(
                    Horizontal(
                        DecisionBoundary(id="boundary"), SpaceView(id="space"), id="plane-row"
                    ),
                    FilterGrid(id="filters"),
                    SurfacePlot(id="surface"),
                    title="view",
                    id="view-panel",
                    classes="secondary -unused",
                )
        yield KeyFooter()

    def on_mount(self) -> None:
        for widget_id in ("plane-row", "boundary", "space", "filters", "surface", "wrong"):
            self.query_one(f"#{widget_id}").display = False
        self.watch_current(self.current)

    # ---- data in ----
    def _run(self, source: str) -> RunSeries:
        """Run `source`'s series (the first run seen is the one whose panels show)."""
        if self.primary is None:
            self.primary = source
        return self.runs.setdefault(source, RunSeries())

    def begin(self, record: RunStarted) -> None:
        source = record.source
        self.runs[source] = RunSeries()
        self.paths.pop(source, None)
        self.alerts.pop(source, None)
        if self.primary in (None, source):
            self.primary = source
            self.query_one(GradHeatmap).reset(record.layers)
            # every panel of the old run goes: the new run's show as its records arrive
            self.query_one(ConfusionMatrix).set_confusion(None)
            self._pending_confusion = None
            self.query_one(AlertBanner).show_alerts([])
            self.query_one(ActivationStats).update_stats({}, set())
            self.query_one(GradBars).update_norms({})
            self.query_one(SurfacePlot).set_paths({})
            self.query_one(HistogramView).reset()
        self._plot_dirty = True

    def add_steps(self, steps: list[dict[str, Any]], source: str) -> None:
        if not steps:
            return
        self._run(source).add_steps(steps)
        if "position" in steps[0]:  # a surface experiment's: every step has one
            self.paths.setdefault(source, PathHistory()).add(steps)
        if source == self.primary:
            self.query_one(GradHeatmap).add_all(steps)
        self._plot_dirty = True

    def add_epochs(self, epochs: list[dict[str, Any]], source: str) -> None:
        if not epochs:
            return
        self._run(source).add_epochs(epochs)
        last = epochs[-1]
        if source == self.primary and last.get("act"):
            self.query_one(ActivationStats).update_stats(
                last["act"], set(self._alerted("dead_relu"))
            )
        if source == self.primary and any("hist" in record for record in epochs):
            self.query_one(HistogramView).add_epochs(epochs)
            self._set_used("hist-panel", True)
        self._plot_dirty = True

    def add_pretrain(self, source: str, data: dict[str, Any]) -> None:
        self._run(source).add_pretrain(data)
        self._plot_dirty = True

    def show_probe(self, record: ProbeTaken) -> None:
        self._run(record.source)
        if record.source == self.primary:
            self._probe = record
            self._image_dirty = True

    def show_confusion(self, record: ConfusionMeasured) -> None:
        self._run(record.source)
        if record.source == self.primary:
            self._pending_confusion = record
            self._image_dirty = True

    def show_alert(self, record: AlertRaised) -> None:
        data = record.data
        active = self.alerts.setdefault(record.source, {})
        key = (data["alert"], data["layer"])
        if data.get("cleared"):
            active.pop(key, None)
        else:
            active[key] = data
        run = self._run(record.source)
        if record.source != self.primary:
            return
        self.query_one(AlertBanner).show_alerts(list(active.values()))
        if run.last_epoch is not None and run.last_epoch.get("act"):
            acts = self.query_one(ActivationStats)
            acts.update_stats(run.last_epoch["act"], set(self._alerted("dead_relu")))
        self._plot_dirty = True  # the gradient bars tag the layers at the next redraw

    def _alerted(self, *kinds: str) -> dict[str, str]:
        """The primary run's layers with an active alert of `kinds`: layer -> alert."""
        active = self.alerts.get(self.primary, {}) if self.primary else {}
        return {layer: alert for alert, layer in active if alert in kinds}

    @property
    def latest_probe(self) -> ProbeTaken | None:
        """The primary run's latest probe (None before the first)."""
        return self._probe

    def smoothed_loss(self, source: str) -> float | None:
        """The latest smoothed training loss of run `source` (None before its first step)."""
        run = self.runs.get(source)
        return run.smooth.last if run is not None and run.steps else None

    def redraw(self, now: float | None = None, force: bool = False) -> None:
        """Redraw what changed, at most every PLOT_SECONDS (curves) / IMAGE_SECONDS (images)."""
        now = time.monotonic() if now is None else now
        if self._plot_dirty and (force or now - self._last_plot >= PLOT_SECONDS):
            self._last_plot = now
            self._plot_dirty = False
            self._draw_curves()
            self._draw_surface()
            run = self.runs.get(self.primary) if self.primary else None
            if run is not None and run.last_step is not None:
                self.query_one(GradBars).update_norms(
                    run.last_step.get("grad_norm", {}), self._alerted("vanishing", "exploding")
                )
            self.query_one(GradHeatmap).refresh_data()
            hists = self.query_one(HistogramView)
            hists.refresh_data()
            self._set_title("hist-panel", hists.title)
        if self._image_dirty and (force or now - self._last_image >= IMAGE_SECONDS):
            self._last_image = now
            self._image_dirty = False
            self._draw_images()

    def _draw_curves(self) -> None:
        chart = self.query_one("#curve", LineChart)
        chart.clear()
        many = len(self.runs) > 1
        run = self.runs.get(self.primary) if self.primary else None
        if self.metric == "loss" and not many and run is not None and not run.steps:
            title = self._draw_pretraining(chart, run)
            chart.x_unit = "epoch"
        else:
            title = self._draw_metric(chart, many)
            chart.x_unit = "step"
        self._set_title("loss-panel", title + ("  [log y]" if chart.uses_log else ""))
        chart.refresh()

    def _draw_metric(self, chart: LineChart, many: bool) -> str:
        """The loss or accuracy curves of every run; returns the panel title."""
        for k, (source, run) in enumerate(self.runs.items()):
            color = PALETTE[k % len(PALETTE)]
            prefix = f"{source} " if many else ""
            if self.metric == "loss":
                if run.steps and not many:
                    chart.extend("batch", *run.loss.curve(), "#5f5f5f")
                    chart.extend("train (smoothed)", *run.smooth.curve(), PALETTE[0])
                elif run.steps:
                    chart.extend(f"{source}", *run.smooth.curve(), color)
                if "val_loss" in run.epochs and not many:
                    chart.extend("val loss", *run.epochs["val_loss"].curve(), PALETTE[1])
            else:
                for j, key in enumerate(("train_acc", "val_acc")):
                    if key in run.epochs and (not many or key == "val_acc"):
                        label = prefix + key.replace("_", " ")
                        color = color if many else PALETTE[j]
                        chart.extend(label, *run.epochs[key].curve(), color)
        if self.metric == "loss":
            return "loss (train per batch; val per epoch)"
        return "accuracy per epoch"

    def _draw_pretraining(self, chart: LineChart, run: RunSeries) -> str:
        """Before the first training step: the rbm layers' reconstruction error (if any)."""
        for k, (layer, (xs, ys)) in enumerate(run.pretrain.items()):
            chart.extend(f"{layer} recon", xs, ys, PALETTE[k % len(PALETTE)])
        if run.pretrain:
            return "pretraining: reconstruction error per epoch (rbm layers)"
        return "loss (train per batch; val per epoch)"

    def _set_title(self, panel_id: str, title: str) -> None:
        if self._titles.get(panel_id) != title:  # setting it repaints the panel, even unchanged
            self._titles[panel_id] = title
            self.query_one(f"#{panel_id}").border_title = title

    # ---- panels ----
    def _used(self) -> list[int]:
        """Indices of the panels the run has something for (the curves always)."""
        return [
            k for k, panel_id in enumerate(PANELS)
            if not self.query_one(f"#{panel_id}").has_class("-unused")
        ]  # fmt: skip

    def _set_used(self, panel_id: str, used: bool) -> None:
        panel = self.query_one(f"#{panel_id}")
        if panel.has_class("-unused") == used:
            panel.set_class(not used, "-unused")
            if not used and PANELS[self.current] == panel_id:
                self.current = 0
            else:
                self.watch_current(self.current)

    def watch_current(self, current: int) -> None:
        used = self._used()
        # with the curves focused, the first other panel shows beside them at 80 columns, a
        # surface's path before all: it is what a surface experiment is for
        view = PANELS.index("view-panel")
        first = view if view in used and self.query_one(SurfacePlot).display else None
        shown = (first or next((k for k in used if k > 0), 0)) if current == 0 else current
        for k, panel_id in enumerate(PANELS):
            self.query_one(f"#{panel_id}").set_class(k in (current, shown), "-current")
        self.set_class(PANELS[shown] in LEFT_PANELS, "-current-left")
        self.query_one(f"#{PANELS[current]}").focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in TRAINING_ACTIONS and self.app.following)

    def watch_metric(self) -> None:
        self._draw_curves()

    def action_next_panel(self) -> None:
        used = self._used()
        self.current = used[(used.index(self.current) + 1) % len(used)]

    def action_previous_panel(self) -> None:
        used = self._used()
        self.current = used[(used.index(self.current) - 1) % len(used)]

    def action_toggle_metric(self) -> None:
        self.metric = "acc" if self.metric == "loss" else "loss"

    def action_next_histograms(self) -> None:
        """The next kind of histograms; at 80 columns, first only the panel (as it was)."""
        hidden = self.has_class("-narrow") and PANELS[self.current] != "hist-panel"
        hists = self._histograms()
        if not hidden:
            hists.next_kind()
            self._set_title("hist-panel", hists.title)

    def action_histogram_layer(self, step: int) -> None:
        self._histograms().move(step)

    def _histograms(self) -> HistogramView:
        """The histogram view, its panel focused (so shown at 80 columns) once it has any."""
        if not self.query_one("#hist-panel").has_class("-unused"):
            self.current = PANELS.index("hist-panel")
        return self.query_one(HistogramView)

    def action_toggle_log(self) -> None:
        chart = self.query_one("#curve", LineChart)
        chart.log_y = not chart.uses_log  # from then on as chosen, not by the values
        self._draw_curves()

    # ---- controls: commands to the app's session ----
    def action_toggle_pause(self) -> None:
        self.app.toggle(self.app.session)

    def action_step_once(self) -> None:
        self.app.send(Step())

    def action_reinit(self) -> None:
        self.app.send(Reinit())
        self.notify("re-initialised: a new seed (fresh weights and batch order), a new run")

    def action_resume_run(self) -> None:
        self.app.resume_run()

    def action_lr_up(self) -> None:
        self.app.send(ScaleLr(2.0))

    def action_lr_down(self) -> None:
        self.app.send(ScaleLr(0.5))

    def action_save(self) -> None:
        self.app.send(Save())
