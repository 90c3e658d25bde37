"""DBN pretraining in the trainer: greedy order, learning, input checks, bit-exact resumption."""

import json
import shutil

import numpy as np
import pytest
from records import Recorder, without_time

from tuidl import runs
from tuidl.checkpoint import load_checkpoint, save_checkpoint
from tuidl.errors import ConfigError
from tuidl.experiment import Experiment
from tuidl.runs import CHECKPOINT, METRICS, RunWriter, open_for_resume, read_metrics
from tuidl.trainer import Trainer


def dbn(layers=None, normalize="minmax", **train) -> Experiment:
    """Digits through flatten, rbm 16 and rbm 8 (2 pretraining epochs each), dense 10."""
    layers = layers or [
        {"type": "rbm", "units": 16, "pretrain_epochs": 2},
        {"type": "rbm", "units": 8, "pretrain_epochs": 2, "cd_k": 2},
        {"type": "dense", "units": 10},
    ]
    return Experiment.from_dict({
        "name": "dbn", "seed": 4, "data": {"name": "digits", "normalize": normalize},
        "model": {"loss": "softmax_cross_entropy", "layers": [{"type": "flatten"}, *layers]},
        "optimizer": {"name": "momentum", "lr": 0.05},
        "train": {"epochs": 2, "batch_size": 64, **train},
    })  # fmt: skip


def test_rbms_pretrain_in_order_before_the_first_optimizer_step():
    recorder = Recorder()
    trainer = Trainer(dbn(), callbacks=[recorder])
    before = {k: v.copy() for k, v in trainer.model.params.items()}
    pretrain_batches = 2 * 2 * trainer.steps_per_epoch
    for _ in range(2 * trainer.steps_per_epoch):  # rbm_0's two epochs
        assert trainer.step() is None
    changed = {k for k, v in trainer.model.params.items() if not np.array_equal(v, before[k])}
    assert changed == {"rbm_0.W", "rbm_0.b", "rbm_0.c"}  # greedy: one layer at a time
    for _ in range(pretrain_batches - 2 * trainer.steps_per_epoch):
        assert trainer.step() is None
    assert trainer.pretraining.done and trainer.step_count == 0
    assert not np.array_equal(trainer.model.params["rbm_1.W"], before["rbm_1.W"])
    np.testing.assert_array_equal(trainer.model.params["dense_0.W"], before["dense_0.W"])
    assert trainer.step()["step"] == 1
    kinds = [(r["kind"], r.get("layer"), r["epoch"]) for r in recorder.records]
    assert kinds == [("pretrain", "rbm_0", 1), ("pretrain", "rbm_0", 2),
                     ("pretrain", "rbm_1", 1), ("pretrain", "rbm_1", 2),
                     ("epoch", None, 0),  # the pretrained network, before the first update
                     ("step", None, 1 / trainer.steps_per_epoch)]  # fmt: skip
    assert {"recon_error", "epochs", "time"} <= set(recorder.records[0])


def test_pretraining_lowers_the_reconstruction_error_on_digits():
    layers = [{"type": "rbm", "units": 64, "pretrain_epochs": 5}, {"type": "dense", "units": 10}]
    recorder = Recorder()
    trainer = Trainer(dbn(layers, batch_size=32), callbacks=[recorder])
    while not trainer.pretraining.done:
        trainer.step()
    errors = [r["recon_error"] for r in recorder.records]
    assert len(errors) == 5
    assert errors[-1] < 0.7 * errors[0], errors
    # well below reconstructing every image as the mean image (measured: 0.54 of it)
    x = trainer.dataset.x_train.reshape(len(trainer.dataset.x_train), -1)
    mean_image_error = float(np.mean((x - x.mean(axis=0)) ** 2))
    assert errors[-1] < 0.6 * mean_image_error, (errors, mean_image_error)


def test_zero_pretrain_epochs_skip_the_layer_and_activations_count_saturation():
    layers = [{"type": "rbm", "units": 16, "pretrain_epochs": 0}, {"type": "dense", "units": 10}]
    recorder = Recorder()
    Trainer(dbn(layers, epochs=1), callbacks=[recorder]).fit()
    assert [r["kind"] for r in recorder.records[:2]] == ["epoch", "step"]
    assert "saturated" in recorder.records[-1]["act"]["rbm_0"]


def test_standardized_inputs_are_refused_naming_minmax():
    with pytest.raises(ConfigError, match=r'layer 1 \(rbm\).*data.normalize = "minmax"'):
        Trainer(dbn(normalize="standard"))


def test_a_later_rbm_checks_its_inputs_when_its_turn_comes():
    layers = [
        {"type": "rbm", "units": 16, "pretrain_epochs": 1},
        {"type": "dense", "units": 8},  # outputs outside [0, 1]
        {"type": "rbm", "units": 10, "pretrain_epochs": 1},
    ]
    trainer = Trainer(dbn(layers))
    with pytest.raises(ConfigError, match=r"layer 3 \(rbm\)"):
        trainer.fit()


@pytest.mark.parametrize(
    "stop",
    [5, 23 + 5, 46, 46 + 30, 92, 92 + 3],  # 23 batches per epoch; 92 pretraining batches
    ids=["rbm_0-epoch-1", "rbm_0-epoch-2", "rbm_1-start", "rbm_1-middle", "done", "training"],
)
def test_stop_checkpoint_resume_is_bit_exact_at_any_point(tmp_path, stop):
    whole = Recorder()
    reference = Trainer(dbn(), callbacks=[whole])
    reference.fit()

    first = Recorder()
    trainer = Trainer(dbn(), callbacks=[first])
    assert trainer.steps_per_epoch == 23
    for _ in range(stop):
        trainer.step()
    save_checkpoint(tmp_path / "c.npz", trainer.model, trainer.optimizer, trainer.state_dict())

    second = Recorder()
    resumed = Trainer(dbn(), callbacks=[second])
    resumed.load_state_dict(load_checkpoint(tmp_path / "c.npz", resumed.model, resumed.optimizer))
    resumed.fit()
    assert without_time(first.records + second.records) == without_time(whole.records)
    assert resumed.model.flat_params.tobytes() == reference.model.flat_params.tobytes()


def test_resume_after_a_crash_drops_pretrain_records_newer_than_the_checkpoint(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(runs, "CHECKPOINT_EVERY_S", 0.0)  # a checkpoint at every epoch end
    whole = tmp_path / "whole"
    whole.mkdir()
    writer = RunWriter(whole)
    Trainer(dbn(), callbacks=[writer]).fit()
    writer.close()

    run = tmp_path / "run"
    run.mkdir()
    writer = RunWriter(run)
    trainer = Trainer(dbn(), callbacks=[writer])
    writer.on_train_begin(trainer)
    while trainer.pretraining.epochs_done < 1:
        trainer.step()
    shutil.copy(run / CHECKPOINT, tmp_path / "saved.npz")  # written at that epoch's end
    while trainer.pretraining.epochs_done < 3:  # two more records, then the process "dies"
        trainer.step()
    writer.close()
    shutil.copy(tmp_path / "saved.npz", run / CHECKPOINT)
    assert sum(r["kind"] == "pretrain" for r in read_metrics(run)) == 3

    trainer, writer = open_for_resume(run)
    assert sum(r["kind"] == "pretrain" for r in read_metrics(run)) == 1
    trainer.fit()
    writer.close()
    assert without_time(read_metrics(run)) == without_time(read_metrics(whole))
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished"
    assert (run / METRICS).read_text().count('"kind": "pretrain"') == 4
