"""Pilot tests of every screen and key at 80x24 (and of the layout at 160x48).

Training runs as users get it, in a child process (`make_app`'s default), on tiny experiments
with a throttle (a short sleep between steps), so the machine is never CPU-busy: a busy
trainer makes every `pilot.press` take about 2 s (notes/textual-practices.md, section 4).
The tests see the run only as the app does: the screen, the session's `progress()`, the
records that reach the screens and the run directory's files.
"""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest
from rich.console import Console
from uitools import (
    progress,
    run_state,
    shown_step,
    status_text,
    take_steps,
    tiny,
    tiny_dbn,
    two_conv,
    wait_for,
    wait_until_ended,
)

from tuidl.checkpoint import load_checkpoint
from tuidl.draft import DatasetCache
from tuidl.errors import ConfigError
from tuidl.presets import preset
from tuidl.render.charts import short
from tuidl.runs import RunWriter, read_metrics
from tuidl.trainer import Diverged, Trainer, load_experiment_data
from tuidl.ui.app import make_app
from tuidl.ui.screens.build import BuildScreen, LayerForm
from tuidl.ui.screens.help import ConfirmScreen, HelpScreen, binding_rows
from tuidl.ui.screens.train import PANELS, TRAINING_ACTIONS
from tuidl.ui.status import LR_MARK_SECONDS
from tuidl.ui.widgets.alertbanner import AlertBanner
from tuidl.ui.widgets.filters import FilterGrid
from tuidl.ui.widgets.gradbars import GradBars
from tuidl.ui.widgets.linechart import LineChart
from tuidl.ui.widgets.samples import SampleStrip

SIZE = (80, 24)
THROTTLE = 0.003
HOLD = 0.5  # seconds: the step counter must stand still this long while paused, and move
# in the same time while running (the child reports its progress every 0.05 s)
CHILD_READY = 30  # seconds for the child process to start and build its run


def lr(app) -> float | None:
    current = progress(app)
    return current.lr if current is not None and not current.pending else None


def toasted(app, text: str) -> bool:
    return any(text in notification.message for notification in app._notifications)


def marked_lr(app) -> str | None:
    """The status line's highlighted text (a learning rate just changed), if any."""
    text = app.train_screen.query_one("#status").render()
    marked = [text.plain[s.start : s.end] for s in text.spans if "reverse" in str(s.style)]
    return marked[0] if marked else None


async def test_train_keys_step_pause_lr_save_reinit(tmp_path):
    clock = [1000.0]
    app = make_app(tiny(epochs=200), runs_root=tmp_path, throttle=THROTTLE, clock=lambda: clock[0])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: run_state(app) not in (None, "starting", "compiling"),
            CHILD_READY,
            "the run ready",
        )
        assert run_state(app) == "paused" and shown_step(app) == 0  # opens one key from training
        await pilot.press("n")
        await wait_for(pilot, lambda: shown_step(app) == 1, what="one step")
        await wait_for(pilot, lambda: run_state(app) == "paused", what="paused after the step")
        await pilot.press("space")
        await wait_for(pilot, lambda: shown_step(app) > 10, what="the step counter advancing")
        running_at = shown_step(app)
        await pilot.pause(HOLD)
        assert run_state(app) == "running" and shown_step(app) > running_at  # HOLD is enough
        await pilot.press("space")
        await wait_for(pilot, lambda: run_state(app) == "paused", what="pause")
        paused_at = shown_step(app)
        await pilot.pause(HOLD)
        assert shown_step(app) == paused_at and run_state(app) == "paused"
        assert f"step {paused_at}" in status_text(app)

        await pilot.press("plus")
        await wait_for(pilot, lambda: lr(app) == pytest.approx(0.02), what="lr applied")
        await wait_for(pilot, lambda: marked_lr(app) == "lr 0.02", what="the new lr marked")
        assert not app._notifications  # a toast would re-lay out the screen
        await pilot.press("minus", "minus")
        await wait_for(pilot, lambda: lr(app) == pytest.approx(0.005), what="lr applied")
        await wait_for(
            pilot, lambda: marked_lr(app) == f"lr {short(0.005)}", what="the new lr marked"
        )

        run_dir = Path(app.report.run_dir)  # from the run's RunStarted
        assert run_dir == tmp_path / "spiral-mlp-1"
        await pilot.press("s")
        await wait_for(pilot, lambda: (run_dir / "checkpoint.npz").exists(), what="checkpoint")
        # the toast says so once the record reached the app, and with it every record before
        # (the lr changes': the status line's lr, from progress(), may show a moment earlier)
        await wait_for(pilot, lambda: toasted(app, "checkpoint saved"), what="the toast")
        clock[0] += LR_MARK_SECONDS  # the mark of the last change goes LR_MARK_SECONDS after it
        app.tick()
        assert marked_lr(app) is None and f"lr {short(0.005)}" in status_text(app)

        await pilot.press("r")
        await wait_for(
            pilot, lambda: app.report.run_dir not in (None, str(run_dir)), what="a new run"
        )
        assert shown_step(app) == 0
        assert lr(app) == pytest.approx(0.005)
        assert "seed 1" in status_text(app)  # a new seed: other weights, another batch order
        app.tick()
        screen = app.train_screen  # the old run's panels are gone, none shows stale numbers
        assert screen.runs["train"].steps == 0 and not screen.query_one(GradBars).norms
        child = app.session.process
        await pilot.press("q")  # paused: quits without asking
    assert app.return_code == 0
    assert child.wait(10) == 0  # the app stops its training process as it ends
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["step"] == paused_at and summary["status"] == "interrupted"


async def test_curves_gradients_and_panels_fill_in(tmp_path):
    app = make_app(tiny(epochs=3), runs_root=tmp_path, throttle=THROTTLE, autostart=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until_ended(pilot)
        screen = app.train_screen
        screen.redraw(force=True)
        await pilot.pause()
        chart = screen.query_one("#curve", LineChart)
        assert chart.count("batch") == 15 and chart.count("val loss") == 4  # epochs 0-3
        assert set(screen.query_one("#gradbars").norms) == {"dense_0", "dense_1", "dense_2"}
        assert screen.query_one("#heatmap").history.rows == 15
        assert set(screen.query_one("#acts").act) >= {"dense_0", "tanh_0"}
        assert screen.query_one("#boundary").display  # 2D data: decision boundary shown
        # 80 columns: the curves plus one panel; tab shows the next one
        assert screen.query_one("#grad-panel").display and screen.has_class("-narrow")
        assert not screen.query_one("#heat-panel").has_class("-current")
        await pilot.press("tab", "tab")
        assert screen.query_one("#heat-panel").has_class("-current")
        await pilot.press("a")
        assert screen.metric == "acc" and chart.count("val acc") == 4
        await pilot.press("l")
        assert chart.log_y


async def test_help_lists_every_key_and_quit_asks_while_training(tmp_path):
    app = make_app(tiny(epochs=500), runs_root=tmp_path, throttle=0.01, autostart=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=80, record=True, file=io.StringIO())
        console.print(app.screen.query_one("#help-table").renderable)
        text = console.export_text()

        for _, keys, _ in binding_rows(app.train_screen):
            assert keys.split()[0] in text
        await pilot.press("escape")
        assert app.screen is app.train_screen
        await wait_for(pilot, lambda: run_state(app) == "running", CHILD_READY, "training")
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert app.screen is app.train_screen and app.is_running
        await pilot.press("q", "y")
    assert app.return_code == 0


async def _type_layer(pilot, kind: str, **keys) -> None:
    await pilot.press("a")
    await pilot.press(*kind)
    await pilot.pause()
    for value in keys.values():
        await pilot.press("tab", *str(value))
    await pilot.press("enter")
    await pilot.pause()


async def test_build_three_layers_by_keys_then_train(tmp_path):
    app = make_app(tiny(), runs_root=tmp_path, throttle=THROTTLE, start_screen="build")
    async with app.run_test(size=SIZE) as pilot:
        build = app.build_screen
        assert isinstance(app.screen, BuildScreen)
        await wait_for(pilot, lambda: not build.loading, what="the dataset")
        await pilot.press(*["d"] * 5)
        assert build.layer_specs == []
        assert "no layers" in build.analysis.problem
        await _type_layer(pilot, "dense", units=8)
        await _type_layer(pilot, "tanh")
        await _type_layer(pilot, "dense", units=2)
        assert build.layer_specs == [
            {"type": "dense", "units": 8},
            {"type": "tanh"},
            {"type": "dense", "units": 2},
        ]
        assert build.analysis.ok
        assert [r.output_shape for r in build.analysis.rows] == [(8,), (8,), (2,)]
        assert build.analysis.total_params == 2 * 8 + 8 + 8 * 2 + 2
        # move the tanh up and back; edit a layer's units through the form
        await pilot.press("up", "K")  # the cursor starts on the last layer added
        assert build.layer_specs[0] == {"type": "tanh"}
        await pilot.press("J")
        assert build.layer_specs[1] == {"type": "tanh"}
        await pilot.press("up", "e")
        assert isinstance(app.screen, LayerForm)
        await pilot.press("tab", "backspace", "4", "enter")
        await pilot.pause()
        assert build.layer_specs[0] == {"type": "dense", "units": 4}
        await pilot.press("t")
        await wait_for(pilot, lambda: app.screen is app.train_screen, what="train screen")
        await wait_for(pilot, lambda: shown_step(app) > 0, CHILD_READY, "training the new network")
        # the network that trains is the one built: its layers as the screen names them (the
        # activations panel lists every layer, from the first epoch's end)
        screen = app.train_screen
        acts = screen.query_one("#acts")
        await wait_for(pilot, lambda: bool(acts.act), what="the first epoch's activations")
        assert list(acts.act) == ["dense_0", "tanh_0", "dense_1"]
        assert screen.query_one("#heatmap").layer_names == ["dense_0", "dense_1"]


async def test_form_validation_message_stays_until_fixed(tmp_path):
    app = make_app(tiny(), runs_root=None, start_screen="build")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a", *"dense", "enter")  # units is required
        await pilot.pause()
        assert isinstance(app.screen, LayerForm)
        assert "missing key 'units'" in str(app.screen.query_one("#form-problem").render())
        await pilot.press("tab", "-", "3", "enter")
        await pilot.pause()
        assert isinstance(app.screen, LayerForm)
        await pilot.press("escape")
        assert app.screen is app.build_screen and len(app.build_screen.layer_specs) == 5


async def test_shape_mismatch_blocks_training_with_a_message(tmp_path):
    app = make_app(tiny(), runs_root=tmp_path, throttle=THROTTLE, start_screen="build")
    notes = []
    async with app.run_test(size=SIZE) as pilot:
        app.notify = lambda message, **kw: notes.append(message)  # record, do not draw
        build = app.build_screen
        before = app.session
        await wait_for(pilot, lambda: not build.loading, what="the dataset")
        await pilot.press("i", *"maxpool2d", "tab", "2", "enter")
        await pilot.pause()
        assert build.layer_specs[0] == {"type": "maxpool2d", "size": 2}
        assert build.analysis.problem_row == 0
        assert "(2,)" in build.analysis.rows[0].problem
        summary = str(build.query_one("#build-summary").render())
        assert "layer 0 (maxpool2d)" in summary
        await pilot.press("t")
        await pilot.pause()
        assert app.screen is build and app.session is before  # training did not start
        assert any("cannot train yet (layer 0)" in n for n in notes)
        await pilot.press("d")
        assert build.analysis.ok


async def test_compare_three_optimizers_same_first_loss(tmp_path):
    app = make_app(tiny(epochs=2), runs_root=tmp_path, throttle=THROTTLE, start_screen="compare")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.compare_screen
        await pilot.press("s")
        await wait_for(pilot, lambda: app.race is not None)
        await wait_for(pilot, lambda: app.race.progress().state == "finished", what="race over")
        app.tick()
        assert app.race.progress().runs == dict.fromkeys(["sgd", "momentum", "adam"], "finished")
        screen.redraw(0.0, app.race.progress(), force=True)
        await pilot.pause()
        chart = screen.query_one("#compare-curve", LineChart)
        assert list(chart.series) == ["sgd", "momentum", "adam"]
        assert len(set(chart.series_colors.values())) == 3
        first = [run.loss.y[0] for run in screen.runs.values()]
        assert first[0] == first[1] == first[2]  # identical weights and batch
        assert len({run.loss.last for run in screen.runs.values()}) == 3
        table = screen.query_one("#compare-table")
        assert table.row_count == 3
        await pilot.press("g")
        assert screen.query_one("#compare-grads-panel").display
        assert set(screen.query_one("#compare-grads").norms) == {"dense_0", "dense_1", "dense_2"}
    runs = sorted(p.name for p in next(tmp_path.glob("compare-*")).iterdir())
    assert runs == ["adam", "momentum", "sgd"]


async def test_compare_table_fits_at_120_columns_and_each_run_keeps_its_colour(tmp_path):
    app = make_app(tiny(epochs=1), runs_root=tmp_path, throttle=THROTTLE, start_screen="compare")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.compare_screen
        await pilot.press("s")
        await wait_for(pilot, lambda: app.race is not None)
        await wait_for(pilot, lambda: app.race.progress().state == "finished", what="race over")
        app.tick()
        screen.redraw(0.0, app.race.progress(), force=True)
        await pilot.press("down", "g")  # momentum's gradients
        await pilot.pause()
        table = screen.query_one("#compare-table")
        assert len(table.columns) == 7
        assert table.virtual_size.width <= table.scrollable_content_region.width  # no scrolling
        colors = screen.query_one("#compare-curve", LineChart).series_colors
        assert len(set(colors.values())) == 3
        for label in ("sgd", "momentum", "adam"):
            assert str(table.get_row(label)[0].style) == colors[label]
        title = screen.query_one("#compare-grads-panel").border_title
        assert f"[{colors['momentum']}]momentum" in str(title)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
async def test_compare_screen_ends_runs_as_tuidl_compare_does(tmp_path):
    # a diverging optimizer gets its summary; an early-stopped run keeps its best weights
    experiment = tiny(epochs=60).with_overrides(
        ["train.early_stopping={patience=0, restore_best=true}"]
    )
    app = make_app(experiment, runs_root=tmp_path, start_screen="compare")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")  # the optimizers field, focused
        app.compare_screen.query_one("#race").value = ""
        await pilot.press(*"adam,sgd:1e38", "enter")
        await wait_for(pilot, lambda: app.race is not None, what="the race")
        await wait_for(pilot, lambda: app.race.progress().state == "finished", 30, "race over")
        app.tick()
        screen = app.compare_screen
        screen.redraw(0.0, app.race.progress(), force=True)
        table = screen.query_one("#compare-table")
        assert [str(table.get_row(label)[1]) for label in ("adam", "sgd:1e38")] == [
            "early stopped",
            "diverged",
        ]
    race = next(tmp_path.glob("compare-*"))
    summaries = {p.name: json.loads((p / "summary.json").read_text()) for p in race.iterdir()}
    assert summaries["adam"]["status"] == "early_stopped"
    assert summaries["sgd-lr1e38"]["status"] == "diverged"
    assert summaries["sgd-lr1e38"]["diverged_at_step"] >= 1
    trainer = Trainer(experiment)  # the saved weights are the best epoch's
    load_checkpoint(race / "adam" / "checkpoint.npz", trainer.model, trainer.optimizer)
    val_loss = trainer.evaluate(trainer.dataset.x_val, trainer.dataset.y_val, "val")["val_loss"]
    assert val_loss == pytest.approx(summaries["adam"]["best"]["val_loss"], rel=1e-6)


async def test_view_of_a_finished_run_shows_its_curves(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    writer = RunWriter(run_dir)
    Trainer(tiny(epochs=2), callbacks=[writer]).fit()
    writer.close()
    steps = [r for r in read_metrics(run_dir) if r["kind"] == "step"]
    app = make_app(view_dirs=[run_dir])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.train_screen.runs.get("run") is not None)
        app.train_screen.redraw(force=True)
        await pilot.pause()
        chart = app.train_screen.query_one("#curve", LineChart)
        assert chart.count("batch") == len(steps) and chart.count("val loss") == 3  # epoch 0 too
        assert app.train_screen.query_one("#heatmap").layer_names == [
            "dense_0",
            "dense_1",
            "dense_2",
        ]
        status = app.train_screen.query_one("#status").render().plain
        # its summary says it finished: not "following" (nothing more will come)
        assert f"step {len(steps)}" in status and "FINISHED" in status
        assert "samples/s" in status and " 0 samples/s" not in status  # the run's mean rate
        # only the keys that do something here: no pause, step, lr, save, build, race...
        footer = {key.action for key in app.train_screen.query("FooterKey")}
        assert {"toggle_metric", "help"} <= footer and not footer & TRAINING_ACTIONS
        assert not any(action.startswith("show") for action in footer), footer
        helped = {what for _, _, what in binding_rows(app.train_screen)}
        assert "loss/acc" in helped and not helped & {"pause/run", "one step", "lr x2", "save ckpt"}
        await pilot.press("space")  # not bound here: nothing happens
        assert app.screen is app.train_screen
        await pilot.press("q")
    assert app.return_code == 0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
async def test_view_of_a_race_folder_overlays_its_runs_with_their_statuses(tmp_path):
    race = tmp_path / "compare-spiral-1"
    for name, lr in (("adam", 0.01), ("sgd", 1e38)):
        (race / name).mkdir(parents=True)
        experiment = tiny(epochs=2).with_overrides([f"optimizer.name={name}", f"optimizer.lr={lr}"])
        trainer = Trainer(experiment, callbacks=[RunWriter(race / name)])
        try:
            trainer.fit()
        except Diverged:
            pass
    (race / "comparison.json").write_text("{}")
    app = make_app(view_dirs=sorted(race.iterdir()))  # race/*: comparison.json passed over
    async with app.run_test(size=(160, 48)) as pilot:
        runs = app.train_screen.runs
        await wait_for(pilot, lambda: {"adam", "sgd"} <= set(runs), what="both runs")
        await wait_for(pilot, lambda: "adam finished, sgd diverged" in status_text(app))
        assert "FINISHED" in status_text(app)  # the first run's status: neither still written


async def test_view_follows_a_run_being_written(tmp_path):
    run_dir = tmp_path / "live"
    run_dir.mkdir()
    record = {"kind": "step", "epoch": 0.1, "loss": 1.0, "lr": 0.1, "grad_norm": {"dense_0": 0.1}}
    lines = [json.dumps(record | {"step": k, "time": k}) for k in (1, 2, 3)]
    (run_dir / "metrics.jsonl").write_text(lines[0] + "\n" + lines[1][:7])
    app = make_app(view_dirs=[run_dir])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.train_screen.runs.get("live") is not None)
        assert app.train_screen.runs["live"].loss.x.tolist() == [1]
        with open(run_dir / "metrics.jsonl", "a") as f:
            f.write(lines[1][7:] + "\n" + lines[2] + "\n")
        await wait_for(pilot, lambda: app.train_screen.runs["live"].loss.x.tolist() == [1, 2, 3], 5)


async def test_view_skips_damaged_lines_and_says_how_many(tmp_path):
    run_dir = tmp_path / "damaged"
    run_dir.mkdir()
    good = {"kind": "step", "epoch": 0.1, "loss": "nan", "grad_norm": {"dense_0": "nan"}}
    lines = [json.dumps(good | {"step": 1}).encode(), b"[1, 2, 3]", b'{"kind": "step"}',
             b'{"kind": "step", "step": 2, "loss": "abc"}', b"\xff\xfe",
             json.dumps(good | {"step": 3, "loss": 0.5}).encode()]  # fmt: skip
    (run_dir / "metrics.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    app = make_app(view_dirs=[run_dir])
    async with app.run_test(size=(160, 48)) as pilot:
        runs = app.train_screen.runs
        await wait_for(pilot, lambda: "damaged" in runs and runs["damaged"].steps == 2)
        assert "4 damaged lines skipped" in status_text(app)
        app.train_screen.redraw(force=True)
        await pilot.pause()
        assert app.is_running  # nothing crashed the poll thread or the screen


async def test_resize_between_layouts(tmp_path):
    app = make_app(tiny(), runs_root=None)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.train_screen
        assert screen.has_class("-narrow")
        assert not screen.query_one("#act-panel").display
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        assert screen.has_class("-wide")
        assert screen.query_one("#act-panel").display and screen.query_one("#heat-panel").display
        await pilot.press("b")
        assert app.screen is app.build_screen
        await pilot.press("c")
        assert app.screen is app.compare_screen
        await pilot.press("t")
        assert app.screen is screen


async def test_app_writes_the_same_metrics_as_tuidl_run(tmp_path, capsys):
    from tuidl.cli import main

    assert main(["run", "spiral-mlp", "--epochs", "2", "--set", "data.n=200",
                 "--out", str(tmp_path / "cli")]) == 0  # fmt: skip
    app = make_app(tiny(epochs=2), runs_root=tmp_path / "app", autostart=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until_ended(pilot)
        await pilot.press("q")

    def lines(root):
        (run,) = root.iterdir()
        return [{k: v for k, v in r.items() if k != "time"} for r in read_metrics(run)]

    cli, ui = lines(tmp_path / "cli"), lines(tmp_path / "app")
    assert len(cli) == 13 and ui == cli  # 10 steps, epochs 0 to 2
    (run,) = (tmp_path / "app").iterdir()
    assert json.loads((run / "summary.json").read_text())["status"] == "finished"


async def test_f_and_i_pick_the_conv_layer_and_the_input_shown(tmp_path):
    experiment = two_conv()
    labels = load_experiment_data(experiment).y_val  # the same data, split with the same seed
    app = make_app(experiment, runs_root=None)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.train_screen
        view = screen.query_one("#view-panel")
        await wait_for(
            pilot, lambda: "conv2d_0" in str(view.border_title), CHILD_READY, "first probe"
        )
        assert (
            view.border_title == f"filters conv2d_0 (4x1x3x3, 1 of 2) · input #0 label {labels[0]}"
        )
        await pilot.press("f")  # paused: the new layer still shows within about a second
        await wait_for(pilot, lambda: "conv2d_1" in str(view.border_title), 2, "next layer")
        assert view.border_title.startswith("filters conv2d_1 (6x4x3x3, 2 of 2)")
        grid = screen.query_one(FilterGrid)
        assert grid.filters.W.shape == (6, 4, 3, 3) and grid.maps.maps.shape[0] == 6
        await pilot.press("i", "i")
        await wait_for(pilot, lambda: "input #2" in str(view.border_title), 2, "input #2")
        assert view.border_title.endswith(f"input #2 label {labels[2]}")
        assert grid.maps.input == 2 and screen.query_one(SampleStrip).highlight == 2
        await pilot.press("f")  # two conv layers: back to the first
        await wait_for(pilot, lambda: "conv2d_0" in str(view.border_title), 2, "wrap around")
        await wait_for(pilot, lambda: run_state(app) == "paused", what="every command applied")
        assert shown_step(app) == 0 and screen.latest_probe.step == 0  # looking does not train


async def test_f_without_a_conv_layer_says_so(tmp_path):
    app = make_app(tiny(), runs_root=None)
    notes = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.train_screen.query_one("#boundary").display)
        app.notify = lambda message, **kw: notes.append(message)
        await pilot.press("f")
        assert any("f and i pick a conv layer" in n for n in notes)


async def _digits_after_one_epoch(pilot, app) -> None:
    await wait_for(pilot, lambda: run_state(app) == "paused", CHILD_READY, "the run ready")
    steps_per_epoch = progress(app).total // progress(app).epochs
    await take_steps(pilot, steps_per_epoch)
    assert progress(app).epoch == 1
    await wait_for(pilot, lambda: app.train_screen.query_one("#confusion").matrix is not None)
    app.train_screen.redraw(force=True)
    await pilot.pause()


def _inside(screen, panel) -> bool:
    """The panel lies between the status line and the footer, and needs no scrolling."""
    region = panel.region
    return region.y >= 1 and region.bottom <= screen.size.height - 1 and panel.max_scroll_y == 0


async def test_digits_cnn_panels_fit_at_160x48_and_tab_through_at_80x24(tmp_path):
    app = make_app("digits-cnn", runs_root=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await _digits_after_one_epoch(pilot, app)
        screen = app.train_screen
        assert screen.has_class("-wide")
        for panel_id in PANELS:
            panel = screen.query_one(f"#{panel_id}")
            assert panel.display and _inside(screen, panel), panel_id
        grid = screen.query_one(FilterGrid)
        assert grid.region.height >= 2 + 1 + 8  # filters, caption, two rows of 8x8 maps

        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert screen.has_class("-narrow")
        seen = []
        for _ in PANELS:
            await pilot.press("tab")
            shown = [p for p in PANELS[1:] if screen.query_one(f"#{p}").display]
            assert len(shown) == 1, shown  # one panel beside the curves at a time
            panel = screen.query_one(f"#{shown[0]}")
            region = panel.region
            assert region.y >= 12 and region.bottom <= 23, (shown, region)
            seen.append(shown[0])
        assert set(seen) == set(PANELS[1:])
        # the filters fit at 80x24 too (smaller feature maps); the confusion matrix scrolls
        assert screen.query_one("#view-panel").max_scroll_y == 0


def _image_widths(widget, row: int = 0) -> list[int]:
    """Widths of the images on a row of an image widget, as drawn (runs of half blocks)."""
    return [len(run) for run in widget.render_line(row).text.split()]


async def _images_after_one_step(pilot, app) -> tuple[SampleStrip, FilterGrid]:
    await wait_for(pilot, lambda: run_state(app) == "paused", CHILD_READY, "the run ready")
    await take_steps(pilot, 1)
    app.train_screen.redraw(force=True)
    await pilot.pause()
    return app.train_screen.query_one(SampleStrip), app.train_screen.query_one(FilterGrid)


async def test_images_at_160x48_are_as_large_as_their_panels_allow(tmp_path):
    app = make_app(two_conv(), runs_root=None)  # 8x8 digits, 3x3 filters
    async with app.run_test(size=(160, 48)) as pilot:
        strip, grid = await _images_after_one_step(pilot, app)
        assert strip.room() == int(0.45 * (48 - 2)) - 2  # its panel's max-height, less borders
        assert _image_widths(strip) == [8] * 5  # all eight fit at their own size, not at 2x
        legend = grid.render_line(0).text.split()  # weights −0.42 ◀███ 0 ███▶ +0.42
        assert legend[0] == "weights" and legend[2:5] == ["◀███", "0", "███▶"]
        assert legend[1] == "−" + legend[5][1:] and legend[5].startswith("+")
        filters = _image_widths(grid, 1)  # 3x3 filters at 4x or more, each weight a block
        assert len(set(filters)) == 1 and filters[0] % 3 == 0 and filters[0] >= 12
        maps = next(y for y in range(40) if "→ maps" in grid.render_line(y).text)
        # the input and its maps at 1x: the histogram panel above takes 12 of the column's rows
        assert set(_image_widths(grid, maps + 1)) == {8}
        assert grid.parent.max_scroll_y == 0  # all of it in the panel
    try:
        load_experiment_data(preset("mnist-lenet"))
    except ConfigError as error:
        pytest.skip(f"MNIST not found ({error}): set TUIDL_DATA to a folder with mnist/")
    app = make_app("mnist-lenet", runs_root=None)
    async with app.run_test(size=(160, 48)) as pilot:
        strip, grid = await _images_after_one_step(pilot, app)
        assert _image_widths(strip) == _image_widths(strip, 13) == [28]  # one row fits
        assert strip.render_line(14).text.strip()[0].isdigit()  # 28 columns by 14 rows, a label
        assert _image_widths(grid, 1) == [10] * 5  # 5x5 filters at 2x
        assert "◀███ 0 ███▶" in grid.render_line(0).text


def _summary(build) -> str:
    return str(build.query_one("#build-summary").render())


async def test_build_loads_datasets_in_a_worker_and_ignores_stale_results(tmp_path):
    app = make_app(tiny(), runs_root=None, start_screen="build")
    async with app.run_test(size=SIZE) as pilot:
        build = app.build_screen
        await wait_for(pilot, lambda: build.analysis.ok, what="spiral loaded")
        real, gate, threads = build.loader, threading.Event(), []

        def slow_loader(data, seed):
            threads.append(threading.current_thread())
            if data["name"] == "digits":
                gate.wait(10)
            return real(data, seed)

        build.loader = slow_loader
        dataset = build.query_one("#dataset")
        dataset.value = "digits"
        await wait_for(pilot, lambda: "loading digits…" in _summary(build), what="loading note")
        assert threads and threading.main_thread() not in threads
        await pilot.press("t")  # still loading: training must wait
        await wait_for(pilot, lambda: toasted(app, "cannot train yet"), what="t refused")
        assert app.screen is build and not build.analysis.ok
        dataset.value = "xor"  # picked before digits arrived: digits is now stale
        await wait_for(pilot, lambda: build.analysis.ok, what="xor loaded")
        assert build.analysis.input_shape == (2,)
        gate.set()
        seed = build.document.get("seed", 0)
        # the stale result is handed over (and would have been shown, as xor was, in the same
        # call on the UI thread) once it is in the cache
        await wait_for(pilot, lambda: DatasetCache.key({"name": "digits"}, seed) in build.datasets)
        await pilot.pause()
        assert build.analysis.input_shape == (2,) and "ready" in _summary(build)


async def test_build_shows_a_dataset_error_as_one_message(tmp_path):
    app = make_app(tiny(), runs_root=None, start_screen="build")
    async with app.run_test(size=SIZE) as pilot:
        build = app.build_screen
        await wait_for(pilot, lambda: build.analysis.ok, what="spiral loaded")

        def failing(data, seed):
            raise ConfigError("mnist is not here: tuidl data fetch mnist")

        build.loader = failing
        build.query_one("#dataset").value = "mnist"
        await wait_for(pilot, lambda: "data: mnist is not here" in _summary(build))
        assert _summary(build).count("mnist is not here") == 1
        assert app.is_running and not build.loading


async def test_pretraining_shows_in_the_status_line_and_the_curves(tmp_path):
    app = make_app(tiny_dbn(), runs_root=None, throttle=THROTTLE)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: run_state(app) == "paused", CHILD_READY, "the run ready")
        for _ in range(7):  # one pretraining epoch of rbm_0 (6 CD updates), and one more
            await pilot.press("n")
        await wait_for(pilot, lambda: progress(app).done == 7, 20, "seven CD updates")
        await wait_for(pilot, lambda: run_state(app) == "paused", what="paused after them")
        current = progress(app)
        assert current.done == 7 and current.step == 0  # no training step yet
        assert current.pretraining == ("rbm_0", "1.17", 3)  # epoch 1, batch 1 of 6
        screen = app.train_screen
        chart = screen.query_one("#curve", LineChart)
        await wait_for(pilot, lambda: chart.count("rbm_0 recon") == 1, what="the recon curve")
        recon = screen.runs["train"].pretrain["rbm_0"][1][0]
        status = status_text(app)
        assert f"pretraining rbm_0 epoch 1.17/3 · recon {short(recon)}" in status, status
        assert "pretraining" in str(screen.query_one("#loss-panel").border_title)

        await pilot.press("space")  # the rest: rbm_0, rbm_1, then one epoch of training
        await wait_until_ended(pilot)
        await wait_for(pilot, lambda: chart.count("batch") == 6, what="the loss curve")
        assert [len(xs) for xs, _ in screen.runs["train"].pretrain.values()] == [3, 2]
        status = status_text(app)
        assert "pretraining" not in status and "epoch 1.00/1" in status, status
        await pilot.press("q")


def drawn(widget) -> list[str]:
    """The lines `widget` draws at its width, each checked to fit it (none wraps)."""
    width = widget.content_size.width
    strips = widget.build_strips(width)
    assert all(strip.cell_length <= width for strip in strips)
    return [strip.text for strip in strips]


async def test_deep_sigmoid_names_its_vanishing_layers_in_a_banner(tmp_path):
    experiment = preset("deep-sigmoid").with_overrides(["train.epochs=1"])
    app = make_app(experiment, runs_root=tmp_path, throttle=THROTTLE, autostart=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until_ended(pilot, timeout=CHILD_READY)
        screen = app.train_screen
        screen.redraw(force=True)
        await pilot.pause()
        banner = screen.query_one(AlertBanner)
        assert banner.display
        layers = [a["layer"] for a in banner.alerts]
        assert layers[:5] == [f"dense_{k}" for k in range(5)] and len(layers) == 6
        lines = drawn(banner)  # 2 lines at 24 rows: an alert, then the rest by kind
        assert lines[0].startswith(" vanishing gradient  dense_0  too small to learn; try relu")
        assert lines[1].startswith("+5 more: vanishing dense_1, dense_2, dense_3")
        assert len(lines) == 2 == banner.size.height
        bars = screen.query_one(GradBars)
        assert bars.alerts == {layer: "vanishing" for layer in layers}
        rows = drawn(bars)  # one row per layer and the scale: the tags wrap none of them
        assert len(rows) == len(bars.norms) + 1 == screen.query_one("#gradbars").size.height
        assert rows[0].startswith("dense_0") and rows[0].rstrip().endswith("vanish")
        assert not rows[10].rstrip().endswith("vanish")  # dense_10, the output layer


async def test_view_of_a_run_with_alerts_shows_and_clears_them(tmp_path):
    run_dir = tmp_path / "sig"
    run_dir.mkdir()
    writer = RunWriter(run_dir)
    Trainer(preset("deep-sigmoid").with_overrides(["train.epochs=1"]), callbacks=[writer]).fit()
    writer.close()
    written = [r for r in read_metrics(run_dir) if r["kind"] == "alert"]
    app = make_app(view_dirs=[run_dir])
    async with app.run_test(size=(160, 48)) as pilot:
        banner = app.train_screen.query_one(AlertBanner)
        await wait_for(pilot, lambda: len(banner.alerts) == len(written) == 6, what="alerts")
        await wait_for(pilot, lambda: banner.size.height == 4, what="the banner laid out")
        assert banner.display and banner.alerts == written
        lines = drawn(banner)  # 4 lines at 48 rows
        assert len(lines) == 4 and all("try relu instead of sigmoid" in x for x in lines[:3])
        cleared = written[0] | {"cleared": True, "message": "gradient back"}
        with open(run_dir / "metrics.jsonl", "a") as file:
            file.write(json.dumps(cleared) + "\n")
        await wait_for(pilot, lambda: len(banner.alerts) == 5, 5, "dense_0's alert cleared")
        assert "dense_0" not in [a["layer"] for a in banner.alerts]


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
async def test_every_screen_and_panel_draws_without_colour(tmp_path, monkeypatch, size):
    monkeypatch.setenv("NO_COLOR", "1")  # Textual's colour filter then reads every style
    app = make_app(two_conv(), runs_root=None)
    async with app.run_test(size=size) as pilot:
        await take_steps(pilot, 3)
        app.train_screen.redraw(force=True)
        for key in ["tab"] * len(PANELS) + ["c", "s", "b", "question_mark", "escape", "t"]:
            await pilot.press(key)
            await pilot.pause()
        await wait_for(
            pilot, lambda: app.race is not None and app.race.progress().state == "finished", 60
        )
        app.tick()
        await pilot.pause()
        assert app.is_running and app.no_color
