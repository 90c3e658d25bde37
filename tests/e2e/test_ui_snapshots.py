"""Snapshot tests of the main screens at 80x24, 120x36, 160x48 and 200x60
(pytest-textual-snapshot).

Every frame is deterministic: training (in a child process, as users get it) starts paused and
takes a fixed number of single steps (`Step()`) from the experiment's fixed seed, and the frame
is taken once the probe after the last step has reached the screen, so the run is idle then;
the app's clock is fixed, so rates read 0 and ETA `--` (nothing runs), whatever the machine's
speed. `--snapshot-update` rewrites the SVGs in `snapshots/`; look at them before committing.
"""

from __future__ import annotations

import json
from functools import partial

import pytest
from uitools import raced, take_steps, tiny, wait_for

from tuidl.presets import preset
from tuidl.runs import RunWriter
from tuidl.trainer import Trainer
from tuidl.ui.app import make_app

SIZES = [(80, 24), (120, 36), (160, 48), (200, 60)]
SIZE_IDS = [f"{w}x{h}" for w, h in SIZES]
WIDE = list(zip(SIZES[1:], [()] * 3, strict=True))  # wide enough for every panel: no keys


def fixed_clock() -> float:
    return 0.0


@pytest.fixture(autouse=True)
def _colour_env(monkeypatch):
    """The app drops colour when NO_COLOR is set (read when it is created)."""
    monkeypatch.delenv("NO_COLOR", raising=False)


def stepped(steps: int, keys: tuple[str, ...] = ()):
    """Before the frame: wait for the paused run, take `steps` single steps, draw
    everything they produced, then press `keys`."""

    async def run_before(pilot) -> None:
        app = pilot.app
        await take_steps(pilot, steps)  # every record up to the probe after the last step is in
        app.train_screen.redraw(force=True)
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_build_screen(snap_compare, size):
    app = make_app("spiral-mlp", runs_root=None, start_screen="build", clock=fixed_clock)

    async def loaded(pilot) -> None:
        await wait_for(pilot, lambda: app.build_screen.analysis.ok, what="spiral loaded")

    assert snap_compare(app, terminal_size=size, run_before=loaded)


@pytest.mark.parametrize(
    ("size", "keys"), [((80, 24), ("tab",) * 4), *WIDE], ids=["80x24-boundary", *SIZE_IDS[1:]]
)
def test_train_spiral_decision_boundary(snap_compare, size, keys):
    app = make_app("spiral-mlp", runs_root=None, clock=fixed_clock)
    assert snap_compare(app, terminal_size=size, run_before=stepped(30, keys))


@pytest.mark.parametrize(
    ("size", "keys"),
    [((80, 24), ("tab",) * 4), ((80, 24), ("tab",) * 5), *WIDE],
    ids=["80x24-filters", "80x24-samples", *SIZE_IDS[1:]],
)
def test_train_digits_cnn_filters_and_samples(snap_compare, size, keys):
    app = make_app("digits-cnn", runs_root=None, clock=fixed_clock)
    steps = 45  # one epoch of 1438 images at batch 32: the confusion matrix is filled in
    assert snap_compare(app, terminal_size=size, run_before=stepped(steps, keys))


@pytest.mark.parametrize(
    ("size", "keys"),
    [((80, 24), ("d",)), ((160, 48), ("d", "right_square_bracket"))],
    ids=["80x24-activations", "160x48-gradients"],
)
def test_train_spiral_histograms(snap_compare, size, keys):
    app = make_app("spiral-mlp", runs_root=None, clock=fixed_clock)
    steps = 75  # five epochs of 15 steps: the strips have a column each for epochs 0 to 5
    assert snap_compare(app, terminal_size=size, run_before=stepped(steps, keys))


@pytest.mark.parametrize(
    ("size", "keys"),
    [((80, 24), ("tab",) * 5 + ("w",)), ((160, 48), ("w",))],
    ids=["80x24", "160x48"],
)
def test_train_digits_cnn_mistakes(snap_compare, size, keys):
    app = make_app("digits-cnn", runs_root=None, clock=fixed_clock)
    assert snap_compare(app, terminal_size=size, run_before=stepped(45, keys))


@pytest.mark.parametrize(
    ("size", "keys"), [((80, 24), ("tab",) * 4), ((160, 48), ())], ids=["80x24", "160x48"]
)
def test_train_space_warp_pulls_the_classes_apart(snap_compare, size, keys):
    app = make_app("space-warp", runs_root=None, clock=fixed_clock)
    assert snap_compare(app, terminal_size=size, run_before=stepped(300, keys))


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_train_deep_sigmoid_vanishing_gradients(snap_compare, size):
    app = make_app("deep-sigmoid", runs_root=None, clock=fixed_clock)
    steps = 40  # its first layers' alerts (vanishing) are raised by step 33
    assert snap_compare(app, terminal_size=size, run_before=stepped(steps))


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_compare_three_optimizers(snap_compare, size):
    app = make_app(tiny(epochs=2), runs_root=None, start_screen="compare", clock=fixed_clock)

    assert snap_compare(app, terminal_size=size, run_before=raced)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_compare_surface_paths(snap_compare, size):
    app = make_app(
        preset("surface-bowl"), runs_root=None, start_screen="compare", clock=fixed_clock
    )

    assert snap_compare(app, terminal_size=size, run_before=partial(raced, grads=False))


@pytest.mark.parametrize("size", [(120, 36)], ids=["120x36"])
def test_compare_seeds_as_bands(snap_compare, size):
    app = make_app(tiny(epochs=2), runs_root=None, start_screen="compare", clock=fixed_clock)

    assert snap_compare(
        app, terminal_size=size, run_before=partial(raced, text="sgd,adam --seeds 3")
    )


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_help_screen(snap_compare, size):
    app = make_app("spiral-mlp", runs_root=None, clock=fixed_clock)
    assert snap_compare(app, terminal_size=size, run_before=stepped(0, ("question_mark",)))


def epochs_shown(screen, source: str) -> int:
    """Epoch records of `source` that reached the screen."""
    run = screen.runs.get(source)
    return 0 if run is None or "train_loss" not in run.epochs else run.epochs["train_loss"].count


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_view_of_a_finished_run(snap_compare, size, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    writer = RunWriter(run_dir)
    Trainer(tiny(epochs=3), callbacks=[writer]).fit()
    writer.close()
    metrics = run_dir / "metrics.jsonl"  # training times vary: a fixed 1 ms a step instead
    lines = [json.loads(line) for line in metrics.read_text().splitlines()]
    metrics.write_text("".join(json.dumps(r | {"time": r["step"] / 1000}) + "\n" for r in lines))
    app = make_app(view_dirs=[run_dir], clock=fixed_clock)

    async def followed(pilot) -> None:
        screen = app.train_screen
        await wait_for(pilot, lambda: epochs_shown(screen, "run") == 3, what="the 3 epochs")
        screen.redraw(force=True)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=followed)
