"""The epoch-0 record (the network before its first update) and the histograms of every epoch
record: where the record comes, what it holds, that measuring changes nothing the run
computes, runs of 0 epochs, resuming around the record, and the summary's best metrics. (Runs
with histograms twice the same, and resumed bit for bit: test_trainer.py.)"""

import json

import numpy as np
from records import Recorder, without_time
from test_trainer import experiment
from uitools import tiny_dbn

from tuidl import runs
from tuidl.diagnostics import layer_stats
from tuidl.histograms import KINDS
from tuidl.runs import RunWriter, open_for_resume, read_metrics
from tuidl.trainer import Trainer


def recorded(exp, epochs=None) -> tuple[Trainer, list[dict]]:
    recorder = Recorder()
    trainer = Trainer(exp, callbacks=[recorder])
    trainer.fit(epochs)
    return trainer, recorder.records


def weights(trainer: Trainer) -> bytes:
    return trainer.model.flat_params.tobytes()


def test_the_epoch_zero_record_comes_first_and_holds_no_training_loss():
    trainer, records = recorded(experiment())
    zero = records[0]
    assert (zero["kind"], zero["epoch"], zero["step"]) == ("epoch", 0, 0)
    assert "train_loss" not in zero and "train_acc" not in zero
    assert {"val_loss", "val_acc", "act", "hist", "lr", "time"} <= set(zero)
    assert records[1]["kind"] == "step" and records[1]["step"] == 1
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [0, 1, 2, 3]
    for record in epochs:
        assert set(record["hist"]) == set(KINDS)
        assert set(record["hist"]["act"]) == set(record["act"])
        assert set(record["hist"]["grad"]) == set(trainer.model.layer_slices)
    # the weight ranges stay as the initial weights set them
    assert {json.dumps(r["hist"]["weight"]["dense_0"]["edges"]) for r in epochs} == {
        json.dumps(epochs[0]["hist"]["weight"]["dense_0"]["edges"])
    }


def test_measuring_changes_nothing_the_run_computes(monkeypatch):
    """The same run with the statistics alone, no histograms and no gradient pass: the same
    weights and step records, bit for bit."""
    trainer, records = recorded(experiment())

    def statistics_only(model, x, t, limits):
        act = {}
        for layer in model.layers:
            x = layer.forward(x, train=False)
            act[layer.name] = layer_stats(layer, x)
        return act, {}

    monkeypatch.setattr("tuidl.trainer.measure", statistics_only)
    plain, plain_records = recorded(experiment())
    assert weights(trainer) == weights(plain)
    steps = [r for r in without_time(records) if r["kind"] == "step"]
    assert steps == [r for r in without_time(plain_records) if r["kind"] == "step"]


def test_zero_epochs_write_the_epoch_zero_record_and_a_finished_summary(tmp_path):
    exp = experiment(train={"epochs": 0, "batch_size": 16, "early_stopping": {"patience": 1}})
    writer = RunWriter(tmp_path)
    trainer = Trainer(exp, callbacks=[writer])
    before = weights(trainer)
    end = trainer.fit()
    assert end["status"] == "finished" and trainer.step_count == 0
    assert weights(trainer) == before
    (zero,) = read_metrics(tmp_path)
    assert zero["kind"] == "epoch" and zero["epoch"] == 0 and "hist" in zero
    summary = json.loads((tmp_path / runs.SUMMARY).read_text())
    assert (summary["status"], summary["epoch"], summary["step"]) == ("finished", 0, 0)
    assert set(summary["final"]) == {"val_loss", "val_acc"}
    assert summary["best"] == {}  # the initial weights are no trained epoch
    assert trainer.early_stopping.wait == 0 and trainer.early_stopping.best == np.inf


def test_zero_epochs_pretrain_first():
    trainer, records = recorded(tiny_dbn(), epochs=0)
    kinds = [r["kind"] for r in records]
    assert kinds == ["pretrain"] * 5 + ["epoch"] and trainer.step_count == 0
    assert trainer.reached(0) and not trainer.reached(1)


def test_best_metrics_leave_epoch_zero_out():
    writer = RunWriter("unused")
    writer.track({"epoch": 0, "val_loss": 0.1, "val_acc": 0.9})
    writer.track({"epoch": 1, "train_loss": 0.7, "val_loss": 0.5, "val_acc": 0.4})
    assert writer.best == {"train_loss": 0.7, "val_loss": 0.5, "val_acc": 0.4}
    writer.track({"epoch": 0, "val_loss": 0.1})  # a resume reading the file back
    assert writer.best["val_loss"] == 0.5 and writer.last_epoch["epoch"] == 0


def test_a_run_killed_after_its_epoch_zero_record_resumes_writing_it_once(tmp_path, monkeypatch):
    """The last checkpoint is of the end of pretraining, before the epoch-0 record: a resume
    drops that record with the lines after it and writes it again."""
    monkeypatch.setattr(runs, "CHECKPOINT_EVERY_S", 0.0)  # a checkpoint at every epoch end
    _, whole = recorded(tiny_dbn())
    writer = RunWriter(tmp_path)
    trainer = Trainer(tiny_dbn(), callbacks=[writer])
    trainer.begin()
    while not trainer.pretraining.done:
        trainer.step()
    trainer.step()  # the epoch-0 record and step 1, then killed: no checkpoint after them
    writer.close()
    trainer, writer = open_for_resume(tmp_path)
    trainer.fit()
    writer.close()
    lines = read_metrics(tmp_path)
    assert [r["epoch"] for r in lines if r["kind"] == "epoch"] == [0, 1]
    assert without_time(lines) == without_time(whole)


def test_checkpoints_from_before_epoch_zero_records_count_as_started_once_trained():
    trainer = Trainer(experiment())
    trainer.fit(1)
    state = trainer.state_dict()
    del state["started"]
    resumed = Trainer(experiment())
    resumed.load_state_dict(state)
    assert resumed.started
    fresh = Trainer(experiment()).state_dict()
    del fresh["started"]
    resumed = Trainer(experiment())
    resumed.load_state_dict(fresh)
    assert not resumed.started
