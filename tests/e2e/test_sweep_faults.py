"""`tuidl sweep` when things go wrong: a worker killed mid-trial, Ctrl-C and `--resume`, a
scheduler that does not answer, a space that does not parse; from the real command."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path

from clitools import assert_one_line_error, run_tuidl, start_tuidl
from sweeptools import alone, results, weights, worker_processes
from waiting import wait_until

# trials of about a second each on this machine: long enough to be caught in the middle
EPOCHS = 100
SWEEP = ["sweep", "spiral-mlp", "--space", "optimizer.lr=loguniform(1e-3,1e-1)", "--trials",
         "4", "--epochs", str(EPOCHS), "--workers", "2", "--out", "o"]  # fmt: skip


def worker_in_a_trial(pid: int) -> int | None:
    """A worker of the sweep process `pid` in the middle of a trial: it holds the trial's
    metrics file (in its own scratch folder) open."""
    for worker in worker_processes(pid):
        for fd in Path(f"/proc/{worker}/fd").glob("*"):
            try:
                if os.readlink(fd).endswith("/metrics.jsonl"):
                    return worker
            except OSError:  # closed meanwhile
                continue
    return None


def test_a_worker_killed_mid_trial_loses_nothing(tmp_path):
    sweep = start_tuidl(tmp_path, *SWEEP)
    sweep_dir = tmp_path / "o" / "sweep-spiral-mlp-1"
    try:
        # a worker mid-trial (not two at once: one may still be compiling while the other runs)
        worker = wait_until(lambda: worker_in_a_trial(sweep.pid), 60, "a worker in a trial")
        assert len(worker_processes(sweep.pid)) == 2
        os.kill(worker, signal.SIGKILL)
        stdout, stderr = sweep.communicate(timeout=120)
    finally:
        sweep.kill()
    assert sweep.returncode == 0, stderr
    lines = results(sweep_dir)
    # every trial exactly once: one line and one folder each, the killed one run again
    assert sorted(line["index"] for line in lines) == [0, 1, 2, 3]
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir()) == [
        f"trial-00{k}" for k in range(4)
    ]
    # the trial the worker was running runs again, and so does one it had just finished when
    # its result was still on that worker (Dask computes a lost result again)
    again = [line for line in lines if line["attempts"] == 2]
    assert 1 <= len(again) <= 2 and all(line["attempts"] <= 2 for line in lines), lines
    for line in again:
        assert f"trial {line['index']}: its worker died; running it again" in stdout
        # its folder holds the second attempt alone: one epoch-0 record, steps counted once
        records = [json.loads(r) for r in (sweep_dir / line["run"] / "metrics.jsonl").open()]
        epochs = [r["epoch"] for r in records if r["kind"] == "epoch"]
        assert epochs == list(range(EPOCHS + 1))
        steps = [r["step"] for r in records if r["kind"] == "step"]
        assert steps == list(range(1, len(steps) + 1))
    # and every trial's final state is bit for bit that of the same trial run alone
    solo = [alone(tmp_path, "spiral-mlp", EPOCHS, line) for line in lines]
    for line, process in zip(lines, solo, strict=True):
        assert process.wait(timeout=120) == 0, process.stderr.read()
        mine = weights(sweep_dir / line["run"])
        theirs = weights(tmp_path / "alone" / str(line["index"]) / "spiral-mlp-1")
        assert mine.keys() == theirs.keys()
        assert all((mine[key] == theirs[key]).all() for key in mine), line


def test_ctrl_c_keeps_the_trials_that_ended_and_resume_runs_the_others(tmp_path):
    # two short trials end first; Ctrl-C then finds the two long ones running
    sweep = start_tuidl(
        tmp_path, "sweep", "spiral-mlp", "--grid", "--space", "train.epochs=5,300", "--seeds",
        "2", "--workers", "2", "--out", "o",
    )  # fmt: skip
    sweep_dir = tmp_path / "o" / "sweep-spiral-mlp-1"
    try:
        wait_until(
            lambda: (
                (sweep_dir / "trials.jsonl").exists()
                and (sweep_dir / "trials.jsonl").stat().st_size
            ),
            60,
            "a trial to end",
        )
        sweep.send_signal(signal.SIGINT)
        _, stderr = sweep.communicate(timeout=60)
    finally:
        sweep.kill()
    assert sweep.returncode == 130, stderr
    [line] = stderr.splitlines()
    assert line.startswith("tuidl: interrupted: ") and "Traceback" not in stderr
    assert f"tuidl sweep --resume {Path('o') / sweep_dir.name}" in line
    done = results(sweep_dir)
    before = (sweep_dir / "trials.jsonl").read_bytes()
    assert 1 <= len(done) <= 2 and all(line["epoch"] == 5 for line in done)
    # the trials Ctrl-C stopped left no folder: every folder is a trial that ended
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir()) == sorted(
        line["run"] for line in done
    )
    resumed = run_tuidl("sweep", "--resume", str(sweep_dir), "--workers", "2", tmp_path=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{4 - len(done)} of 4 trials" in resumed.stdout.splitlines()[0]
    after = results(sweep_dir)
    assert (sweep_dir / "trials.jsonl").read_bytes().startswith(before)
    assert sorted(line["index"] for line in after) == [0, 1, 2, 3]  # the missing ones, once
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir()) == [
        f"trial-00{k}" for k in range(4)
    ]


def test_an_unreachable_scheduler_is_one_line(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_tuidl(
        "sweep", "xor-mlp", "--space", "optimizer.lr=uniform(0.01,0.1)",
        "--scheduler", f"tcp://127.0.0.1:{port}", "--out", "o", tmp_path=tmp_path,
    )  # fmt: skip
    assert_one_line_error(
        result, f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}", "dask scheduler"
    )
    assert not (tmp_path / "o").exists()


def test_a_bad_space_is_one_line_and_writes_nothing(tmp_path):
    for space, needle in [
        ("optimizer.lr", "write KEY=DIST"),
        ("optimizer.lr=loguniform(0,1)", "bounds above 0"),
        ("optimizer.lr=gauss(0,1)", "unknown distribution 'gauss'"),
        ("optimizer.lrr=uniform(0,1)", "unknown key 'lrr'"),
        ("train.batch_size=int(0,8)", "batch_size"),
    ]:
        result = run_tuidl("sweep", "xor-mlp", "--space", space, "--out", "o", tmp_path=tmp_path)
        assert_one_line_error(result, f"--space {space!r}", needle)
    assert not (tmp_path / "o").exists()
