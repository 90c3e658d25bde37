"""Whole runs of the healthy presets (their own config, seeds 0-2), made once per test session
and shared by the tests that judge them: no alert in a whole run (test_alert_calibration), and
what the preset reaches on seed 0, its own seed (test_training_runs). They take minutes of one
core's time (mnist-lenet and adding-lstm nearly all of it), so they run two at a time, one
process per core, when the first test asks for them."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from realdata import DATA

from tuidl.presets import preset
from tuidl.trainer import Callback, Diverged, Trainer

SEEDS = [0, 1, 2]
HEALTHY = ["mnist-lenet", "adding-lstm", "digits-cnn", "spiral-mlp", "deep-relu"]  # longest first
HAVE_MNIST = (DATA / "mnist" / "t10k-images-idx3-ubyte.gz").exists()


class AlertRecorder(Callback):
    """Keeps the alert lines and the trained epochs' records."""

    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []
        self.epochs: list[dict[str, Any]] = []

    def on_alert(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self.alerts.append(logs)

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self.epochs.append({k: v for k, v in logs.items() if k not in ("act", "hist")})


@dataclass
class PresetRun:
    alerts: list[dict]
    status: str
    epochs: list[dict]  # the trained epochs' records, without `act` and `hist`
    val: dict[str, float]  # the final weights' loss (and accuracy) on the validation set


def run_preset(name: str, seed: int, epochs: int | None = None) -> PresetRun:
    """Preset `name` trained with `seed` for `epochs` (all of them when None)."""
    overrides = [f"seed={seed}"] + ([f"train.epochs={epochs}"] if epochs else [])
    recorder = AlertRecorder()
    trainer = Trainer(preset(name).with_overrides(overrides), callbacks=[recorder])
    try:
        status = trainer.fit()["status"]
    except Diverged:
        status = "diverged"
    ds = trainer.dataset
    val = trainer.evaluate(ds.x_val, ds.y_val, "val") if status != "diverged" else {}
    return PresetRun(recorder.alerts, status, recorder.epochs, val)


def healthy_runs() -> dict[tuple[str, int], PresetRun]:
    """(preset, seed) -> its whole run, for each healthy preset and seed (mnist-lenet where the
    MNIST files are); conftest's `healthy_runs` fixture makes them once a session."""
    runs = [(name, seed) for name in HEALTHY for seed in SEEDS]
    runs = [run for run in runs if run[0] != "mnist-lenet" or HAVE_MNIST]
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked threads
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        futures = {run: pool.submit(run_preset, *run) for run in runs}
        return {run: future.result() for run, future in futures.items()}
