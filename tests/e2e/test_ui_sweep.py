"""The sweep screen (`tuidl view SWEEP_DIR`) on sweeps the real `tuidl sweep` ran: the trials
ranked by the metric, the scatter of a swept key against it, the best trials' curves, a trial
opened in the train view (and back with v), and a sweep followed while it runs."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from clitools import TUIDL, run_tuidl, tuidl_env
from uitools import wait_for
from waiting import wait_until

from tuidl.ui.app import make_app
from tuidl.ui.screens.sweep import SweepScreen
from tuidl.ui.screens.train import TrainScreen
from tuidl.ui.widgets.linechart import LineChart
from tuidl.ui.widgets.scatterplot import ScatterPlot

SPACE = [
    "--space",
    "optimizer.lr=loguniform(1e-3,1e-1)",
    "--space",
    "optimizer.name=choice(sgd,adam)",
]


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    """A finished sweep of six xor-mlp trials on the local cluster."""
    tmp_path = tmp_path_factory.mktemp("sweep")
    result = run_tuidl("sweep", "xor-mlp", *SPACE, "--trials", "6", "--epochs", "3",
                       "--workers", "2", "--out", "o", tmp_path=tmp_path, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    (found,) = (tmp_path / "o").iterdir()
    return found


def ended(sweep_dir: Path) -> list[dict]:
    lines = (sweep_dir / "trials.jsonl").read_text().splitlines()
    return sorted(map(json.loads, lines), key=lambda r: r["metric"])  # val_loss: lower first


async def test_the_sweep_screen_ranks_trials_and_plots_them(sweep_dir):
    app = make_app(sweep_dir=sweep_dir)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        await wait_for(pilot, lambda: screen.state is not None, what="the first poll")
        table = screen.query_one("#sweep-table")
        best_first = [r["run"] for r in ended(sweep_dir)]
        assert [str(table.get_row_at(k)[1]) for k in range(6)] == best_first
        head = str(screen.query_one("#sweep-head").render())
        assert "6/6 trials ended, 0 running · val_loss (lower is better)" in head
        scatter = screen.query_one(ScatterPlot)
        lrs = {r["run"]: r["values"]["optimizer.lr"] for r in ended(sweep_dir)}
        assert scatter.xs == [lrs[run] for run in best_first] and scatter.log_x
        title = str(screen.query_one("#sweep-scatter-panel").border_title)
        assert title.startswith("val_loss by optimizer.lr (log axis)")
        curves = screen.query_one(LineChart)
        assert list(curves.series) == best_first[:5]
        x, y = curves.series[best_first[0]]
        assert list(x) == [1, 2, 3] and y[-1] == pytest.approx(
            ended(sweep_dir)[0]["final"]["val_loss"]
        )
        await pilot.press("k")  # the categorical key: sgd and adam
        assert scatter.xs[0] in ("sgd", "adam") and not scatter.log_x
        text = "".join(strip.text for strip in scatter.build_strips(scatter.content_size.width))
        assert "sgd" in text and "adam" in text


async def test_enter_opens_a_trial_and_v_comes_back(sweep_dir):
    app = make_app(sweep_dir=sweep_dir)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.state is not None, what="the first poll")
        second = str(screen.query_one("#sweep-table").get_row_at(1)[1])
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TrainScreen), what="the train view")
        await wait_for(pilot, lambda: app.train_screen.primary == second, what="the trial's run")
        await wait_for(
            pilot, lambda: "FINISHED" in str(app.train_screen.query_one("#status").render())
        )
        await pilot.press("b")  # nothing to build here: still the trial
        assert isinstance(app.screen, TrainScreen)
        await pilot.press("v")
        assert app.screen is screen


async def test_the_sweep_screen_follows_a_sweep_while_it_runs(tmp_path):
    command = [TUIDL, "sweep", "spiral-mlp", "--space", "optimizer.lr=loguniform(1e-3,1e-1)",
               "--trials", "4", "--epochs", "150", "--workers", "2", "--out", "o"]  # fmt: skip
    sweep = subprocess.Popen(
        command, cwd=tmp_path, env=tuidl_env(tmp_path), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        root = tmp_path / "o"
        plan = lambda: next(root.glob("*/sweep.toml"), None) if root.exists() else None  # noqa: E731
        sweep_dir = wait_until(plan, 60, "the sweep's plan").parent
        app = make_app(sweep_dir=sweep_dir)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.screen
            states = set()

            def seen() -> bool:
                if screen.state is not None:
                    states.update(screen.state.waiting.values())
                    return len(screen.state.ended) == 4
                return False

            await wait_for(pilot, seen, 120, "every trial ended")
            assert "running" in states  # shown while they trained, then ranked
        assert sweep.wait(60) == 0, sweep.stderr.read()
    finally:
        if sweep.poll() is None:
            sweep.send_signal(signal.SIGINT)
            sweep.wait(60)
