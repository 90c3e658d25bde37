"""The app's race (`CompareSession`) ends every run the way the real `tuidl compare` does: the
same summaries, and an early-stopped run's checkpoint holds its best epoch's weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clitools import run_tuidl
from uitools import tiny
from waiting import wait_until

from tuidl.checkpoint import load_checkpoint
from tuidl.experiment import Experiment
from tuidl.session.compare import CompareSession
from tuidl.trainer import Trainer
from tuidl.variants import plan_race


def race_experiment(tmp_path: Path) -> Path:
    """Tiny spiral that early-stops (patience 0, best weights restored), as a file."""
    experiment = tiny(epochs=60).with_overrides(
        ["train.early_stopping={patience=0, restore_best=true}"]
    )
    path = tmp_path / "race.toml"
    experiment.save(path)
    return path


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_race_summaries_match_tuidl_compare(tmp_path):
    path = race_experiment(tmp_path)
    experiment = Experiment.load(path)
    variants = plan_race([experiment], "adam,sgd:1e38")
    race = CompareSession(experiment.name, variants, runs_root=tmp_path / "app")
    race.start()
    try:
        wait_until(lambda: race.progress().state == "finished", 30, "the race over")
        assert race.progress().runs == {"adam": "early_stopped", "sgd:1e38": "diverged"}
    finally:
        race.close()
    result = run_tuidl("compare", str(path), "--optimizers", "adam,sgd:1e38", "--out", "cli",
                       tmp_path=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    (app_root,) = (tmp_path / "app").iterdir()
    (cli_root,) = (tmp_path / "cli").iterdir()
    for folder in ("adam", "sgd-lr1e38"):
        app_summary = json.loads((app_root / folder / "summary.json").read_text())
        cli_summary = json.loads((cli_root / folder / "summary.json").read_text())
        for key in ("status", "epoch", "step", "best", "final", "diverged_at_step"):
            assert app_summary.get(key) == cli_summary.get(key), (folder, key)
    summary = json.loads((app_root / "adam" / "summary.json").read_text())
    assert summary["status"] == "early_stopped"
    assert json.loads((app_root / "sgd-lr1e38" / "summary.json").read_text())["status"] == (
        "diverged"
    )
    # the checkpoint holds the best epoch's weights: its validation loss is the best one
    trainer = Trainer(experiment)
    load_checkpoint(app_root / "adam" / "checkpoint.npz", trainer.model, trainer.optimizer)
    x_val, y_val = trainer.dataset.x_val, trainer.dataset.y_val
    val_loss = trainer.evaluate(x_val, y_val, "val")["val_loss"]
    assert val_loss == pytest.approx(summary["best"]["val_loss"], rel=1e-6)
    assert summary["best"]["val_loss"] < summary["final"]["val_loss"]  # restoring mattered
