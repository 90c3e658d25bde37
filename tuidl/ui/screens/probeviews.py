"""What the train screen's image panels show of the probes (`tuidl.probe`), and the keys that
pick it: the decision boundary and the space a hidden layer makes (h, u), conv filters or
dense weights as pictures and feature maps (f, i), predictions or mistakes (w, p), or a
surface experiment's path. A mixin of `TrainScreen`."""

from __future__ import annotations

import math

from ...layers.surface import FUNCTIONS
from ...render.charts import PALETTE
from ...session.messages import ShowView
from ..widgets.boundary import DecisionBoundary
from ..widgets.filters import FilterGrid, filter_title
from ..widgets.samples import ConfusionMatrix, SampleStrip
from ..widgets.spaceview import SpaceView
from ..widgets.surfaceplot import SurfacePlot
from ..widgets.wrongexample import WrongExample

# the keys that drive the probe in the app's own trainer (off in `tuidl view`)
VIEW_ACTIONS = {"next_filters", "next_input", "next_layer", "next_units", "next_wrong"}


class ProbeViews:
    """Draws `self._probe` into the image panels; `mistakes`: the samples panel shows a
    misclassified image instead of the predictions."""

    mistakes = False

    def _draw_surface(self) -> None:
        """The primary run's surface with each run's path on it, in the colour of its curve."""
        path = self.paths.get(self.primary) if self.primary else None
        if path is None or path.function is None:
            return
        plot = self.query_one(SurfacePlot)
        plot.display = True
        plot.set_function(path.function)
        many = len(self.runs) > 1
        plot.set_paths({
            source if many else "path": (*self.paths[source].points(), PALETTE[k % len(PALETTE)])
            for k, source in enumerate(self.runs) if source in self.paths
        })  # fmt: skip
        function = FUNCTIONS.get(path.function)
        formula = f" f = {function.formula}" if function is not None else ""
        self._set_title("view-panel", f"surface{formula}: the point's path")
        self._set_used("view-panel", True)

    def _draw_images(self) -> None:
        probe = self._probe
        if probe is not None:
            plane, filters = self.query_one("#plane-row"), self.query_one(FilterGrid)
            plane.display = self.query_one(DecisionBoundary).display = probe.boundary is not None
            filters.display = probe.filters is not None and not plane.display
            maps = probe.feature_maps
            if probe.boundary is not None:
                self.query_one(DecisionBoundary).set_boundary(probe.boundary, probe.step)
                space = self.query_one(SpaceView)
                space.display = probe.space is not None
                title = "decision boundary"
                if probe.space is not None:
                    space.set_space(probe.space)
                    title += f" · space of {probe.space.name} (h, u)"
                self._set_title("view-panel", title)
            elif probe.filters is not None:
                filters.set_filters(probe.filters, maps)
                self._set_title("view-panel", filter_title(probe.filters, maps))
            if probe.samples is not None:
                highlight = maps.input if maps is not None else None
                self.query_one(SampleStrip).set_samples(probe.samples, highlight)
                self.query_one(WrongExample).set_example(probe.wrong)
                self._show_mistakes(self.mistakes)
            surface = self.query_one(SurfacePlot).display
            self._set_used("view-panel", plane.display or filters.display or surface)
            self._set_used("samples-panel", probe.samples is not None)
        if self._pending_confusion is not None:
            self.query_one(ConfusionMatrix).set_confusion(self._pending_confusion.matrix)
            self._pending_confusion = None

    def action_next_filters(self) -> None:
        self._show_view(ShowView(conv=1), "filters", "f and i pick a conv layer's filters")

    def action_next_input(self) -> None:
        self._show_view(ShowView(input=1), "feature_maps", "i picks the input of feature maps")

    def action_next_layer(self) -> None:
        self._show_view(ShowView(layer=1), "space", "h and u pick the space of 2-D data")

    def action_next_units(self) -> None:
        self._show_view(ShowView(units=1), "space", "h and u pick the space of 2-D data")

    def action_next_wrong(self) -> None:
        """Show the mistakes instead of the predictions, or the next mistake."""
        if self._probe is not None and self._probe.samples is None:
            self.notify("nothing to pick here: w browses misclassified images")
        elif not self.mistakes:
            self._show_mistakes(True)
        else:
            self._show_view(ShowView(wrong=1), "wrong", "w browses misclassified images")

    def action_show_predictions(self) -> None:
        self._show_mistakes(False)

    def _show_mistakes(self, mistakes: bool) -> None:
        """The samples panel shows a misclassified image (w) or the predictions (p)."""
        self.mistakes = mistakes
        self.query_one("#samples-row").display = not mistakes
        self.query_one(WrongExample).display = mistakes
        title = "predictions (val) · confusion (val, latest epoch) · w: mistakes"
        if mistakes:
            title = "mistakes (val): w the next · p the predictions"
        self._set_title("samples-panel", title)

    def _show_view(self, command: ShowView, view: str, meaning: str) -> None:
        """Ask for another view of the probe, if the run has that view."""
        if self._probe is not None and getattr(self._probe, view) is None:
            self.notify(f"nothing to pick here: {meaning}")
            return
        self._last_image = -math.inf  # draw the new probe as soon as it arrives
        self.app.send(command)
