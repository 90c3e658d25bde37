"""Every preset builds and takes a step; the deep presets show what they are for in their first
epoch's gradients. What whole runs reach is in e2e/test_training_runs.py."""

from __future__ import annotations

import numpy as np
import pytest

from tuidl.presets import PRESETS, preset
from tuidl.trainer import Trainer


# the MNIST presets read the IDX files: tests/e2e/test_lessons.py runs them where they are
@pytest.mark.parametrize(
    "name", [n for n, (_, t) in PRESETS.items() if t["data"]["name"] != "mnist"]
)
def test_every_preset_builds_and_takes_a_step(name):
    trainer = Trainer(preset(name))
    while not trainer.pretraining.done:  # digits-dbn: the rbm layers pretrain first
        trainer.step()
    record = trainer.step()
    assert np.isfinite(record["loss"])


def first_to_last_gradient_ratio(name: str) -> float:
    """Median over an epoch of ‖grad first layer‖ / ‖grad last layer‖."""
    trainer = Trainer(preset(name))
    ratios = []
    for _ in range(trainer.steps_per_epoch):
        norms = list(trainer.step()["grad_norm"].values())
        ratios.append(norms[0] / norms[-1])
    return float(np.median(ratios))


def test_deep_sigmoid_gradients_vanish_and_deep_relu_gradients_do_not():
    assert first_to_last_gradient_ratio("deep-sigmoid") < 1e-3
    assert first_to_last_gradient_ratio("deep-relu") > 1e-2
