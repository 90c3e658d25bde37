"""`RecordView`: a screen the app hands a session's records to, one method per kind.

The app tells records apart (`TuidlApp._hand_over`); a screen overrides what it shows and
inherits doing nothing for the rest.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

from ...session.messages import AlertRaised, ConfusionMeasured, ProbeTaken, RunStarted


class RecordView(Screen):
    """A screen that shows runs' records (see the module)."""

    def begin(self, record: RunStarted) -> None:
        """Run `record.source` (re)started: its curves start afresh."""

    def add_steps(self, steps: list[dict[str, Any]], source: str) -> None:
        """Step lines of run `source`, in order."""

    def add_epochs(self, epochs: list[dict[str, Any]], source: str) -> None:
        """Epoch lines of run `source`, in order."""

    def add_pretrain(self, source: str, data: dict[str, Any]) -> None:
        """A pretraining-epoch line of run `source`."""

    def show_probe(self, record: ProbeTaken) -> None:
        """New data for the image panels."""

    def show_confusion(self, record: ConfusionMeasured) -> None:
        """A new confusion matrix."""

    def show_alert(self, record: AlertRaised) -> None:
        """An alert of run `record.source` started or ended (`record.data["cleared"]`)."""
