"""Helpers for the app's Pilot tests: tiny experiments and waiting for a condition."""

from __future__ import annotations

import time

from tuidl.experiment import Experiment
from tuidl.presets import preset

TINY = ["train.epochs=2", "data.n=200"]  # spiral, 5 steps per epoch at batch 32


def tiny(epochs: int = 2):
    """spiral-mlp cut down to a couple of seconds of training."""
    return preset("spiral-mlp").with_overrides([f"train.epochs={epochs}", "data.n=200"])


def two_conv():
    """digits with two conv layers (4 then 6 filters): 6 steps per epoch at batch 256."""
    document = preset("digits-cnn").to_dict()
    document["model"]["layers"] = [
        {"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"},
        {"type": "relu"},
        {"type": "conv2d", "filters": 6, "kernel": 3, "padding": "same"},
        {"type": "relu"},
        {"type": "maxpool2d", "size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 10},
    ]
    document["train"] = dict(document["train"], epochs=2, batch_size=256)
    return Experiment.from_dict(document)


def tiny_dbn():
    """digits-dbn cut down: rbm layers of 32 (3 pretraining epochs) and 16 units (2), then one
    training epoch; 6 steps per epoch at batch 256."""
    document = preset("digits-dbn").to_dict()
    document["model"]["layers"] = [
        {"type": "flatten"},
        {"type": "rbm", "units": 32, "pretrain_epochs": 3},
        {"type": "rbm", "units": 16, "pretrain_epochs": 2},
        {"type": "dense", "units": 10},
    ]
    document["train"] = dict(document["train"], epochs=1, batch_size=256)
    return Experiment.from_dict(document)


async def wait_for(pilot, condition, timeout: float = 10.0, what: str = "condition") -> None:
    """Let the app run until `condition()` holds (fails the test after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)
