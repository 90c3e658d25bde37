"""The build screen: the layer list as an editable table, and the experiment's settings.

Keys on the table: a add after, i insert before, d remove, shift+up/down (or K/J) move,
e/enter edit in a form. Shapes and parameter counts update on every edit; a shape that does
not fit is shown on the offending layer, and `t` (train) refuses until it is fixed. Datasets
load in a thread worker (mnist takes a while): shapes show once the data is there.
"""

from __future__ import annotations

import copy
import inspect
from functools import partial
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.suggester import SuggestFromList
from textual.widgets import DataTable, Input, Label, Select, Static
from textual.worker import get_current_worker

from ...datasets import DATASETS
from ...draft import Analysis, DatasetCache, analyze
from ...errors import ConfigError
from ...experiment import Experiment, parse_value
from ...initializers import INITIALIZERS
from ...layers import LAYERS, make_layer
from ...losses import LOSSES
from ...optimizers import OPTIMIZERS
from ...presets import PRESETS, preset
from ..forms import format_keys, layer_fields, parse_pairs
from ..messages import ExperimentAccepted
from ..widgets.footer import KeyFooter

OPTIMIZER_COMMON = ("name", "lr", "schedule")


class LayerForm(ModalScreen[dict[str, Any] | None]):
    """Edit one layer: its type, then one field per key (from the class signature).

    enter on any field validates with `make_layer` and closes; a problem stays on screen.
    """

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, spec: dict[str, Any] | None, index: int) -> None:
        super().__init__()
        self.spec = dict(spec or {})
        self.index = index
        self.kind = self.spec.get("type", "")

    def compose(self) -> ComposeResult:
        with Vertical(id="layer-form"):
            yield Label(f"layer {self.index}: type, then its keys (enter = OK, escape = cancel)")
            yield Input(
                value=self.kind,
                placeholder="type: " + " ".join(LAYERS),
                suggester=SuggestFromList(list(LAYERS), case_sensitive=False),
                id="type",
            )
            yield Vertical(id="fields")
            yield Static("", id="form-problem")

    def on_mount(self) -> None:
        self._show_fields(self.kind)

    def _show_fields(self, kind: str) -> None:
        fields = self.query_one("#fields")
        fields.remove_children()
        if kind not in LAYERS:
            return
        widgets = []
        for key, default in layer_fields(kind):
            required = default is inspect.Parameter.empty
            value = self.spec.get(key, "") if self.spec.get("type") == kind else ""
            widgets.append(
                Horizontal(
                    Label(f"{key}{' *' if required else ''}", classes="field-label"),
                    Input(
                        value="" if value == "" else str(value),
                        placeholder="required" if required else f"default {default!r}",
                        id=f"field-{key}",
                        classes="field",
                    ),
                    classes="field-row",
                )
            )
        fields.mount_all(widgets)

    @on(Input.Changed, "#type")
    def _type_changed(self, event: Input.Changed) -> None:
        kind = event.value.strip().lower()
        if kind in LAYERS and kind != self.kind:
            self.kind = kind
            self._show_fields(kind)

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        kind = self.query_one("#type", Input).value.strip().lower()
        spec: dict[str, Any] = {"type": kind}
        if kind in LAYERS:
            for key, _ in layer_fields(kind):
                inputs = self.query(f"#field-{key}")
                if inputs and inputs.first(Input).value.strip():
                    spec[key] = parse_value(inputs.first(Input).value)
        try:
            make_layer(spec, self.index)
        except ConfigError as error:
            self.query_one("#form-problem", Static).update(Text(str(error), style="bold red"))
            return
        self.dismiss(spec)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PathForm(ModalScreen[str | None]):
    """Ask for a file name (saving the experiment)."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, question: str, default: str) -> None:
        super().__init__()
        self.question, self.default = question, default

    def compose(self) -> ComposeResult:
        with Vertical(id="path-form"):
            yield Label(self.question)
            yield Input(value=self.default, id="path")

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class BuildScreen(Screen):
    """Edit the draft experiment; `t` trains it when every layer fits."""

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
        self._filling = False  # settings are being filled in: their change events are ours

    def compose(self) -> ComposeResult:
        yield Static("", id="build-summary")
        with Horizontal(id="build-body"):
            table = DataTable(id="layers", cursor_type="row", zebra_stripes=True)
            table.border_title = "layers (a add · i insert · d remove · e edit · K/J move)"
            yield table
            with VerticalScroll(id="settings"):
                yield Label("preset (p)")
                yield Select([(n, n) for n in PRESETS], prompt="load a preset", id="preset")
                yield Label("dataset")
                yield Select([(n, n) for n in DATASETS if ":" not in n], id="dataset",
                             allow_blank=False)  # fmt: skip
                yield Label("loss")
                yield Select([(n, n) for n in LOSSES], id="loss", allow_blank=False)
                yield Label("init")
                yield Select([(n, n) for n in INITIALIZERS], id="init", allow_blank=False)
                yield Label("optimizer")
                yield Select([(n, n) for n in OPTIMIZERS], id="optimizer", allow_blank=False)
                yield Label("learning rate")
                yield Input(id="lr", classes="setting")
                yield Label("optimizer keys (momentum=0.9, weight_decay=1e-4)")
                yield Input(id="opt-keys", classes="setting")
                yield Label("batch size")
                yield Input(id="batch_size", classes="setting", type="integer")
                yield Label("epochs")
                yield Input(id="epochs", classes="setting", type="integer")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#layers", DataTable)
        table.add_columns("#", "type", "keys", "output", "params")
        if self.document:
            self._fill_settings()
        self.refresh_table()

    # ---- the draft ----
    def load_experiment(self, experiment: Experiment) -> None:
        """Show `experiment` as the draft (replacing edits)."""
        self.document = copy.deepcopy(experiment.to_dict())
        self.loaded = experiment  # saving the draft keeps the comments of its file
        if self.is_mounted:
            self._fill_settings()
            self.refresh_table()

    @property
    def layer_specs(self) -> list[dict[str, Any]]:
        return self.document.setdefault("model", {}).setdefault("layers", [])

    def _fill_settings(self) -> None:
        self._filling = True
        try:
            doc = self.document
            self.query_one("#dataset", Select).value = doc["data"]["name"]
            self.query_one("#loss", Select).value = doc["model"].get("loss", "mse")
            self.query_one("#init", Select).value = doc["model"].get("init", "he")
            optimizer = doc["optimizer"]
            self.query_one("#optimizer", Select).value = optimizer.get("name", "adam")
            self.query_one("#lr", Input).value = str(optimizer.get("lr", ""))
            extra = {k: v for k, v in optimizer.items() if k not in OPTIMIZER_COMMON}
            self.query_one("#opt-keys", Input).value = ", ".join(
                f"{k}={v}" for k, v in extra.items()
            )
            self.query_one("#batch_size", Input).value = str(doc["train"].get("batch_size", 64))
            self.query_one("#epochs", Input).value = str(doc["train"].get("epochs", 10))
        finally:
            self.call_after_refresh(setattr, self, "_filling", False)

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
        table = self.query_one("#layers", DataTable)
        row = table.cursor_row
        table.clear()
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
        summary = Text()
        summary.append(f" input {result.input_shape or '?'} → output {result.output_shape or '?'}")
        summary.append(f" · {result.total_params:,} params · {len(result.rows)} layers ")
        if result.ok:
            summary.append(" ready: t trains it ", style="bold green")
        elif self.loading and result.problem.startswith("loading"):
            summary.append(f" {result.problem} ", style="bold yellow")
        else:
            summary.append(f" ✗ {result.problem} ", style="bold red")
        self.query_one("#build-summary", Static).update(summary)

    # ---- settings ----
    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        if self._filling or event.value is Select.BLANK:
            return
        doc = self.document
        if event.select.id == "preset":
            self.load_experiment(preset(str(event.value)))
            self.notify(f"loaded preset {event.value}")
            return
        if event.select.id == "dataset":
            doc["data"] = {"name": event.value}
        elif event.select.id in ("loss", "init"):
            doc["model"][event.select.id] = event.value
        elif event.select.id == "optimizer":
            doc["optimizer"] = {"name": event.value, "lr": doc["optimizer"].get("lr", 0.01)}
            self.query_one("#opt-keys", Input).value = ""
        self.refresh_table()

    @on(Input.Changed, ".setting")
    def _setting_changed(self, event: Input.Changed) -> None:
        if self._filling:
            return
        doc = self.document
        value = event.value.strip()
        key = event.input.id
        try:
            if key == "lr":
                doc["optimizer"]["lr"] = float(value)
            elif key == "opt-keys":
                common = {k: v for k, v in doc["optimizer"].items() if k in OPTIMIZER_COMMON}
                doc["optimizer"] = common | parse_pairs(value)
            elif key in ("batch_size", "epochs"):
                doc["train"][key] = int(value)
        except (ValueError, ConfigError):
            self.query_one("#build-summary", Static).update(
                Text(f" ✗ {key}: {value!r} is not valid", style="bold red")
            )
            self.analysis.problem = f"{key}: {value!r} is not valid"
            return
        self.refresh_table()

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
        if self.layer_specs:
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

    def action_focus_presets(self) -> None:
        self.query_one("#preset", Select).focus()

    # ---- out ----
    def experiment(self) -> Experiment | None:
        """The draft as a validated Experiment, or None (with a notification saying why)."""
        result = self.analyze()
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
            if path:
                try:
                    experiment.save(path)
                except OSError as error:
                    self.notify(f"cannot save {path}: {error}", severity="error")
                    return
                self.notify(f"saved {path} (tuidl run {path} trains it headless)")

        self.app.push_screen(PathForm("save the experiment as", f"{experiment.name}.toml"), done)


__all__ = ["BuildScreen", "LayerForm", "PathForm", "format_keys"]
