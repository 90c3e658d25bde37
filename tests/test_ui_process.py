"""The app with training in a child process (`train_in="process"`, what `tuidl` uses).

The child runs the real `TrainingLoop`; these tests see it only as the UI does: through the
records and progress it sends, the status line and the run directory.
"""

from __future__ import annotations

import json
import os
import signal
import threading

import pytest
from uitools import tiny, wait_for

from tuidl.presets import preset
from tuidl.ui.app import make_app
from tuidl.ui.bridge import MetricsBuffer
from tuidl.ui.process import TrainingProcess

SIZE = (80, 24)
THROTTLE = 0.003


def shown_step(app) -> int:
    progress = app.loop.progress()
    return progress["step"] if progress is not None else -1


def status_text(app) -> str:
    app.tick()
    return app.train_screen.query_one("#status").render().plain


async def test_keys_drive_the_child_and_the_screen_follows(tmp_path):
    app = make_app(tiny(epochs=200), runs_root=tmp_path, throttle=THROTTLE, train_in="process")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: shown_step(app) == 0, 30, "the child ready")
        assert app.loop.state == "paused"
        await pilot.press("n")
        await wait_for(pilot, lambda: shown_step(app) == 1, what="one step")
        await pilot.press("space")
        await wait_for(pilot, lambda: shown_step(app) > 10, what="the step counter advancing")
        await pilot.press("space")
        await wait_for(pilot, lambda: app.loop.state == "paused", what="pause")
        paused_at = shown_step(app)
        await pilot.pause(0.3)
        assert shown_step(app) == paused_at
        assert f"step {paused_at}" in status_text(app)
        await wait_for(pilot, lambda: app.train_screen.runs["train"].steps == paused_at)

        await pilot.press("plus")
        await wait_for(pilot, lambda: not app.loop.pending, what="lr applied")
        assert app.loop.progress()["lr"] == pytest.approx(0.02)
        assert "lr 0.02" in status_text(app)

        run_dir = tmp_path / "spiral-mlp-1"
        assert app._info["run_dir"] == str(run_dir)
        await pilot.press("s")
        await wait_for(pilot, lambda: (run_dir / "checkpoint.npz").exists(), what="checkpoint")

        await pilot.press("r")
        await wait_for(pilot, lambda: app._info["run_dir"] != str(run_dir), what="a new run")
        assert shown_step(app) == 0 and app.loop.progress()["lr"] == pytest.approx(0.02)
        child = app.loop.process
        await pilot.press("q")
    assert app.return_code == 0
    assert child.wait(10) == 0  # the worker stops the child as the app ends
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["step"] == paused_at and summary["status"] == "interrupted"
    assert (tmp_path / "spiral-mlp-2" / "summary.json").exists()  # written as the child ended


async def test_a_run_that_finishes_reaches_the_panels(tmp_path):
    app = make_app(tiny(epochs=2), runs_root=None, autostart=True, train_in="process")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.loop.state == "finished", 30, "training finished")
        screen = app.train_screen
        await wait_for(pilot, lambda: screen.runs["train"].steps == 10, what="records")
        assert "FINISHED" in status_text(app) and "epoch 2.00/2" in status_text(app)
        await wait_for(pilot, lambda: screen.query_one("#boundary").display, what="the probe")


def run_in_thread(loop: TrainingProcess) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []
    stop = threading.Event()

    def body() -> None:
        try:
            loop.run(stop.is_set)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            errors.append(error)

    thread = threading.Thread(target=body, daemon=True)  # a hung test must not hang pytest
    thread.stop = stop
    thread.start()
    return thread, errors


def test_a_failure_in_the_child_is_raised_in_the_app_as_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("TUIDL_DATA", raising=False)  # the child inherits this environment
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # so it finds no MNIST anywhere
    loop = TrainingProcess(preset("mnist-lenet"), MetricsBuffer(), None, data_dir=str(tmp_path))
    thread, errors = run_in_thread(loop)
    thread.join(60)
    thread.stop.set()  # (a child that did load data would stop here)
    thread.join(10)
    assert [type(e) for e in errors] == [RuntimeError]
    assert str(errors[0]).startswith("mnist not found") and "tuidl data fetch mnist" in str(
        errors[0]
    )
    assert loop.process.poll() is not None


def test_a_killed_child_is_reported():
    loop = TrainingProcess(tiny(epochs=1000), MetricsBuffer(), None, start_paused=False)
    buffer = loop.buffer
    thread, errors = run_in_thread(loop)
    seen: list = []
    while not any(r.get("kind") == "step" for r in seen):
        assert thread.is_alive(), errors
        seen += [record for _, record in buffer.drain()]
        thread.join(0.05)
    os.kill(loop.process.pid, signal.SIGKILL)
    thread.join(30)
    assert [str(e) for e in errors] == [
        f"the training process exited (exit code {-signal.SIGKILL})"
    ]
