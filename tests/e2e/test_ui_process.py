"""The app with training in a child process (`train_in="process"`, what `tuidl` uses).

The child runs the real `SingleRun`; these tests see it only as the UI does: through the
records and progress it sends, the status line and the run directory.
"""

from __future__ import annotations

import json

import pytest
from uitools import run_state, shown_step, status_text, tiny, wait_for

from tuidl.ui.app import make_app

SIZE = (80, 24)
THROTTLE = 0.003


async def test_keys_drive_the_child_and_the_screen_follows(tmp_path):
    app = make_app(tiny(epochs=200), runs_root=tmp_path, throttle=THROTTLE, train_in="process")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: shown_step(app) == 0, 30, "the child ready")
        assert app.session.progress().state == "paused"
        await pilot.press("n")
        await wait_for(pilot, lambda: shown_step(app) == 1, what="one step")
        await pilot.press("space")
        await wait_for(pilot, lambda: shown_step(app) > 10, what="the step counter advancing")
        running_at = shown_step(app)
        await pilot.pause(0.3)
        assert shown_step(app) > running_at  # 0.3 s is long enough to see training...
        await pilot.press("space")
        await wait_for(pilot, lambda: app.session.progress().state == "paused", what="pause")
        paused_at = shown_step(app)
        await pilot.pause(0.3)
        assert shown_step(app) == paused_at  # ...and paused, none happens
        assert f"step {paused_at}" in status_text(app)
        await wait_for(pilot, lambda: app.train_screen.runs["train"].steps == paused_at)

        await pilot.press("plus")
        await wait_for(pilot, lambda: not app.session.progress().pending, what="lr applied")
        assert app.session.progress().lr == pytest.approx(0.02)
        assert "lr 0.02" in status_text(app)

        run_dir = tmp_path / "spiral-mlp-1"
        assert app.report.run_dir == str(run_dir)
        await pilot.press("s")
        await wait_for(pilot, lambda: (run_dir / "checkpoint.npz").exists(), what="checkpoint")

        await pilot.press("r")
        await wait_for(pilot, lambda: app.report.run_dir != str(run_dir), what="a new run")
        assert shown_step(app) == 0 and app.session.progress().lr == pytest.approx(0.02)
        child = app.session.process
        await pilot.press("q")
    assert app.return_code == 0
    assert child.wait(10) == 0  # the app stops the child as it ends
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["step"] == paused_at and summary["status"] == "interrupted"
    assert (tmp_path / "spiral-mlp-2" / "summary.json").exists()  # written as the child ended


async def test_a_run_that_finishes_reaches_the_panels(tmp_path):
    app = make_app(tiny(epochs=2), runs_root=None, autostart=True, train_in="process")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: run_state(app) == "finished", 30, "the end")
        screen = app.train_screen
        await wait_for(pilot, lambda: "train" in screen.runs and screen.runs["train"].steps == 10)
        assert "FINISHED" in status_text(app) and "epoch 2.00/2" in status_text(app)
        await wait_for(pilot, lambda: screen.query_one("#boundary").display, what="the probe")
