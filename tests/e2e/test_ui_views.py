"""The probe's views on the train screen, in the child process users get: the space a hidden
layer makes (h, u), dense weights as pictures, and the gallery of mistakes (w)."""

from __future__ import annotations

from uitools import run_state, take_steps, tiny, wait_for

from tuidl.presets import preset
from tuidl.ui.app import make_app
from tuidl.ui.widgets.filters import FilterGrid
from tuidl.ui.widgets.spaceview import SpaceView
from tuidl.ui.widgets.wrongexample import WrongExample


async def test_the_space_panel_follows_h_and_u(tmp_path):
    app = make_app(tiny(), runs_root=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await take_steps(pilot, 3)
        screen = app.train_screen
        space = screen.query_one(SpaceView)
        view = screen.query_one("#view-panel")
        await wait_for(pilot, lambda: space.has_data() and space.display, what="the space")
        assert "space of tanh_1 (h, u)" in str(view.border_title)  # the last hidden layer
        assert screen.latest_probe.space.units == (0, 1)
        await pilot.press("h")  # wraps to the first hidden layer
        await wait_for(pilot, lambda: "space of dense_0" in str(view.border_title), 5, "layer")
        await pilot.press("u")
        await wait_for(pilot, lambda: screen.latest_probe.space.units == (1, 2), 5, "units")
        assert any(line.text.startswith("units 1,2 of 32") for line in space._strips[-1:])
        await wait_for(pilot, lambda: run_state(app) == "paused", what="every command applied")


async def test_dense_weights_show_as_pictures_and_w_browses_mistakes(tmp_path):
    experiment = preset("digits-dbn").with_overrides(
        ["model.layers.1.pretrain_epochs=0", "model.layers.2.pretrain_epochs=0"]
    )
    app = make_app(experiment, runs_root=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await take_steps(pilot, 1)
        screen = app.train_screen
        grid = screen.query_one(FilterGrid)
        await wait_for(pilot, lambda: grid.display and grid.has_data(), what="the pictures")
        assert grid.filters.name == "rbm_0" and grid.filters.W.shape[1:] == (1, 8, 8)
        title = str(screen.query_one("#view-panel").border_title)
        assert title == "weights rbm_0: a 1x8x8 picture per unit (128)"
        wrong = screen.query_one(WrongExample)
        panel = screen.query_one("#samples-panel")
        await wait_for(pilot, wrong.has_data, what="a mistake")
        assert not wrong.display and screen.query_one("#samples-row").display
        first = screen.latest_probe.wrong
        assert first.index == 0 and first.top[0][0] != first.true
        await pilot.press("w")  # the mistakes instead of the predictions: the first one
        assert wrong.display and not screen.query_one("#samples-row").display
        assert str(panel.border_title).startswith("mistakes (val)")
        await pilot.press("w")
        await wait_for(pilot, lambda: screen.latest_probe.wrong.index == 1, 5, "the next mistake")
        caption = wrong._strips[0].text
        assert caption.startswith(f"wrong 2/{screen.latest_probe.wrong.total} (w) true ")
        await pilot.press("p")
        assert not wrong.display and str(panel.border_title).startswith("predictions (val)")
