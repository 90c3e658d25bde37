"""The app shows a training child that died, and `R` resumes its run from its checkpoint."""

from __future__ import annotations

import os
import signal

import numpy as np
from uitools import progress, run_state, tiny, wait_for

from tuidl.ui.app import make_app


def checkpoint_step(run_dir) -> int:
    with np.load(run_dir / "checkpoint.npz") as npz:
        return int(npz["extra/step_count"])


async def test_the_app_shows_a_died_child_and_resumes_the_run_from_its_checkpoint(tmp_path):
    app = make_app(tiny(epochs=400), runs_root=tmp_path, autostart=True)
    async with app.run_test(size=(100, 30)) as pilot:
        run_dir = tmp_path / "spiral-mlp-1"
        await pilot.press("space", "s", "space")  # pause, save a checkpoint, go on
        await wait_for(pilot, lambda: (run_dir / "checkpoint.npz").exists(), 30, "checkpoint")
        await wait_for(pilot, lambda: progress(app).step > 50, 30, "more steps")
        os.kill(app.session.process.pid, signal.SIGKILL)
        await wait_for(pilot, lambda: progress(app).state == "died", 10, "died")
        app.tick()
        status = app.train_screen.query_one("#status").render().plain
        assert "DIED" in status and "exit code -9" in status

        def hints() -> int:
            return sum("R resumes" in note.message for note in app._notifications)

        assert hints() == 0
        await pilot.press("n")  # a key that needs the child says why it does nothing
        assert hints() == 1 and progress(app).state == "died"
        saved = checkpoint_step(run_dir)
        await pilot.press("R")
        await wait_for(pilot, lambda: run_state(app) == "paused", 30, "the resumed run")
        assert progress(app).step == saved and app.report.run_dir == str(run_dir)
        assert app.train_screen.runs["train"].steps > 0  # its curves replayed
        await pilot.press("n")
        await wait_for(pilot, lambda: progress(app).step == saved + 1, 10, "a step")
        os.kill(app.session.process.pid, signal.SIGKILL)
        await wait_for(pilot, lambda: progress(app).state == "died", 10, "died again")
        await pilot.press("q")  # nothing trains: no question asked
    assert app.return_code == 0
