"""Messages between screens and the app, named as facts."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from ..experiment import Experiment


@dataclass
class ExperimentAccepted(Message):
    """The build screen produced a valid experiment and asks to train it."""

    experiment: Experiment
