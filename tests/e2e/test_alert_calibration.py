"""The alerts calibrated on the presets, seeds 0-2: deep-sigmoid, exploding-rnn and dying-relu
raise theirs within their first epoch; the healthy presets raise none in a whole run.

The first epoch decides the three that raise (what they must show happens in it, and nothing
later changes it). The healthy presets' whole runs take the time (mnist-lenet and adding-lstm
nearly all of it; two minutes on a busy 2-core machine): they run two at a time, one process
per core, when the first test asks for them.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tuidl.diagnostics import DEAD_FRACTION
from tuidl.presets import preset
from tuidl.trainer import Callback, Diverged, Trainer

SEEDS = [0, 1, 2]
HEALTHY = ["mnist-lenet", "adding-lstm", "digits-cnn", "spiral-mlp", "deep-relu"]  # longest first
HAVE_MNIST = (
    Path(os.environ.get("TUIDL_DATA", "/nonexistent")) / "mnist" / "t10k-images-idx3-ubyte.gz"
).exists()


class AlertRecorder(Callback):
    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []

    def on_alert(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self.alerts.append(logs)


def alerts_of(name: str, seed: int, epochs: int | None = None) -> tuple[list[dict], str]:
    """The alert lines of preset `name` trained with `seed` for `epochs` (all of them when
    None), and how the run ended."""
    overrides = [f"seed={seed}"] + ([f"train.epochs={epochs}"] if epochs else [])
    recorder = AlertRecorder()
    trainer = Trainer(preset(name).with_overrides(overrides), callbacks=[recorder])
    try:
        status = trainer.fit()["status"]
    except Diverged:
        status = "diverged"
    return recorder.alerts, status


@pytest.fixture(scope="module")
def healthy_runs() -> dict[tuple[str, int], tuple[list[dict], str]]:
    runs = [(name, seed) for name in HEALTHY for seed in SEEDS]
    runs = [run for run in runs if run[0] != "mnist-lenet" or HAVE_MNIST]
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked threads
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        futures = {run: pool.submit(alerts_of, *run) for run in runs}
        return {run: future.result() for run, future in futures.items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", HEALTHY)
def test_a_healthy_preset_raises_no_alert_in_a_whole_run(healthy_runs, name):
    if name == "mnist-lenet" and not HAVE_MNIST:
        pytest.skip("MNIST files not found: set TUIDL_DATA to a folder with mnist/t10k-*.gz")
    for seed in SEEDS:
        alerts, status = healthy_runs[name, seed]
        assert status == "finished" and alerts == [], (seed, alerts)


@pytest.mark.parametrize("seed", SEEDS)
def test_deep_sigmoid_names_its_first_layers_vanishing_in_its_first_epoch(seed):
    alerts, _ = alerts_of("deep-sigmoid", seed, epochs=1)
    assert {a["alert"] for a in alerts} == {"vanishing"} and not any("cleared" in a for a in alerts)
    layers = [a["layer"] for a in alerts]
    assert layers[:5] == [f"dense_{k}" for k in range(5)], layers
    assert set(layers) <= {f"dense_{k}" for k in range(7)}, layers  # not the last layers
    assert all(a["value"] < a["threshold"] == 1e-3 for a in alerts)


@pytest.mark.parametrize("seed", SEEDS)
def test_exploding_rnn_raises_exploding_before_its_loss_overflows(seed):
    alerts, status = alerts_of("exploding-rnn", seed, epochs=1)
    assert status == "diverged"
    first = alerts[0]
    assert first["alert"] == "exploding" and "cleared" not in first, alerts
    assert first["step"] <= 15 and first["value"] > first["threshold"]


@pytest.mark.parametrize("seed", SEEDS)
def test_dying_relu_raises_dead_relu_at_its_first_epoch_end(seed):
    alerts, status = alerts_of("dying-relu", seed, epochs=1)
    assert status == "finished" and alerts, alerts
    for alert in alerts:
        assert alert["alert"] == "dead_relu" and alert["layer"].startswith("relu_")
        assert alert["epoch"] == 1 and alert["value"] > DEAD_FRACTION
