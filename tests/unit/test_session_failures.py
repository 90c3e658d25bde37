"""What a view sees when things go wrong: damaged or rewritten metrics files followed by
`tuidl view`, and a training child that dies or is stopped. The app showing a died child and
resuming its run is in e2e/test_app_resumes_a_died_run.py."""

from __future__ import annotations

import json
import os
import signal

import pytest
from uitools import tiny
from waiting import wait_until

from tuidl.errors import ConfigError
from tuidl.runs import RunWriter
from tuidl.session.child import ProcessSession
from tuidl.session.follow import FollowSession, run_dirs_in
from tuidl.session.lines import DamagedLine, parse_line
from tuidl.session.messages import EpochEnded, Failed, RunStarted, StepLogged
from tuidl.session.run import Launch
from tuidl.trainer import Trainer

GOOD_STEP = {"kind": "step", "step": 1, "loss": 0.5, "grad_norm": {"dense_0": "nan"}}
DAMAGED = [
    b"[1, 2, 3]",
    b'{"kind": "step"}',
    b'{"kind": "step", "step": 2, "loss": "abc"}',
    b'{"kind": "step", "step": "3", "loss": 1.0}',
    b'{"kind": "step", "step": 4, "loss": 1.0, "grad_norm": [1]}',
    b'{"kind": "step", "step": 5, "loss": 1.0, "grad_norm": {"dense_0": "big"}}',
    b'{"kind": "epoch", "epoch": 1, "step": 1, "act": {"dense_0": {"mean": "x"}}}',
    b'{"kind": "pretrain", "epoch": 1, "epochs": 2, "recon_error": 0.1}',
    b"\xff\xfe not utf-8",
    b"not json",
    b'{"kind": "step", "step": true, "loss": 1.0}',
]


def test_lines_a_view_cannot_draw_are_damaged_and_nan_strings_are_numbers():
    record = parse_line("run", json.dumps(GOOD_STEP).encode())
    assert isinstance(record, StepLogged) and record.data["grad_norm"]["dense_0"] != 0
    assert str(record.data["grad_norm"]["dense_0"]) == "nan"
    assert parse_line("run", b'{"kind": "mystery"}') is None  # a kind no view shows
    for raw in DAMAGED:
        with pytest.raises(DamagedLine):
            parse_line("run", raw)


def test_follow_skips_and_counts_damaged_lines(tmp_path):
    run = tmp_path / "run-1"
    run.mkdir()
    good = json.dumps(GOOD_STEP).encode()
    epoch = json.dumps({"kind": "epoch", "epoch": 1, "step": 1, "val_loss": "inf"}).encode()
    (run / "metrics.jsonl").write_bytes(b"\n".join([good, *DAMAGED, epoch]) + b"\n")
    session = FollowSession([run])
    assert session.poll() == 2
    records = session.drain()
    assert [type(r) for r in records] == [StepLogged, EpochEnded]
    assert records[1].data["val_loss"] == float("inf")
    assert session.progress().skipped == len(DAMAGED)


def test_follow_reads_a_run_rewritten_by_a_resume_again(tmp_path):
    run = tmp_path / "run-1"
    run.mkdir()
    lines = [json.dumps(GOOD_STEP | {"step": k}) for k in range(1, 6)]
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    session = FollowSession([run])
    assert session.poll() == 5
    session.drain()
    # a resume keeps the lines up to its checkpoint, writing the file anew (a new inode)
    (run / "metrics.jsonl.tmp").write_text("\n".join(lines[:3]) + "\n")
    os.replace(run / "metrics.jsonl.tmp", run / "metrics.jsonl")
    assert session.poll() == 3
    records = session.drain()
    assert isinstance(records[0], RunStarted) and records[0].source == "run-1"
    assert [r.data["step"] for r in records[1:]] == [1, 2, 3]
    with open(run / "metrics.jsonl", "a") as file:  # then it grows as before
        file.write(lines[3] + "\n")
    assert session.poll() == 1 and session.drain()[0].data["step"] == 4


def until(session, condition, what: str, timeout: float = 30.0) -> list:
    """Drain `session` until `condition()` holds; returns what was drained."""
    seen = []

    def drained_then_checked():
        seen.extend(session.drain())
        return condition()

    wait_until(drained_then_checked, timeout, what, interval=0.01)
    return seen + session.drain()


def step_of(session) -> int:
    current = session.progress()
    return -1 if current is None else current.step


def test_a_died_child_and_a_stopped_one_say_so():
    session = ProcessSession(Launch(tiny(epochs=1000), None, start_paused=False))
    session.start()
    try:
        until(session, lambda: step_of(session) > 5, "steps")
        os.kill(session.process.pid, signal.SIGSTOP)
        until(session, lambda: session.progress().state == "stopped", "stopped")
        assert "SIGSTOP" in session.progress().message
        os.kill(session.process.pid, signal.SIGCONT)
        until(session, lambda: session.progress().state == "running", "running again")
        os.kill(session.process.pid, signal.SIGKILL)
        seen = until(session, lambda: session.progress().state == "died", "died")
        assert not session.progress().running
        assert session.progress().message == f"the training process died (exit code {-9})"
        assert [r.message for r in seen if isinstance(r, Failed)] == [session.progress().message]
    finally:
        session.close()


def test_a_finished_run_followed_by_view_is_read_whole(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    Trainer(tiny(epochs=2), callbacks=[RunWriter(run_dir)]).fit()
    session = FollowSession([run_dir])
    session.poll()
    kinds = [type(r) for r in session.drain()]
    assert kinds.count(StepLogged) == 10 and kinds.count(EpochEnded) == 3  # epochs 0, 1, 2
    assert session.progress().skipped == 0


def test_view_takes_run_folders_race_folders_and_globs(tmp_path):
    race = tmp_path / "compare-x-1"
    for name in ("adam", "sgd"):
        (race / name).mkdir(parents=True)
        (race / name / "metrics.jsonl").write_text("")
    (race / "comparison.json").write_text("{}")
    assert run_dirs_in([race]) == [race / "adam", race / "sgd"]  # a race: its runs
    assert run_dirs_in(sorted(race.iterdir())) == [race / "adam", race / "sgd"]  # race/*
    assert run_dirs_in([race / "sgd"]) == [race / "sgd"]
    for bad in ([race / "comparison.json"], [tmp_path / "missing"], [tmp_path]):
        with pytest.raises(ConfigError, match="not a run directory"):
            run_dirs_in(bad)


def test_follow_says_following_until_every_summary_says_how_the_run_ended(tmp_path):
    runs = []
    for name in ("a", "b"):
        run = tmp_path / name
        run.mkdir()
        (run / "metrics.jsonl").write_text(json.dumps(GOOD_STEP) + "\n")
        (run / "config.toml").write_text("[train]\nbatch_size = 32\n")
        runs.append(run)
    session = FollowSession(runs)
    session.poll()
    assert session.progress().state == "following" and session.progress().batch_size == 32
    (runs[0] / "summary.json").write_text(json.dumps({"status": "finished"}))
    session.poll()
    assert session.progress().state == "following"  # b is still being written
    assert session.progress().runs == {"a": "finished", "b": "running"}
    (runs[1] / "summary.json").write_text(json.dumps({"status": "diverged"}))
    session.poll()
    assert session.progress().state == "finished"  # the first run's
    assert session.progress().runs == {"a": "finished", "b": "diverged"}
    (runs[0] / "summary.json").write_text("{damaged")
    session.poll()
    assert session.progress().runs["a"] == "running"  # nothing readable: still following
