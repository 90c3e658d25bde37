"""Pilot tests of the build screen as a form for a whole experiment: keys stay where they are
typed, every setting reaches the saved TOML, problems show under their field until fixed.

Each test sees the draft only as the app does: the screen's widgets, its draft document, the
files it saves (read back with `Experiment.load`) and the run it starts (in a child process).
"""

from __future__ import annotations

from textual.widgets import DataTable, Input, Select
from uitools import shown_step, tiny, two_conv, wait_for

from tuidl.experiment import Experiment
from tuidl.ui.app import make_app
from tuidl.ui.screens.build import COLUMNS, LayerForm, PathForm

SIZE = (80, 24)
THROTTLE = 0.003
CHILD_READY = 30  # seconds for the child process to start and build its run


def toasted(app, text: str) -> bool:
    return any(text in notification.message for notification in app._notifications)


async def loaded(pilot):
    """The build screen, once the draft's data is loaded."""
    build = pilot.app.build_screen
    await wait_for(pilot, lambda: not build.loading, what="the dataset")
    return build


async def type_into(pilot, selector: str, text: str) -> None:
    """Focus a field of the build screen (as a click would), empty it and type `text`."""
    pilot.app.screen.query_one(selector, Input).focus()
    await pilot.pause()
    await pilot.press("home", "ctrl+k", *text)
    await pilot.pause()


def problem(build, setting: str) -> str:
    """The problem line under a setting ('' when hidden)."""
    line = build.query_one(f"#{setting}-problem")
    return str(line.render()) if line.display else ""


async def save_as(pilot, name: str) -> None:
    """ctrl+s, then the file name typed over the one offered, then enter. A name in the
    working folder: each key of a long path costs Pilot a screen update."""
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PathForm), what="the save form")
    await pilot.press("home", "ctrl+k", *name, "enter")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, PathForm), what="saved")


async def test_t_after_saving_from_a_field_trains(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app(tiny(), runs_root=tmp_path / "runs", throttle=THROTTLE, start_screen="build")
    async with app.run_test(size=SIZE) as pilot:
        build = await loaded(pilot)
        await type_into(pilot, "#lr", "0.002")
        await save_as(pilot, "lr.toml")
        await pilot.press("t")
        await wait_for(pilot, lambda: app.screen is app.train_screen, what="the train screen")
        assert build.query_one("#lr", Input).value == "0.002"  # the t did not go in
        assert Experiment.load(tmp_path / "lr.toml").optimizer["lr"] == 0.002
        assert app.experiment.optimizer["lr"] == 0.002
        await wait_for(pilot, lambda: shown_step(app) > 0, CHILD_READY, "training")


async def test_escape_leaves_a_field_and_typing_never_edits_the_layers(tmp_path):
    app = make_app(tiny(), runs_root=None, start_screen="build")
    async with app.run_test(size=SIZE) as pilot:
        build = await loaded(pilot)
        layers = build.query_one("#layers", DataTable)
        before = [dict(spec) for spec in build.layer_specs]
        await type_into(pilot, "#name", "adieKJtp")  # each letter a key of the screen
        await pilot.press("shift+up", "shift+down")
        assert build.query_one("#name", Input).value == "adieKJtp"
        assert build.layer_specs == before and app.screen is build
        await pilot.press("escape")
        assert app.focused is layers
        await pilot.press("d")  # the keys are the screen's again
        assert len(build.layer_specs) == len(before) - 1
        build.query_one("#loss", Select).focus()
        await pilot.press("escape")
        assert app.focused is layers
        await type_into(pilot, "#seed", "3")
        await pilot.press("enter")  # a valid value: enter is done with the field too
        assert app.focused is layers
        assert (build.document["name"], build.document["seed"]) == ("adieKJtp", 3)


async def test_every_setting_reaches_the_saved_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = ["x1,x2,label"] + [f"{k % 7 / 7:.3f},{k % 5 / 5:.3f},{k % 2}" for k in range(40)]
    (tmp_path / "points.csv").write_text("\n".join(rows) + "\n")
    app = make_app(tiny(), runs_root=None, start_screen="build")
    async with app.run_test(size=SIZE) as pilot:
        build = await loaded(pilot)
        await type_into(pilot, "#name", "points-mlp")
        await type_into(pilot, "#seed", "7")
        build.query_one("#dataset", Select).value = "csv"
        await pilot.pause()
        assert "needs a path" in problem(build, "dataset")
        await type_into(pilot, "#data-path", "points.csv")
        await type_into(pilot, "#data-keys", "label_column=label task=classification")
        build.query_one("#normalize", Select).value = "minmax"
        await type_into(pilot, "#val_split", "0.25")
        await type_into(pilot, "#init", "xavier")
        build.query_one("#optimizer", Select).value = "momentum"
        await type_into(pilot, "#lr", "0.05")
        await type_into(pilot, "#opt-keys", "momentum=0.8, clip_norm=2")
        await type_into(pilot, "#schedule", "step step_size=2 gamma=0.5")
        await type_into(pilot, "#epochs", "3")
        await type_into(pilot, "#batch_size", "8")
        await type_into(pilot, "#log_every", "2")
        build.query_one("#shuffle", Select).value = False
        build.query_one("#early_stopping", Select).value = True
        await pilot.pause()
        await type_into(pilot, "#patience", "5")
        await type_into(pilot, "#min_delta", "0.01")
        build.query_one("#restore_best", Select).value = False
        build.query_one("#monitor", Select).value = "val_acc"
        await pilot.press("escape")
        await wait_for(pilot, lambda: build.analysis.ok, what="the CSV loaded")
        assert build.settings.problems == {}
        assert build.analysis.input_shape == (2,)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PathForm), what="the save form")
        assert app.screen.query_one("#path", Input).value == "points-mlp.toml"
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / "points-mlp.toml").exists(), what="saved")
    saved = Experiment.load(tmp_path / "points-mlp.toml")
    assert (saved.name, saved.seed) == ("points-mlp", 7)
    assert saved.data == {
        "name": "csv:points.csv",
        "label_column": "label",
        "task": "classification",
        "normalize": "minmax",
        "val_split": 0.25,
    }
    assert saved.model["init"] == "xavier"
    assert saved.optimizer == {
        "name": "momentum",
        "lr": 0.05,
        "momentum": 0.8,
        "clip_norm": 2,
        "schedule": {"type": "step", "step_size": 2, "gamma": 0.5},
    }
    assert saved.train == {
        "epochs": 3,
        "batch_size": 8,
        "log_every": 2,
        "shuffle": False,
        "early_stopping": {
            "patience": 5,
            "min_delta": 0.01,
            "restore_best": False,
            "monitor": "val_acc",
        },
    }


async def test_a_problem_shows_under_its_field_until_fixed(tmp_path):
    app = make_app(tiny(), runs_root=tmp_path, throttle=THROTTLE, start_screen="build")
    async with app.run_test(size=SIZE) as pilot:
        build = await loaded(pilot)
        before = app.session
        await type_into(pilot, "#lr", "0.002t")
        assert "lr must be a number > 0, got '0.002t'" in problem(build, "lr")
        assert "lr must be a number" in str(build.query_one("#build-summary").render())
        await pilot.press("enter")  # a value with a problem: enter stays in the field
        assert app.focused is build.query_one("#lr")
        await pilot.press("escape", "t")
        await wait_for(pilot, lambda: toasted(app, "cannot train yet"), what="t refused")
        assert app.screen is build and app.session is before
        await type_into(pilot, "#lr", "0.002")
        assert problem(build, "lr") == "" and build.settings.problems == {}
        assert "ready: t trains it" in str(build.query_one("#build-summary").render())
        await type_into(pilot, "#schedule", "step")
        assert "missing key 'step_size'" in problem(build, "schedule")
        await pilot.press(*" step_size=2")
        assert problem(build, "schedule") == ""
        assert build.document["optimizer"]["schedule"] == {"type": "step", "step_size": 2}


async def test_a_layer_form_problem_goes_when_the_layer_is_valid(tmp_path):
    app = make_app(tiny(), runs_root=None, start_screen="build")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("a", *"dense", "enter")
        form = app.screen
        assert isinstance(form, LayerForm)
        assert "missing key 'units'" in str(form.query_one("#form-problem").render())
        await pilot.press("tab", "4")
        assert str(form.query_one("#form-problem").render()) == ""
        assert app.screen is form  # fixed, not yet accepted


async def test_the_add_prompt_takes_a_type_and_its_keys_on_one_line(tmp_path):
    app = make_app(two_conv(), runs_root=None, start_screen="build")
    async with app.run_test(size=SIZE) as pilot:
        build = await loaded(pilot)
        await pilot.press("a", *"conv2d filters=6 kernel=3", "enter")  # after layer 0
        await wait_for(pilot, lambda: app.screen is build, what="the form closed")
        assert build.layer_specs[1] == {"type": "conv2d", "filters": 6, "kernel": 3}
        assert build.analysis.rows[1].output_shape == (6, 6, 6)
        # a key the type does not take stays in the form with the problem named
        await pilot.press("a", *"dense units=4 size=2", "enter")
        assert isinstance(app.screen, LayerForm)
        assert "size" in str(app.screen.query_one("#form-problem").render())
        assert app.screen.query_one("#field-units", Input).value == "4"  # moved to its field
        await pilot.press("home", "ctrl+k", *"dense", "enter")
        await wait_for(pilot, lambda: app.screen is build, what="the form closed")
        assert build.layer_specs[2] == {"type": "dense", "units": 4}


async def test_an_empty_model_keeps_its_columns(tmp_path):
    app = make_app(tiny(), runs_root=None, start_screen="build")
    async with app.run_test(size=SIZE) as pilot:
        build = await loaded(pilot)
        table = build.query_one("#layers", DataTable)
        # a layer whose shape does not fit: its row's long message widens the output column
        await pilot.press("i", *"maxpool2d size=2", "enter")
        await wait_for(pilot, lambda: build.analysis.problem_row == 0, what="the shape problem")
        await pilot.press(*["d"] * 6)
        assert build.layer_specs == []
        assert [column.label.plain for column in table.columns.values()] == list(COLUMNS)
        assert table.max_scroll_x == 0  # every column in sight, params too
        assert table.row_count == 1 and table.get_row_at(0)[1].plain == "a adds a layer"
        await pilot.press("enter")  # on the hint row: the add form
        assert isinstance(app.screen, LayerForm)


async def test_a_loaded_file_keeps_its_comments_when_saved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "mine.toml"
    source.write_text(
        "# my spirals, by hand\n"
        'name = "mine"\n'
        "[data]\n"
        'name = "spiral"  # the classic\n'
        "n = 200\n"
        "[model]\n"
        'loss = "softmax_cross_entropy"\n'
        "layers = [\n"
        '  { type = "dense", units = 8 },  # small on purpose\n'
        '  { type = "tanh" },\n'
        '  { type = "dense", units = 2 },\n'
        "]\n"
        "[optimizer]\n"
        'name = "adam"\n'
        "lr = 0.01  # try 0.1 too\n"
        "[train]\n"
        "epochs = 2\n"
    )
    app = make_app(str(source), runs_root=None, start_screen="build")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await type_into(pilot, "#lr", "0.02")
        await type_into(pilot, "#epochs", "4")
        await pilot.press("escape")
        await save_as(pilot, "saved.toml")
    text = (tmp_path / "saved.toml").read_text()
    for comment in ("# my spirals, by hand", "# the classic", "# small on purpose"):
        assert comment in text
    assert "lr = 0.02  # try 0.1 too" in text
    saved = Experiment.load(tmp_path / "saved.toml")
    assert (saved.optimizer["lr"], saved.train["epochs"], saved.name) == (0.02, 4, "mine")


async def test_init_takes_a_scale_as_text_and_keeps_a_table(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "table.toml"
    tiny().with_overrides(['model.init={ name = "uniform", limit = 0.1 }']).save(source)
    app = make_app(str(source), runs_root=None, start_screen="build")
    async with app.run_test(size=SIZE) as pilot:
        build = await loaded(pilot)
        field = build.query_one("#init", Input)
        assert field.value == '{name = "uniform", limit = 0.1}'
        await save_as(pilot, "same.toml")  # shown, not touched: still a table
        await type_into(pilot, "#init", "gaussian:abc")
        assert "init 'gaussian:abc' needs a positive number after ':'" in problem(build, "init")
        await pilot.press("enter")  # a value with a problem: enter stays in the field
        assert app.focused is field
        await pilot.press("backspace", "backspace", "backspace", *"0.5")
        assert problem(build, "init") == "" and build.document["model"]["init"] == "gaussian:0.5"
        await type_into(pilot, "#init", "ortho")
        await pilot.press("right")  # takes the suggested name
        assert field.value == "orthogonal"
        await type_into(pilot, "#init", "uniform:0.2")
        await pilot.press("escape")
        await save_as(pilot, "scaled.toml")
    assert Experiment.load(tmp_path / "same.toml").model["init"] == {
        "name": "uniform",
        "limit": 0.1,
    }
    assert 'init = "uniform:0.2"' in (tmp_path / "scaled.toml").read_text()
