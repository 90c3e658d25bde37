"""`KeyFooter`: Textual's `Footer`, rebuilt only when the keys it shows change.

Textual's footer recomposes (a dozen new widgets, each styled, then a layout) whenever the
screen's bindings are refreshed, which includes every focus change: 150-180 ms of UI thread
per `tab` at 160x48 on the train screen, whose panels all show the same keys.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """Footer that recomposes only when the keys it shows change."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shown: list[tuple] | None = None  # the keys of the last recompose

    def bindings_changed(self, screen: Screen) -> None:
        shown = [
            (binding.key, binding.action, binding.description, enabled, tooltip)
            for _, binding, enabled, tooltip in screen.active_bindings.values()
            if binding.show
        ]
        if shown == self._shown:
            return
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown = shown  # Footer recomposes now (else at a later change)
        super().bindings_changed(screen)
