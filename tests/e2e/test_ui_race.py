"""The compare screen races what `tuidl compare` races: seeds drawn as a mean inside a
min-max band with mean ± half-range in the table, values of any key (`--vary`), and a surface
race's paths."""

from __future__ import annotations

from uitools import raced, tiny, wait_for

from tuidl.presets import preset
from tuidl.ui.app import make_app
from tuidl.ui.widgets.linechart import LineChart
from tuidl.ui.widgets.surfaceplot import SurfacePlot

THROTTLE = 0.003


async def race(pilot, text: str) -> None:
    """Type `text` on the race line, start it, and wait for its end and a full redraw."""
    app = pilot.app
    await pilot.press("o")
    app.compare_screen.query_one("#race").value = ""
    await pilot.press(*text, "enter")
    await wait_for(pilot, lambda: app.race is not None, what="the race")
    await wait_for(pilot, lambda: app.race.progress().state == "finished", 60, "race over")
    app.tick()
    app.compare_screen.redraw(0.0, app.race.progress(), force=True)
    await pilot.pause()


async def test_seeds_race_as_a_band_with_mean_and_spread(tmp_path):
    app = make_app(tiny(epochs=2), runs_root=tmp_path, throttle=THROTTLE, start_screen="compare")
    async with app.run_test(size=(120, 36)) as pilot:
        await race(pilot, "sgd,adam --seeds 3")
        screen = app.compare_screen
        assert set(app.race.progress().runs) == {
            f"{name} seed{seed}" for name in ("sgd", "adam") for seed in (0, 1, 2)
        }
        chart = screen.query_one("#compare-curve", LineChart)
        assert list(chart.series) == ["sgd min", "sgd max", "sgd", "adam min", "adam max", "adam"]
        assert chart.unlisted == {"sgd min", "sgd max", "adam min", "adam max"}
        x, low = chart.series["sgd min"]
        _, high = chart.series["sgd max"]
        _, mean = chart.series["sgd"]
        assert len(x) == 10 and (low <= mean).all() and (mean <= high).all() and (low < high).any()
        # the band is the seeds' own curves: their lowest and highest smoothed loss at the end
        finals = [screen.runs[f"sgd seed{s}"].smooth.last for s in (0, 1, 2)]
        assert low[-1] == min(finals) and high[-1] == max(finals)
        title = str(screen.query_one("#compare-curve-panel").border_title)
        assert "band min-max over 3 seeds" in title
        table = screen.query_one("#compare-table")
        assert table.row_count == 2
        row = [str(cell) for cell in table.get_row("sgd")]
        assert "±" in row[3] and "±" in row[4] and "±" in row[5] and row[1] == "finished"
        assert table.virtual_size.width <= table.scrollable_content_region.width
        legend = chart.render_line(0).text
        assert "sgd" in legend and "min" not in legend
    runs = sorted(p.name for p in next(tmp_path.glob("compare-*")).iterdir())
    assert runs == [f"{name}-seed{k}" for name in ("adam", "sgd") for k in (0, 1, 2)]


async def test_the_race_line_varies_any_key(tmp_path):
    app = make_app(tiny(epochs=1), runs_root=tmp_path, throttle=THROTTLE, start_screen="compare")
    async with app.run_test(size=(120, 36)) as pilot:
        await race(pilot, "--vary model.init=he,xavier")
        table = app.compare_screen.query_one("#compare-table")
        assert [str(table.get_row_at(k)[0]) for k in range(2)] == [
            "model.init=he", "model.init=xavier",
        ]  # fmt: skip
        await race(pilot, "sgd --vary nope")  # a bad line is one notice, no race
        assert "write KEY=V1,V2" in str(list(app._notifications)[-1].message)
    runs = sorted(p.name for p in next(tmp_path.glob("compare-*")).iterdir())
    assert runs == ["model.init-he", "model.init-xavier"]


async def test_the_race_line_offers_the_experiments_own_race(tmp_path):
    experiment = tiny(epochs=1).with_overrides(['compare={optimizers="sgd:0.5,adam", seeds=2}'])
    app = make_app(experiment, runs_root=tmp_path, throttle=THROTTLE, start_screen="compare")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.compare_screen.query_one("#race").value == "sgd:0.5,adam --seeds 2"


async def test_a_surface_race_draws_every_path(tmp_path):
    app = make_app(preset("surface-bowl"), runs_root=tmp_path, start_screen="compare")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert app.compare_screen.query_one("#race").value.startswith("sgd:0.95,momentum:0.1")
        await raced(pilot)
        screen = app.compare_screen
        plot = screen.query_one(SurfacePlot)
        assert screen.query_one("#compare-surface-panel").display and plot.function == "bowl"
        assert list(plot.paths) == list(screen.groups) and len(plot.paths) == 7
        xs, ys, color = plot.paths["sgd:0.95"]
        assert (xs[0], ys[0]) == (-7.0, 2.0) and len(xs) == 30
        assert color == screen.color("sgd:0.95")
        text = "".join(strip.text for strip in plot.build_strips(plot.content_size.width))
        assert "x sgd:0.95 (" in text and "& adam:0.3 (" in text
