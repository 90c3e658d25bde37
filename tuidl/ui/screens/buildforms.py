"""The build screen's dialogs: a layer's form (add, insert, edit) and the file name to save to."""

from __future__ import annotations

import inspect
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, Static

from ...errors import ConfigError
from ...experiment import parse_value
from ...layers import LAYERS, make_layer
from ..forms import format_keys, format_value, layer_fields, parse_typed_line


class LayerForm(ModalScreen[dict[str, Any] | None]):
    """Edit one layer: `TYPE key=value ...` on the first line, or its keys in one field each
    (from the class signature).

    enter on any field checks the layer with `make_layer` and closes; a problem stays on screen
    until the layer is valid again.
    """

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, spec: dict[str, Any] | None, index: int) -> None:
        super().__init__()
        self.spec = dict(spec or {})
        self.index = index
        self.kind = self.spec.get("type", "")
        self.problem_shown = False

    def compose(self) -> ComposeResult:
        with Vertical(id="layer-form"):
            yield Label(
                f"layer {self.index}: TYPE key=value ..., or the keys below\n"
                "enter: OK · escape: cancel"
            )
            yield Input(
                value=self.kind,
                placeholder="conv2d filters=6 kernel=3 · types: " + " ".join(LAYERS),
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
        rows = []
        for key, default in layer_fields(kind):
            required = default is inspect.Parameter.empty
            value = self.spec.get(key) if self.spec.get("type") == kind else None
            rows.append(
                Horizontal(
                    Label(f"{key}{' *' if required else ''}", classes="field-label"),
                    Input(
                        value="" if value is None else format_value(value),
                        placeholder="required" if required else f"default {default!r}",
                        id=f"field-{key}",
                        classes="field",
                        compact=True,
                    ),
                    classes="field-row",
                )
            )
        fields.mount_all(rows)

    def _typed_kind(self) -> str:
        words = self.query_one("#type", Input).value.split()
        return words[0].lower() if words else ""

    @on(Input.Changed, "#type")
    def _type_changed(self, event: Input.Changed) -> None:
        kind = self._typed_kind()
        if kind in LAYERS and kind != self.kind:
            self.kind = kind
            self._show_fields(kind)
        self._recheck()

    @on(Input.Changed, ".field")
    def _field_changed(self, event: Input.Changed) -> None:
        self._recheck()

    def _recheck(self) -> None:
        """A problem on screen goes as soon as the layer is valid (or says what is left)."""
        if self.problem_shown:
            self._check()

    def _spec(self) -> dict[str, Any]:
        """The layer as typed; ConfigError when the first line is not `TYPE key=value ...`."""
        kind, typed = parse_typed_line(self.query_one("#type", Input).value)
        spec: dict[str, Any] = {"type": kind}
        if kind in LAYERS:
            for key, _ in layer_fields(kind):
                field = self.query(f"#field-{key}")
                if field and field.first(Input).value.strip():
                    spec[key] = parse_value(field.first(Input).value)
        return spec | typed  # the first line's keys win: the user typed them last

    def _check(self) -> dict[str, Any] | None:
        """The layer if `make_layer` takes it, else None with the problem shown."""
        problem = self.query_one("#form-problem", Static)
        try:
            spec = self._spec()
            make_layer(spec, self.index)
        except ConfigError as error:
            problem.update(Text(str(error), style="bold red"))
            self.problem_shown = True
            return None
        problem.update("")
        self.problem_shown = False
        return spec

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        spec = self._check()
        if spec is not None:
            self.dismiss(spec)
        else:
            self._move_typed_keys()

    def _move_typed_keys(self) -> None:
        """Keys typed on the first line go into their fields, so each shows in one place."""
        line = self.query_one("#type", Input)
        try:
            kind, typed = parse_typed_line(line.value)
        except ConfigError:
            return
        for key, value in list(typed.items()):
            fields = self.query(f"#field-{key}")
            if fields:
                fields.first(Input).value = format_value(value)
                del typed[key]
        line.value = " ".join([kind, format_keys(typed)]).strip()

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
