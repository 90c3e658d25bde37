"""Sessions without Textual: a run driven by commands, in a thread and in a child process, and
run directories followed live. That a race ends every run the way `tuidl compare` does is
checked against the real command in e2e/test_race_matches_compare.py."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from uitools import tiny, two_conv
from waiting import wait_until

from tuidl.model import Sequential
from tuidl.presets import preset
from tuidl.probe import Probe, class_probabilities
from tuidl.session.child import NICE, ProcessSession
from tuidl.session.follow import FollowSession
from tuidl.session.messages import (
    AlertRaised,
    ConfusionMeasured,
    EpochEnded,
    Failed,
    LrChanged,
    Pause,
    ProbeTaken,
    Reinit,
    Resume,
    RunEnded,
    RunStarted,
    Save,
    Saved,
    ScaleLr,
    ShowView,
    Step,
    StepLogged,
)
from tuidl.session.run import Launch
from tuidl.session.sink import RecordQueue, SessionSink
from tuidl.session.thread import ThreadSession
from tuidl.trainer import Trainer

TIMEOUT = 30.0
HOLD = 0.4  # seconds: as long as 100+ throttled steps; what a pause must hold still for, and
# what shows training while running


class Watcher:
    """Drains a session into `records` while waiting for a condition on them or its progress."""

    def __init__(self, session) -> None:
        self.session = session
        self.records: list = []

    def until(self, condition, what: str, timeout: float = TIMEOUT) -> None:
        def drained_then_checked():
            self.records += self.session.drain()
            return condition()

        wait_until(drained_then_checked, timeout, what, interval=0.01)

    def of(self, kind) -> list:
        return [record for record in self.records if isinstance(record, kind)]

    def progress(self):
        return self.session.progress()

    def step(self) -> int:
        progress = self.session.progress()
        return -1 if progress is None else progress.step


@pytest.fixture
def started():
    """Start sessions; every one is closed after the test, even a failing one."""
    sessions = []

    def start(session):
        sessions.append(session)
        session.start()
        return Watcher(session)

    yield start
    for session in sessions:
        session.close()


def test_record_queue_keeps_each_threads_order():
    queue = RecordQueue()
    threads = [
        threading.Thread(target=lambda k=k: [queue.put(Saved(str(k), str(i))) for i in range(500)])
        for k in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    items = queue.drain()
    assert len(items) == 2000 and queue.drain() == []
    for k in range(4):
        assert [int(r.path) for r in items if r.source == str(k)] == list(range(500))


@pytest.mark.parametrize("kind", [ThreadSession, ProcessSession], ids=["thread", "process"])
def test_commands_step_scale_lr_pause_save_and_reinit(kind, started, tmp_path):
    watch = started(kind(Launch(tiny(epochs=200), str(tmp_path), throttle=0.002)))
    watch.until(lambda: watch.step() == 0 and watch.of(RunStarted), "the run ready")
    assert watch.progress().state == "paused"  # starts paused: nothing trains
    first = watch.of(RunStarted)[0]
    assert first.layers == ["dense_0", "dense_1", "dense_2"] and first.steps_per_epoch == 5
    watch.session.send(Step())
    watch.until(lambda: watch.step() == 1 and watch.progress().state == "paused", "one step")
    assert [r.data["step"] for r in watch.of(StepLogged)] == [1]
    watch.session.send(ScaleLr(2.0))
    watch.until(lambda: not watch.progress().pending, "lr applied")
    assert watch.progress().lr == pytest.approx(0.02) and watch.of(LrChanged)[0].lr == 0.02

    watch.session.send(Resume())
    assert watch.progress().running  # the view's word counts until the session applied it
    watch.until(lambda: watch.step() > 10, "training")
    watch.session.send(Pause())
    watch.until(lambda: watch.progress().state == "paused", "paused")
    held = watch.step()
    watch.session.send(Save())
    watch.until(lambda: watch.of(Saved), "saved")
    run_dir = Path(first.run_dir)
    assert watch.of(Saved)[0].path == str(run_dir / "checkpoint.npz")
    assert watch.step() == held  # a save (and the time it took) trained nothing
    logged = [r.data["step"] for r in watch.of(StepLogged)]
    assert logged == list(range(1, held + 1))

    watch.session.send(Reinit())
    watch.until(lambda: len(watch.of(RunStarted)) == 2 and watch.step() == 0, "a fresh run")
    second = watch.of(RunStarted)[1]
    assert second.run_dir != first.run_dir and second.lr == pytest.approx(0.02)
    assert (first.seed, second.seed) == (0, 1)  # fresh weights: the next seed
    ended = watch.of(RunEnded)
    assert [(r.status, r.step) for r in ended] == [("interrupted", held)]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["status"], summary["step"]) == ("interrupted", held)
    watch.session.close()
    summary = json.loads((Path(second.run_dir) / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["step"] == 0


def test_a_run_that_ends_says_how_and_waits(started):
    watch = started(ThreadSession(Launch(tiny(epochs=2), None, start_paused=False)))
    watch.until(lambda: watch.of(RunEnded), "the end")
    assert [(r.status, r.step) for r in watch.of(RunEnded)] == [("finished", 10)]
    assert watch.progress().state == "finished" and not watch.progress().running
    probes = watch.of(ProbeTaken)
    assert probes[-1].step == 10 and probes[-1].boundary is not None  # the final weights


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("kind", [ThreadSession, ProcessSession], ids=["thread", "process"])
def test_divergence_ends_the_run_with_its_summary(kind, started, tmp_path):
    experiment = tiny(epochs=5).with_overrides(["optimizer.name=sgd", "optimizer.lr=1e38"])
    watch = started(kind(Launch(experiment, str(tmp_path), start_paused=False)))
    watch.until(lambda: watch.of(RunEnded), "divergence")
    (end,) = watch.of(RunEnded)
    assert end.status == "diverged" and "smaller learning rate" in end.message
    watch.until(lambda: watch.progress().state == "diverged", "the state")
    summary = json.loads(next(tmp_path.iterdir()).joinpath("summary.json").read_text())
    assert summary["status"] == "diverged" and summary["step"] == end.step
    assert summary["diverged_at_step"] == end.step + 1 and f"step {end.step + 1}" in end.message


def test_paused_time_is_not_training_time(started):
    watch = started(ThreadSession(Launch(tiny(epochs=400), None, throttle=0.002)))
    watch.until(lambda: watch.step() == 0, "ready")
    watch.session.send(Resume())
    watch.until(lambda: watch.step() > 5, "training")
    trainer = watch.session.run.trainer
    before, steps = trainer.elapsed, trainer.step_count
    time.sleep(HOLD)
    assert trainer.elapsed > before and trainer.step_count > steps  # HOLD shows training...
    watch.session.send(Pause())
    watch.until(lambda: watch.progress().state == "paused", "paused")
    watch.until(lambda: trainer._started is None, "the clock stopped")
    before, steps = trainer.elapsed, trainer.step_count
    time.sleep(HOLD)
    assert trainer.elapsed == before and trainer.step_count == steps  # ...and none paused
    watch.session.send(Resume())
    watch.until(lambda: trainer.step_count > steps + 5, "training again")
    times = [r.data["time"] for r in watch.of(StepLogged)]
    assert times[steps] - times[steps - 1] < 0.3, f"the {HOLD} s pause was counted"


def test_probe_shows_the_chosen_conv_layer_and_input_and_keeps_them_on_reinit(started):
    watch = started(ThreadSession(Launch(two_conv(), None)))

    def latest(condition, what):
        watch.until(lambda: watch.of(ProbeTaken) and condition(watch.of(ProbeTaken)[-1]), what)
        return watch.of(ProbeTaken)[-1]

    first = latest(lambda p: True, "a probe")
    assert (first.filters.name, first.filters.count) == ("conv2d_0", 2)
    assert first.feature_maps.input == 0 and first.feature_maps.maps.shape[0] == 4
    watch.session.send(ShowView(conv=1, input=2))  # paused: the session re-probes at once
    probe = latest(lambda p: p.filters.index == 1, "the second conv layer")
    assert probe.filters.W.shape[:2] == (6, 4)
    assert probe.feature_maps.input == 2 and probe.feature_maps.maps.shape == (6, 8, 8)
    assert probe.feature_maps.label == int(watch.session.run.dataset.y_val[2])
    watch.session.send(ShowView(conv=1, input=-3))  # wraps around both ways
    probe = latest(lambda p: p.filters.index == 0, "wrapped around")
    assert probe.feature_maps.input == 7
    watch.session.send(ShowView(conv=1))
    latest(lambda p: p.filters.index == 1, "the second conv layer again")
    watch.session.send(Step())
    latest(lambda p: p.step == 1, "one step")
    watch.session.send(Reinit())  # fresh weights, the same layer and input on show
    watch.until(lambda: len(watch.of(RunStarted)) == 2, "re-initialised")
    probe = latest(lambda p: p.step == 0, "the fresh run's probe")
    assert (probe.filters.index, probe.feature_maps.input) == (1, 7)


def test_confusion_matrix_comes_from_the_epochs_validation_without_another_predict():
    records = RecordQueue()
    trainer = Trainer(two_conv(), callbacks=[])
    trainer.callbacks.append(SessionSink(records, "train", Probe(trainer.dataset)))
    predict, calls = trainer.model.predict, []
    trainer.model.predict = lambda *args, **kwargs: calls.append(args) or predict(*args, **kwargs)
    trainer.begin()
    for _ in range(trainer.steps_per_epoch):
        trainer.step()
    # the trainer's own validations (epochs 0 and 1): no extra forward pass
    assert len(calls) == 2
    (measured,) = [r for r in records.drain() if isinstance(r, ConfusionMeasured)]
    x_val, y_val = trainer.dataset.x_val, trainer.dataset.y_val
    predicted = predict(x_val, 256).argmax(axis=-1)  # the same weights: direct
    expected = np.zeros((10, 10), dtype=np.int64)
    np.add.at(expected, (y_val, predicted), 1)
    np.testing.assert_array_equal(measured.matrix, expected)


def test_probe_boundary_uses_the_losses_probabilities():
    trainer = Trainer(tiny())
    probe = Probe(trainer.dataset)
    boundary = probe.take(trainer, "train").boundary
    logits = trainer.model.predict(probe.grid, logits=True)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected = (e / e.sum(axis=1, keepdims=True)).max(axis=1)
    np.testing.assert_allclose(boundary.conf.ravel(), expected, rtol=1e-6)
    np.testing.assert_array_equal(boundary.cls.ravel(), logits.argmax(axis=1))
    # one sigmoid output: two classes, p and 1 - p
    model = Sequential.from_config(
        {"loss": "binary_cross_entropy", "layers": [{"type": "dense", "units": 1}]}
    )
    model.build((2,), np.random.default_rng(0))
    x = np.random.default_rng(1).normal(size=(50, 2)).astype(np.float32)
    p = 1 / (1 + np.exp(-model.predict(x, logits=True)[:, 0]))
    np.testing.assert_allclose(class_probabilities(model, x), np.stack([1 - p, p], 1), rtol=1e-6)


def test_a_failure_in_the_child_is_one_line(started, tmp_path, monkeypatch):
    monkeypatch.delenv("TUIDL_DATA", raising=False)  # the child inherits this environment
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # so it finds no MNIST anywhere
    watch = started(ProcessSession(Launch(preset("mnist-lenet"), None, str(tmp_path))))
    watch.until(lambda: watch.of(Failed), "the failure", timeout=60)
    (failed,) = watch.of(Failed)
    assert (
        failed.message.startswith("mnist not found") and "tuidl data fetch mnist" in failed.message
    )
    watch.until(lambda: watch.session.process.poll() is not None, "the child gone")


def test_a_killed_child_is_reported(started):
    watch = started(ProcessSession(Launch(tiny(epochs=1000), None, start_paused=False)))
    watch.until(lambda: watch.of(StepLogged), "training")
    os.kill(watch.session.process.pid, signal.SIGKILL)
    watch.until(lambda: watch.of(Failed), "the report")
    assert [r.message for r in watch.of(Failed)] == [
        f"the training process died (exit code {-signal.SIGKILL})"
    ]


def test_the_child_imports_the_installed_tuidl_whatever_the_working_directory(
    started, tmp_path, monkeypatch
):
    shadow = tmp_path / "tuidl"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ImportError('the wrong tuidl')\n")
    monkeypatch.chdir(tmp_path)
    watch = started(ProcessSession(Launch(tiny(epochs=1), None, start_paused=False)))
    watch.until(lambda: watch.of(RunEnded) or watch.of(Failed), "the run")
    assert not watch.of(Failed) and watch.of(RunEnded)[0].status == "finished"


def test_the_child_trains_nicer_than_the_app(started):
    # the screen and the terminal get a core first when training fills them all
    watch = started(ProcessSession(Launch(tiny(epochs=1000), None, start_paused=False)))
    watch.until(lambda: watch.of(StepLogged), "training")
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    child = os.getpriority(os.PRIO_PROCESS, watch.session.process.pid)
    assert NICE > 0 and child == min(19, ours + NICE)


def test_follow_session_reads_whole_lines_only(tmp_path):
    run = tmp_path / "run-1"
    run.mkdir()
    session = FollowSession([run])
    assert session.poll() == 0  # no file yet
    line = json.dumps({"kind": "step", "step": 1, "loss": 0.5})
    (run / "metrics.jsonl").write_text(line + "\n" + line[:10])
    assert session.poll() == 1
    with open(run / "metrics.jsonl", "a") as file:
        file.write(line[10:] + "\n" + json.dumps({"kind": "epoch", "epoch": 1, "step": 1}) + "\n")
        file.write('{"kind": "mystery"}\n[1, 2]\nnot json\n')
    assert session.poll() == 2
    records = session.drain()
    assert [type(r) for r in records] == [StepLogged, StepLogged, EpochEnded]
    assert records[0].data == json.loads(line) and {r.source for r in records} == {"run-1"}


def test_follow_session_hands_alert_lines_over_and_skips_damaged_ones(tmp_path):
    run = tmp_path / "run-1"
    run.mkdir()
    alert = {"kind": "alert", "step": 20, "epoch": 0.44, "alert": "exploding", "layer": "rnn_0",
             "value": "inf", "threshold": 100.0, "message": "overflowed"}  # fmt: skip
    lines = [alert, alert | {"cleared": True, "value": 3.0}, alert | {"layer": 3},
             alert | {"step": "20"}, alert | {"cleared": "yes"}]  # fmt: skip
    (run / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    session = FollowSession([run])
    assert session.poll() == 2
    raised, cleared = session.drain()
    assert isinstance(raised, AlertRaised) and raised.source == "run-1"
    assert raised.data["value"] == float("inf") and raised.data["layer"] == "rnn_0"
    assert cleared.data["cleared"] is True and cleared.data["value"] == 3.0
    assert session.progress().skipped == 3
