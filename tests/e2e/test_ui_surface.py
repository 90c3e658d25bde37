"""The app on surface experiments: the train screen draws the surface and the point's path in
the view panel, growing from the step records' positions (Pilot), its snapshots at 80x24 and
160x48, and `tuidl view` of two surface runs drawing both paths.

As in test_ui_snapshots.py, training (in a child process) opens paused and takes single steps
from the fixed seed, and the frame is taken once the probe after the last step is in: every
frame is the same on any machine.
"""

from __future__ import annotations

import pytest
from uitools import take_steps, wait_for

from tuidl.presets import preset
from tuidl.runs import RunWriter
from tuidl.trainer import Trainer
from tuidl.ui.app import make_app
from tuidl.ui.widgets.surfaceplot import SurfacePlot

STEPS = 12


def fixed_clock() -> float:
    return 0.0


@pytest.fixture(autouse=True)
def _colour_env(monkeypatch):
    """The app drops colour when NO_COLOR is set (read when it is created)."""
    monkeypatch.delenv("NO_COLOR", raising=False)


async def stepped(pilot) -> None:
    """Take STEPS single steps on the paused run and draw all they produced."""
    await take_steps(pilot, STEPS)
    pilot.app.train_screen.redraw(force=True)
    await pilot.pause()


async def test_the_train_screen_draws_the_path_of_a_surface_run(tmp_path):
    app = make_app("surface-bowl", runs_root=tmp_path, clock=fixed_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await stepped(pilot)
        screen = app.train_screen
        plot = screen.query_one(SurfacePlot)
        assert plot.display and plot.function == "bowl" and list(plot.paths) == ["path"]
        xs, ys, _ = plot.paths["path"]
        assert len(xs) == STEPS and (xs[0], ys[0]) == (-7.0, 2.0)  # the start, then the updates
        assert ys[1] == pytest.approx(-1.8, rel=1e-6)  # SGD at lr 0.95: y <- -0.9 y
        panel = screen.query_one("#view-panel")  # at 80 columns, beside the curves at once
        assert panel.has_class("-current") and panel.display and not panel.has_class("-unused")
        assert "surface f = x²/20 + y²" in panel.border_title
        assert not screen.query_one("#boundary").display
        rows = [strip.text for strip in plot.build_strips(plot.size.width)]
        assert any("x" in row for row in rows[:-2]) and "x path (" in "".join(rows)
        await pilot.press("q")


async def test_view_of_two_surface_runs_draws_both_paths(tmp_path):
    for name in ("sgd", "momentum"):
        experiment = preset("surface-local-minimum").with_overrides(
            [f"optimizer.name={name}", "optimizer.lr=0.02", "train.epochs=40"]
        )
        (tmp_path / name).mkdir()
        writer = RunWriter(tmp_path / name)
        Trainer(experiment, callbacks=[writer]).fit()
        writer.close()
    app = make_app(view_dirs=[tmp_path / "sgd", tmp_path / "momentum"], clock=fixed_clock)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.train_screen

        def both_drawn() -> bool:
            app.tick()
            screen.redraw(force=True)
            paths = screen.query_one(SurfacePlot).paths
            return all(len(paths.get(run, ([],))[0]) == 40 for run in ("sgd", "momentum"))

        await wait_for(pilot, both_drawn, what="both paths of 40 positions")
        paths = screen.query_one(SurfacePlot).paths
        assert paths["sgd"][0][-1] > 0 > paths["momentum"][0][-1]  # each in its own well
        assert paths["sgd"][2] != paths["momentum"][2]  # each in its curve's colour


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_train_surface_bowl(snap_compare, size):
    app = make_app("surface-bowl", runs_root=None, clock=fixed_clock)
    assert snap_compare(app, terminal_size=size, run_before=stepped)
