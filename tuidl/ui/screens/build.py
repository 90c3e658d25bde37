"""The build screen: the layer list as an editable table, and the experiment's settings.

Keys on the table: a add after, i insert before, d remove, shift+up/down (or K/J) move,
e/enter edit in a form. Shapes and parameter counts update on every edit; a shape that does
not fit is shown on the offending layer, and `t` (train) refuses until it is fixed. Settings
are checked as they are typed: a value the experiment refuses shows its problem under it (and
blocks training) until it is fixed. escape leaves a field for the table; keys typed in a field
stay in it. Datasets load in a thread worker (mnist takes a while): shapes show once the data
is there.
"""

from __future__ import annotations

import copy
from functools import partial
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Input, Select, Static
from textual.worker import get_current_worker

from ...draft import Analysis, DatasetCache, analyze
from ...errors import ConfigError
from ...experiment import Experiment
from ...presets import preset
from ..forms import RESETS, edit_setting, format_keys
from ..messages import ExperimentAccepted
from ..widgets.footer import KeyFooter
from .buildforms import LayerForm, PathForm
from .buildsettings import SettingsPanel

COLUMNS = ("#", "type", "keys", "output", "params")


class BuildScreen(Screen):
    """Edit the draft experiment; `t` trains it when every layer fits and every setting holds."""

    BINDINGS = [
        Binding("a", "add", "add layer"),
        Binding("i", "insert", "insert"),
        Binding("d,delete", "remove", "remove"),
        Binding("e", "edit", "edit"),
        Binding("shift+up,K", "move(-1)", "move up"),
        Binding("shift+down,J", "move(1)", "move down"),
        Binding("t", "train", "train it"),
        Binding("ctrl+s", "save", "save toml"),
        Binding("p", "focus_presets", "presets"),
        Binding("escape", "focus_layers", "back to the layers", show=False),
    ]

    def __init__(self, data_dir: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.document: dict[str, Any] = {}
        self.loaded: Experiment | None = None  # saving the draft keeps the comments of its file
        self.loader = DatasetCache(data_dir).get  # (data table, seed) -> dataset, in a thread
        self.datasets: dict[str, Any] = {}  # data_key -> dataset, or why it failed (a str)
        self._in_flight: set[str] = set()  # keys being loaded by a worker
        self._wanted: str | None = None  # the key the draft needs now
        self.analysis = Analysis()

    def compose(self) -> ComposeResult:
        yield Static("", id="build-summary")
        with Horizontal(id="build-body"):
            table = DataTable(id="layers", cursor_type="row", zebra_stripes=True)
            table.border_title = "layers (a add · i insert · d remove · e edit · K/J move)"
            yield table
            settings = SettingsPanel(id="settings")
            settings.border_title = "settings (escape: back to the layers)"
            yield settings
        yield KeyFooter()

    def on_mount(self) -> None:
        if self.document:
            self.settings.fill(self.document)
        self.refresh_table()

    @property
    def settings(self) -> SettingsPanel:
        return self.query_one("#settings", SettingsPanel)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # a field takes the other keys of the layers as text; shift+up/down it leaves alone,
        # and they must not rearrange the layers out of sight while one is being typed in
        if action == "move" and isinstance(self.focused, Input):
            return None  # shown, but off
        return True

    # ---- the draft ----
    def load_experiment(self, experiment: Experiment) -> None:
        """Show `experiment` as the draft (replacing edits)."""
        self.document = copy.deepcopy(experiment.to_dict())
        self.loaded = experiment  # saving the draft keeps the comments of its file
        if self.is_mounted:
            self.settings.fill(self.document)
            self.refresh_table()

    @property
    def layer_specs(self) -> list[dict[str, Any]]:
        return self.document.setdefault("model", {}).setdefault("layers", [])

    def analyze(self) -> Analysis:
        """Check the draft against its data; data not loaded yet starts loading (off this
        thread) and blocks training until it arrives."""
        data, seed = self.document["data"], self.document.get("seed", 0)
        key = self._wanted = DatasetCache.key(data, seed)
        got = self.datasets.get(key)
        if key not in self.datasets:
            self._load(key, data, seed)
        self.analysis = analyze(self.document, None if isinstance(got, str) else got)
        if not self.analysis.problem and key not in self.datasets:
            self.analysis.problem = f"loading {data.get('name', '?')}…"
        elif not self.analysis.problem and isinstance(got, str):
            self.analysis.problem = f"data: {got}"
        return self.analysis

    @property
    def loading(self) -> bool:
        """The data the draft needs is still being loaded."""
        return self._wanted is not None and self._wanted not in self.datasets

    def _load(self, key: str, data: dict[str, Any], seed: int) -> None:
        if key in self._in_flight:
            return
        self._in_flight.add(key)
        work = partial(self._load_in_thread, key, dict(data), seed)
        self.run_worker(work, thread=True, group="dataset", exit_on_error=False)

    def _load_in_thread(self, key: str, data: dict[str, Any], seed: int) -> None:
        """The worker: load, then hand the dataset (or the error's message) to the UI thread."""
        try:
            result = self.loader(data, seed)
        except Exception as error:  # a loader failing must not take the screen down
            result = str(error) or type(error).__name__
        if get_current_worker().is_cancelled:  # the app is closing
            return
        try:
            self.app.call_from_thread(self._loaded, key, result)
        except RuntimeError:  # the app stopped meanwhile: nobody to show it to
            pass

    def _loaded(self, key: str, result: Any) -> None:
        self._in_flight.discard(key)
        self.datasets[key] = result
        if key == self._wanted and self.is_mounted:  # else stale: picked something else since
            self.refresh_table()

    def refresh_table(self) -> None:
        """Analyze the draft and show it: the layer rows and the summary line."""
        table = self.query_one("#layers", DataTable)
        row = table.cursor_row
        # columns anew: their widths then follow the rows shown (a cleared table keeps the
        # widest cell it ever held, and pushed the params column out of sight)
        table.clear(columns=True)
        table.add_columns(*COLUMNS)
        result = self.analyze()
        for r in result.rows:
            bad = bool(r.problem)
            style = "bold red" if bad else ""
            shape = "" if r.output_shape is None else str(r.output_shape)
            table.add_row(
                Text(str(r.index), style=style),
                Text(r.type, style=style),
                Text(format_keys(r.spec), style=style),
                Text("✗ " + r.problem if bad else shape, style=style),
                Text(f"{r.params:,}" if not bad else "", style=style),
            )
        if result.rows:
            table.move_cursor(row=min(max(row, 0), len(result.rows) - 1))
        else:
            table.add_row("", Text("a adds a layer", style="italic"), "", "", "")
        got = self.datasets.get(self._wanted or "")
        self.settings.show_load_problem(got if isinstance(got, str) else "")
        self._show_summary()

    def _show_summary(self) -> None:
        result = self.analysis
        summary = Text()
        summary.append(f" input {result.input_shape or '?'} → output {result.output_shape or '?'}")
        summary.append(f" · {result.total_params:,} params · {len(result.rows)} layers ")
        problem = self._setting_problem()
        if problem:
            summary.append(f" ✗ {problem} ", style="bold red")
        elif result.ok:
            summary.append(" ready: t trains it ", style="bold green")
        elif self.loading and result.problem.startswith("loading"):
            summary.append(f" {result.problem} ", style="bold yellow")
        else:
            summary.append(f" ✗ {result.problem} ", style="bold red")
        self.query_one("#build-summary", Static).update(summary)

    def _setting_problem(self) -> str:
        """The first setting whose field holds a value the draft refused ('' when none)."""
        return next(iter(self.settings.problems.values()), "")

    # ---- settings ----
    @on(SettingsPanel.Edited)
    def _setting_edited(self, event: SettingsPanel.Edited) -> None:
        try:
            document = edit_setting(self.document, event.setting, event.value)
        except ConfigError as error:
            self.settings.show_problem(event.setting, str(error))
            self._show_summary()
            return
        self.settings.show_problem(event.setting, "")
        if document == self.document:  # a field shown anew, or a value typed back
            self._show_summary()
            return
        self.document = document
        self.settings.fill(document, RESETS.get(event.setting, ()))
        self.refresh_table()

    @on(Select.Changed, "#preset")
    def _preset_picked(self, event: Select.Changed) -> None:
        if event.value is not Select.BLANK:
            self.load_experiment(preset(str(event.value)))
            self.notify(f"loaded preset {event.value}")

    @on(Input.Submitted, "#settings Input")
    def _field_submitted(self, event: Input.Submitted) -> None:
        if self.settings.setting_of(event.input) not in self.settings.problems:
            self.action_focus_layers()  # enter on a valid value: done with it

    def action_focus_layers(self) -> None:
        self.query_one("#layers", DataTable).focus()

    def action_focus_presets(self) -> None:
        self.query_one("#preset", Select).focus()

    # ---- layer edits ----
    def _cursor(self) -> int:
        return self.query_one("#layers", DataTable).cursor_row

    def _open_form(self, spec: dict[str, Any] | None, index: int, replace: bool) -> None:
        def done(result: dict[str, Any] | None) -> None:
            if result is None:
                return
            if replace:
                self.layer_specs[index] = result
            else:
                self.layer_specs.insert(index, result)
            self.refresh_table()
            self.query_one("#layers", DataTable).move_cursor(row=index)

        self.app.push_screen(LayerForm(spec, index), done)

    def action_add(self) -> None:
        index = self._cursor() + 1 if self.layer_specs else 0
        self._open_form(None, index, replace=False)

    def action_insert(self) -> None:
        self._open_form(None, max(0, self._cursor()), replace=False)

    def action_edit(self) -> None:
        if not self.layer_specs:  # the table's one row says "a adds a layer"
            self.action_add()
            return
        index = self._cursor()
        self._open_form(self.layer_specs[index], index, replace=True)

    @on(DataTable.RowSelected, "#layers")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_edit()

    def action_remove(self) -> None:
        if self.layer_specs:
            del self.layer_specs[self._cursor()]
            self.refresh_table()

    def action_move(self, delta: int) -> None:
        index = self._cursor()
        target = index + delta
        if self.layer_specs and 0 <= target < len(self.layer_specs):
            layers = self.layer_specs
            layers[index], layers[target] = layers[target], layers[index]
            self.refresh_table()
            self.query_one("#layers", DataTable).move_cursor(row=target)

    # ---- out ----
    def experiment(self) -> Experiment | None:
        """The draft as a validated Experiment, or None (with a notification saying why)."""
        result = self.analyze()
        if self._setting_problem():
            self.notify(f"cannot train yet: {self._setting_problem()}", severity="error")
            return None
        if not result.ok:
            where = f" (layer {result.problem_row})" if result.problem_row is not None else ""
            self.notify(f"cannot train yet{where}: {result.problem}", severity="error")
            return None
        try:
            return Experiment.from_dict(self.document, template=self.loaded)
        except ConfigError as error:
            self.notify(f"cannot train yet: {error}", severity="error")
            return None

    def action_train(self) -> None:
        experiment = self.experiment()
        if experiment is not None:
            self.post_message(ExperimentAccepted(experiment))

    def action_save(self) -> None:
        experiment = self.experiment()
        if experiment is None:
            return

        def done(path: str | None) -> None:
            if not path:
                return
            try:
                experiment.save(path)
            except OSError as error:
                self.notify(f"cannot save {path}: {error}", severity="error")
                return
            self.notify(f"saved {path} (tuidl run {path} trains it headless)")
            self.action_focus_layers()  # saved: the next key is for the screen again

        self.app.push_screen(PathForm("save the experiment as", f"{experiment.name}.toml"), done)


__all__ = ["BuildScreen", "LayerForm", "PathForm"]
