"""Pilot tests of the train screen's histogram panel: `d` shows it and steps through
activations, gradients and weights, `[` `]` pick the strip's layer, `?` lists the keys, and
the panel draws what the epoch records hold, in the app and in `tuidl view`."""

from __future__ import annotations

from test_chart_frames import finished_run
from uitools import take_steps, tiny, wait_for

from tuidl.runs import read_metrics
from tuidl.ui.app import make_app
from tuidl.ui.screens.help import binding_rows
from tuidl.ui.screens.train import PANELS
from tuidl.ui.widgets.histograms import HistogramView

SIZE = (80, 24)


def panel_text(app) -> str:
    """The histogram panel's lines as they are drawn."""
    view = app.train_screen.query_one(HistogramView)
    return "\n".join(view.render_line(y).text for y in range(view.content_size.height))


async def test_keys_show_the_panel_step_through_kinds_and_pick_the_strips_layer():
    app = make_app(tiny(epochs=3), runs_root=None)
    async with app.run_test(size=SIZE) as pilot:
        await take_steps(pilot, 10)  # two epochs of 5 steps, after the epoch-0 record
        screen = app.train_screen
        screen.redraw(force=True)
        view = screen.query_one(HistogramView)
        panel = screen.query_one("#hist-panel")
        assert not panel.display and view.epochs == (0, 2)
        await pilot.press("d")  # at 80 columns the first press shows the panel, as it was
        assert PANELS[screen.current] == "hist-panel" and panel.display
        assert view.kind == "act" and panel.border_title.startswith("histograms of activations")
        text = panel_text(app)
        assert "dense_0 ±5" in text and "tanh_0 ±1" in text  # their fixed ranges
        assert "dense_0 over epochs 0–2" in text
        await pilot.press("d")
        assert view.kind == "grad" and view.layers == ["dense_0", "dense_1", "dense_2"]
        assert "gradients · epoch 2" in panel.border_title
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert view.selected == 2 and "dense_2 over epochs" in panel_text(app)
        await pilot.press("right_square_bracket")  # round to the first
        assert view.selected == 0
        await pilot.press("left_square_bracket")
        assert view.selected == 2
        await pilot.press("d")
        assert view.kind == "weight" and "dense_2 over epochs" in panel_text(app)
        await pilot.press("d")
        assert view.kind == "act"
        helped = {(keys, what) for _, keys, what in binding_rows(screen)}
        assert {("d", "histograms: act/grad/weights"), ("[", "histogram: layer before"),
                ("]", "histogram: next layer")} <= helped  # fmt: skip


async def test_the_panel_draws_the_records_histograms(tmp_path):
    """`tuidl view` of a finished run: the latest epoch's histograms are the panel's, and
    its strip has a column of every epoch."""
    run_dir = finished_run(tmp_path)
    epochs = [r for r in read_metrics(run_dir) if r["kind"] == "epoch"]
    app = make_app(view_dirs=[run_dir])
    async with app.run_test(size=(160, 48)) as pilot:
        view = app.train_screen.query_one(HistogramView)
        await wait_for(pilot, lambda: view.epochs == (0, 3), what="the 4 epoch records")
        app.train_screen.redraw(force=True)
        await pilot.pause()
        assert app.train_screen.query_one("#hist-panel").display  # beside the others: no key
        assert view.latest == epochs[-1]["hist"]
        assert view.history[("weight", "dense_1")].rows == len(epochs)
        text = panel_text(app)
        assert "dense_1 ±" in text and "epoch 0" in text and "epoch 3" in text
