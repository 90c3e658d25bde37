"""RunWriter's checkpoint and summary cadence: tiny epochs must not fsync a file each."""

import errno
import json
import math
import os
import re
import stat

import pytest
from test_trainer import experiment

from tuidl import runs
from tuidl.errors import ConfigError
from tuidl.lock import LOCK, RunLock
from tuidl.runs import RunWriter
from tuidl.trainer import Trainer


def fit_counting_writes(tmp_path, monkeypatch):
    """Train 30 epochs of the xor net with a RunWriter; count its checkpoints and summaries."""
    counts = {"checkpoint": 0, "summary": 0}
    save, summarize = RunWriter.save_checkpoint, RunWriter.write_summary

    def counted_save(self, trainer):
        counts["checkpoint"] += 1
        save(self, trainer)

    def counted_summary(self, trainer, status, **extra):
        counts["summary"] += 1
        summarize(self, trainer, status, **extra)

    monkeypatch.setattr(RunWriter, "save_checkpoint", counted_save)
    monkeypatch.setattr(RunWriter, "write_summary", counted_summary)
    writer = RunWriter(tmp_path)
    trainer = Trainer(experiment(train={"epochs": 30, "batch_size": 16}), callbacks=[writer])
    trainer.fit()
    writer.close()
    return trainer, counts


def test_epochs_inside_the_interval_checkpoint_after_the_first_and_at_the_end(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(runs, "CHECKPOINT_EVERY_S", 3600.0)
    monkeypatch.setattr(runs, "SUMMARY_EVERY_S", 3600.0)
    trainer, counts = fit_counting_writes(tmp_path, monkeypatch)
    assert trainer.epoch == 30
    # the summary at the start and at the end; the checkpoint after the first epoch (a run
    # killed then can resume) and at the end
    assert counts == {"checkpoint": 2, "summary": 2}
    assert (tmp_path / runs.CHECKPOINT).exists()


def test_with_no_interval_every_epoch_end_writes_both(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "CHECKPOINT_EVERY_S", 0.0)
    monkeypatch.setattr(runs, "SUMMARY_EVERY_S", 0.0)
    _, counts = fit_counting_writes(tmp_path, monkeypatch)
    assert counts == {"checkpoint": 30 + 1, "summary": 1 + 30 + 1}


@pytest.mark.parametrize(
    "name, folder",
    [
        ("mnist-lenet", "mnist-lenet"),
        ("../../../x", "x"),
        ("/etc/passwd", "etc-passwd"),
        ("sub/dir", "sub-dir"),
        ("a\\b", "a-b"),
        ("\x1b[31mred\x1b[0m", "31mred-0m"),
        ("..hidden", "hidden"),
        ("a..b", "a.b"),
        ("-rf", "rf"),
        ("my run +2", "my-run-+2"),
        ("résumé", "résumé"),
        ("e\u0301t\u00e9", "été"),  # one folder name however the accent is typed
        ("right\u202eto-left", "right-to-left"),
    ],
)
def test_run_names_are_folder_names_that_stay_put(name, folder):
    assert runs.run_name(name) == folder


def test_run_names_fit_a_folder_name_in_bytes():
    assert len(runs.run_name("é" * 300).encode()) <= runs.NAME_BYTES
    assert runs.run_name("a" * 300 + "/") == "a" * runs.NAME_BYTES


@pytest.mark.parametrize("name", ["..", "/", "../..", "\x1b", " . ", "-.-"])
def test_a_name_with_nothing_left_is_refused(name):
    with pytest.raises(ConfigError, match="no letter or digit"):
        runs.run_name(name)


def test_new_run_dirs_count_up_inside_the_root(tmp_path):
    first = runs.new_run_dir(tmp_path / "out", "../x")
    second = runs.new_run_dir(tmp_path / "out", "../x")
    assert (first.name, second.name) == ("x-1", "x-2")
    assert first.parent == second.parent == tmp_path / "out"


def test_variant_folders_are_safe():
    assert runs.variant_folder("sgd:0.1") == "sgd-lr0.1"
    assert runs.variant_folder("sgd:\n1e-3") == "sgd-lr-1e-3"


def test_resume_is_refused_while_another_writer_holds_the_run(tmp_path):
    writer = RunWriter(tmp_path)
    trainer = Trainer(experiment(train={"epochs": 1, "batch_size": 16}), callbacks=[writer])
    trainer.fit()
    metrics = (tmp_path / runs.METRICS).read_bytes() + b'{"kind": "step", "step": 1000}\n'
    (tmp_path / runs.METRICS).write_bytes(metrics)  # a line a resume would cut
    holder = RunLock(tmp_path)
    holder.acquire()
    with pytest.raises(ConfigError, match="is being written by process"):
        runs.open_for_resume(tmp_path)
    assert (tmp_path / runs.METRICS).read_bytes() == metrics
    holder.release()
    _, resumed = runs.open_for_resume(tmp_path)
    assert resumed.lock.held
    resumed.close()
    assert not (tmp_path / LOCK).exists()


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_every_file_of_a_run_follows_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        writer = RunWriter(tmp_path)
        Trainer(experiment(train={"epochs": 1}), callbacks=[writer]).fit()
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == dict.fromkeys([runs.CONFIG, runs.METRICS, runs.CHECKPOINT, runs.SUMMARY], mode)


def test_a_writer_removes_what_killed_writes_left_and_nothing_else(tmp_path):
    left = [f".{name}.k1ll3d00.tmp" for name in (runs.CONFIG, runs.CHECKPOINT, runs.SUMMARY)]
    kept = [".notes.tmp", "notes.txt", ".checkpoint.npz.tmp", "x.checkpoint.npz.1.tmp"]
    for name in left + kept:
        (tmp_path / name).write_text("mine")
    writer = RunWriter(tmp_path)
    Trainer(experiment(train={"epochs": 1}), callbacks=[writer]).fit()
    assert {p.name for p in tmp_path.iterdir()} == {
        *kept, runs.CONFIG, runs.METRICS, runs.CHECKPOINT, runs.SUMMARY
    }  # fmt: skip


def test_a_failed_write_ends_the_writing_and_says_how_to_go_on(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "CHECKPOINT_EVERY_S", 3600.0)
    writer = RunWriter(tmp_path)
    trainer = Trainer(experiment(train={"epochs": 5, "batch_size": 16}), callbacks=[writer])
    trainer.begin()
    while trainer.epoch < 2:
        trainer.step()
    saved = (tmp_path / runs.CHECKPOINT).read_bytes()  # the first epoch's

    class Full:
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            raise OSError(errno.ENOSPC, "No space left on device")

    writer._file = Full()
    with pytest.raises(ConfigError) as failure:
        trainer.step()
    assert str(failure.value) == (
        f"the disk is full: cannot write {tmp_path}; its last checkpoint is intact: free some "
        f"space, then tuidl run --resume {tmp_path} continues the run"
    )
    assert not writer.lock.held and not (tmp_path / LOCK).exists()
    trainer.finish()  # as a session's clean-up does: nothing more is written
    assert (tmp_path / runs.CHECKPOINT).read_bytes() == saved
    assert json.loads((tmp_path / runs.SUMMARY).read_text())["status"] == "running"


def test_a_folder_that_cannot_be_written_before_a_checkpoint_says_start_again(tmp_path):
    message = runs.write_failure(tmp_path / "x-1", OSError(errno.EROFS, "Read-only file system"))
    assert message == (
        f"cannot write {tmp_path / 'x-1'} (Read-only file system) before its first checkpoint; "
        "start the run again in a folder you can write to"
    )


@pytest.mark.parametrize(
    "line, problem",
    [
        (b"{", "is not JSON"),
        (b"\xff", "is not UTF-8 text"),
        (b"[]", "is not a JSON object"),
        (b"{}", "has no kind"),
        (b'{"kind": [1]}', "has an unknown kind [1]"),
        (b'{"kind": "epoch", "epoch": true, "step": 1}', "epoch is not a whole number"),
        (b'{"kind": "alert", "step": -1}', "alert record whose step is not a whole number"),
        (b'{"kind": "step", "step": 1, "loss": "low"}', "has a loss that is not a number"),
    ],
)
def test_damaged_metrics_lines_say_what_is_wrong(line, problem):
    with pytest.raises(runs.DamagedLine, match=re.escape(problem)):
        runs.parse_record(line)


def test_read_metrics_passes_damaged_lines_over_and_gives_non_finite_numbers_back(tmp_path):
    lines = [
        b'{"kind": "epoch", "epoch": 1, "step": 5, "train_loss": 0.5, "val_loss": "nan"}',
        b"garbage",
        b'{"kind": "epoch", "epoch": 2, "step": 10, "train_loss": "inf"}',
        b'{"kind": "step", "st',  # still being written
    ]
    (tmp_path / runs.METRICS).write_bytes(b"\n".join(lines))
    records = runs.read_metrics(tmp_path)
    assert [r["epoch"] for r in records] == [1, 2]
    assert math.isnan(records[0]["val_loss"]) and records[1]["train_loss"] == math.inf
    assert runs.read_metrics(tmp_path / "nothing-yet") == []
