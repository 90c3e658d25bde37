"""The trainer: learning XOR, bit-for-bit repeatability and resumption (histograms and the
epoch-0 record too), divergence, early stop."""

import numpy as np
import pytest
from records import Recorder, without_time

from tuidl.checkpoint import load_checkpoint, save_checkpoint
from tuidl.datasets import Dataset
from tuidl.experiment import Experiment
from tuidl.trainer import Diverged, Trainer

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def xor_truth_table() -> Dataset:
    return Dataset(name="xor", x_train=XOR_X, y_train=XOR_Y, x_val=XOR_X, y_val=XOR_Y,
                   input_shape=(2,), task="classification", num_outputs=2)  # fmt: skip


def experiment(**changes) -> Experiment:
    document = {
        "name": "t",
        "seed": 5,
        "data": {"name": "spiral", "n": 200, "noise": 0.1},
        "model": {
            "loss": "softmax_cross_entropy",
            "layers": [
                {"type": "dense", "units": 16},
                {"type": "batchnorm"},
                {"type": "relu"},
                {"type": "dropout", "rate": 0.1},
                {"type": "dense", "units": 2},
            ],
        },
        "optimizer": {"name": "adam", "lr": 0.01},
        "train": {"epochs": 3, "batch_size": 16},
    }
    for key, value in changes.items():
        document[key] = value
    return Experiment.from_dict(document)


def test_two_layer_mlp_learns_xor_perfectly():
    exp = experiment(
        model={
            "loss": "softmax_cross_entropy",
            "init": "xavier",
            "layers": [
                {"type": "dense", "units": 4},
                {"type": "tanh"},
                {"type": "dense", "units": 2},
            ],
        },  # fmt: skip
        optimizer={"name": "adam", "lr": 0.05},
        train={"epochs": 300, "batch_size": 4},
    )
    trainer = Trainer(exp, dataset=xor_truth_table())
    trainer.fit()
    assert trainer.evaluate(XOR_X, XOR_Y, "xor")["xor_acc"] == 1.0


def test_same_seed_same_everything():
    runs = []
    for _ in range(2):
        recorder = Recorder()
        trainer = Trainer(experiment(), callbacks=[recorder])
        trainer.fit()
        weights = b"".join(v.tobytes() for v in trainer.model.params.values())
        runs.append((without_time(recorder.records), weights))
    assert runs[0] == runs[1]  # the histograms of every epoch too
    assert runs[0][0][-1]["kind"] == "epoch" and "val_acc" in runs[0][0][-1]
    assert set(runs[0][0][-1]["hist"]) == {"act", "grad", "weight"}


def test_stop_checkpoint_resume_is_bit_exact(tmp_path):
    whole = Recorder()
    reference = Trainer(experiment(), callbacks=[whole])
    reference.fit()

    first = Recorder()
    trainer = Trainer(experiment(), callbacks=[first])
    for _ in range(trainer.steps_per_epoch + 3):  # stop in the middle of epoch 2
        trainer.step()
    save_checkpoint(tmp_path / "c.npz", trainer.model, trainer.optimizer, trainer.state_dict())

    second = Recorder()
    resumed = Trainer(experiment(), callbacks=[second])
    extra = load_checkpoint(tmp_path / "c.npz", resumed.model, resumed.optimizer)
    resumed.load_state_dict(extra)
    resumed.fit()
    assert second.records[0]["kind"] == "step"  # the epoch-0 record is the first run's only
    assert without_time(first.records + second.records) == without_time(whole.records)
    for key, value in reference.model.params.items():
        assert resumed.model.params[key].tobytes() == value.tobytes(), key


def test_step_records_carry_gradient_diagnostics():
    recorder = Recorder()
    trainer = Trainer(experiment(), callbacks=[recorder])
    trainer.step()
    zero, record = recorder.records  # the first step writes the epoch-0 record before it
    assert zero["epoch"] == 0 and record["kind"] == "step" and record["step"] == 1
    assert set(record["grad_norm"]) == {"dense_0", "batchnorm_0", "dense_1"}
    assert all(v > 0 for v in record["grad_norm"].values())
    assert all(0 < v < 1 for v in record["update_ratio"].values())


def test_epoch_records_carry_activation_statistics():
    recorder = Recorder()
    Trainer(experiment(train={"epochs": 1, "batch_size": 16}), callbacks=[recorder]).fit()
    epoch = recorder.records[-1]
    assert set(epoch["act"]) == {"dense_0", "batchnorm_0", "relu_0", "dropout_0", "dense_1"}
    assert 0 <= epoch["act"]["relu_0"]["dead"] <= 1


def test_nan_loss_raises_diverged_and_keeps_good_weights():
    trainer = Trainer(experiment(optimizer={"name": "sgd", "lr": 1e30}))
    before = None
    with pytest.raises(Diverged) as error:
        for _ in range(100):
            before = {k: v.copy() for k, v in trainer.model.params.items()}
            trainer.step()
    assert "smaller learning rate" in str(error.value)
    assert error.value.step == trainer.step_count + 1
    for key, value in trainer.model.params.items():
        np.testing.assert_array_equal(value, before[key])


def test_early_stopping_stops_and_restores_best_weights():
    exp = experiment(
        optimizer={"name": "sgd", "lr": 1e-9},  # nothing improves after the first epoch
        train={
            "epochs": 50,
            "batch_size": 16,
            "early_stopping": {"patience": 2, "min_delta": 1e-3},
        },
    )
    recorder = Recorder()
    trainer = Trainer(exp, callbacks=[recorder])
    trainer.fit()
    epochs = [r for r in recorder.records if r["kind"] == "epoch"]
    assert trainer.finished and len(epochs) < 50
    assert epochs[-1].get("early_stop") is True


def test_paused_clock_does_not_count_towards_elapsed(monkeypatch):
    now = [100.0]
    monkeypatch.setattr("tuidl.trainer.time.perf_counter", lambda: now[0])
    trainer = Trainer(experiment())
    now[0] += 2.0
    trainer.pause_clock()
    now[0] += 50.0  # paused: not training time
    assert trainer.elapsed == pytest.approx(2.0)
    trainer.resume_clock()
    now[0] += 3.0
    assert trainer.elapsed == pytest.approx(5.0)
