"""The build screen's settings: every value of the experiment but its layers, one row each, and
under a row the problem its value has."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from ...datasets import DATASETS
from ...datasets.normalize import METHODS
from ...experiment import MONITORS
from ...initializers import INIT_NAMES
from ...losses import LOSSES
from ...optimizers import OPTIMIZERS
from ...presets import PRESETS
from ...schedules import SCHEDULES
from ..forms import (
    SETTINGS,
    TYPED_DEFAULTS,
    data_keys,
    keys_hint,
    optimizer_keys,
    setting_value,
)

# the user forms of the catalog (`csv:PATH` ...): the source list offers their prefix, and the
# path goes in a field of its own
USER_FORMS = {info.prefix: name for name, info in DATASETS.items() if info.prefix}
SOURCES = [(n, n) for n in DATASETS if ":" not in n] + [(n, p) for p, n in USER_FORMS.items()]
YES_NO = [("true", True), ("false", False)]


class SettingsPanel(VerticalScroll):
    """The settings of the draft experiment, with a problem line under each.

    The panel holds no experiment: a change of a setting's widgets posts `Edited`, and the
    screen checks it against its draft and answers with `show_problem` (and `fill` for what the
    edit reset). `problems` are the settings whose widgets hold a value the draft refused.
    """

    @dataclass
    class Edited(Message):
        """A setting's widgets hold a new value, not checked yet."""

        setting: str
        value: Any

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problems: dict[str, str] = {}
        self.load_problem = ""  # why the dataset did not load, shown under it
        # until the first fill, the widgets hold their first option, not the draft's value
        self.filled = False

    def compose(self) -> ComposeResult:
        presets = Select(
            [(n, n) for n in PRESETS], prompt="load a preset", id="preset", compact=True
        )
        yield from self._row("preset (p)", presets)
        yield Static("experiment", classes="section")
        yield from self._row("name", Input(id="name", compact=True), problem=True)
        yield from self._typed("seed")
        yield Static("data", classes="section")
        yield from self._row("dataset", _choice("dataset", SOURCES))
        yield from self._row("path", Input(id="data-path", compact=True), row="path-row")
        yield Static("", id="dataset-problem", classes="problem")
        yield from self._row("keys", Input(id="data-keys", compact=True), problem=True)
        yield from self._row("normalize", _choice("normalize", [(m, m) for m in METHODS]))
        yield from self._typed("val_split")
        yield Static("model", classes="section")
        yield from self._row("loss", _choice("loss", [(n, n) for n in LOSSES]))
        init = Input(
            id="init",
            placeholder="default he; or xavier, svd, gaussian:STD, uniform:LIMIT ...",
            suggester=SuggestFromList(INIT_NAMES),
            compact=True,
        )
        yield from self._row("init", init, problem=True)
        yield Static("optimizer", classes="section")
        yield from self._row("optimizer", _choice("optimizer", [(n, n) for n in OPTIMIZERS]))
        yield from self._typed("lr", "learning rate")
        yield from self._row("keys", Input(id="opt-keys", compact=True), problem=True)
        schedule = Input(
            id="schedule",
            placeholder="none, or TYPE key=value: " + " ".join(SCHEDULES),
            suggester=SuggestFromList(list(SCHEDULES)),
            compact=True,
        )
        yield from self._row("lr schedule", schedule, problem=True)
        yield Static("train", classes="section")
        yield from self._typed("epochs")
        yield from self._typed("batch_size", "batch size")
        yield from self._typed("log_every", "log every")
        yield from self._row("shuffle", _choice("shuffle", YES_NO))
        stop = _choice("early_stopping", [("off", False), ("on", True)])
        yield from self._row("early stopping", stop)
        with Vertical(id="stopping-rows"):
            yield from self._typed("patience", "  patience")
            yield from self._typed("min_delta", "  min_delta")
            yield from self._row("  restore_best", _choice("restore_best", YES_NO))
            yield from self._row("  monitor", _choice("monitor", [(m, m) for m in MONITORS]))

    def _typed(self, setting: str, label: str | None = None) -> Iterator[Widget]:
        default = TYPED_DEFAULTS.get(setting)
        hint = "" if default is None else f"default {default}"
        field = Input(id=setting, placeholder=hint, compact=True)
        yield from self._row(label or setting, field, problem=True)

    @staticmethod
    def _row(
        label: str, widget: Widget, *, problem: bool = False, row: str | None = None
    ) -> Iterator[Widget]:
        yield Horizontal(
            Label(label, classes="setting-label"), widget, classes="setting-row", id=row
        )
        if problem:
            yield Static("", id=f"{widget.id}-problem", classes="problem")

    # ---- out: what the widgets hold ----
    def value(self, setting: str) -> Any:
        """What the widgets of `setting` hold: the text typed, or the choice made."""
        if setting == "dataset":
            source = self.query_one("#dataset", Select).value
            if source in USER_FORMS:
                return f"{source}:{self.query_one('#data-path', Input).value.strip()}"
            return source
        return self.query_one(f"#{setting}", Input | Select).value

    @staticmethod
    def setting_of(field: Input) -> str:
        """The setting a field is part of."""
        return "dataset" if field.id == "data-path" else str(field.id)

    @on(Input.Changed)
    def _typed_in(self, event: Input.Changed) -> None:
        setting = self.setting_of(event.input)
        if self.filled and setting in SETTINGS:
            self.post_message(self.Edited(setting, self.value(setting)))

    @on(Select.Changed)
    def _picked(self, event: Select.Changed) -> None:
        if self.filled and event.select.id in SETTINGS:
            self._show_rows()
            self.post_message(self.Edited(event.select.id, self.value(event.select.id)))

    # ---- in: what the draft says ----
    def fill(self, document: dict[str, Any], settings: Iterable[str] | None = None) -> None:
        """Show the draft's values in the widgets of `settings` (all when None), without
        problems. The changes they post edit the draft to what it holds: nothing."""
        self.filled = True
        for setting in SETTINGS if settings is None else settings:
            value = setting_value(document, setting)
            if setting == "dataset":
                prefix, sep, path = value.partition(":")
                if sep and prefix in USER_FORMS:
                    value = prefix
                    self.query_one("#data-path", Input).value = path
            self.query_one(f"#{setting}", Input | Select).value = value
            self.show_problem(setting, "")
        dataset = document.get("data", {}).get("name", "")
        optimizer = document.get("optimizer", {}).get("name", "")
        self.query_one("#data-keys", Input).placeholder = keys_hint(data_keys(dataset)) or "none"
        self.query_one("#opt-keys", Input).placeholder = keys_hint(optimizer_keys(optimizer))
        self._show_rows()

    def show_problem(self, setting: str, problem: str) -> None:
        """Show what is wrong with the value of `setting` ('': nothing)."""
        if problem:
            self.problems[setting] = problem
        else:
            self.problems.pop(setting, None)
        fields = ["#dataset", "#data-path"] if setting == "dataset" else [f"#{setting}"]
        for field in fields:
            self.query_one(field).set_class(bool(problem), "-problem")
        self._show_line(setting)

    def show_load_problem(self, problem: str) -> None:
        """Show why the dataset did not load ('': it did, or is loading)."""
        if problem != self.load_problem:
            self.load_problem = problem
            self._show_line("dataset")

    def _show_line(self, setting: str) -> None:
        lines = self.query(f"#{setting}-problem")
        if not lines:  # picked from a list: its value is always valid
            return
        text = self.problems.get(setting) or (self.load_problem if setting == "dataset" else "")
        lines.first(Static).update(Text(text, style="red"))
        lines.first().display = bool(text)

    def _show_rows(self) -> None:
        source = self.query_one("#dataset", Select).value
        self.query_one("#path-row").display = source in USER_FORMS
        if source in USER_FORMS:
            self.query_one("#data-path", Input).placeholder = USER_FORMS[source]
        stopping = self.query_one("#early_stopping", Select).value is True
        self.query_one("#stopping-rows").display = stopping


def _choice(setting: str, options: list[tuple[str, Any]]) -> Select:
    return Select(options, id=setting, allow_blank=False, compact=True)
