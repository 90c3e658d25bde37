"""Helpers for the app's Pilot tests: tiny experiments, waiting for a condition, and what
the app's session says (`progress()`, the records that reached the train screen), the same
whether it trains in a child process (the default, what users get) or in a thread."""

from __future__ import annotations

from waiting import Deadline

from tuidl.experiment import Experiment
from tuidl.presets import preset
from tuidl.session.messages import Progress, Step

TINY = ["train.epochs=2", "data.n=200"]  # spiral, 5 steps per epoch at batch 32


def tiny(epochs: int = 2):
    """spiral-mlp cut down to a couple of seconds of training."""
    return preset("spiral-mlp").with_overrides([f"train.epochs={epochs}", "data.n=200"])


def two_conv():
    """digits with two conv layers (4 then 6 filters): 6 steps per epoch at batch 256."""
    document = preset("digits-cnn").to_dict()
    document["model"]["layers"] = [
        {"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"},
        {"type": "relu"},
        {"type": "conv2d", "filters": 6, "kernel": 3, "padding": "same"},
        {"type": "relu"},
        {"type": "maxpool2d", "size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 10},
    ]
    document["train"] = dict(document["train"], epochs=2, batch_size=256)
    return Experiment.from_dict(document)


def tiny_dbn():
    """digits-dbn cut down: rbm layers of 32 (3 pretraining epochs) and 16 units (2), then one
    training epoch; 6 steps per epoch at batch 256."""
    document = preset("digits-dbn").to_dict()
    document["model"]["layers"] = [
        {"type": "flatten"},
        {"type": "rbm", "units": 32, "pretrain_epochs": 3},
        {"type": "rbm", "units": 16, "pretrain_epochs": 2},
        {"type": "dense", "units": 10},
    ]
    document["train"] = dict(document["train"], epochs=1, batch_size=256)
    return Experiment.from_dict(document)


async def wait_for(pilot, condition, timeout: float = 10.0, what: str = "the condition") -> None:
    """Let the app run until `condition()` holds (fails the test after `timeout` seconds): the
    Pilot twin of `waiting.wait_until`, awaiting `pilot.pause` between checks."""
    deadline = Deadline(timeout, what)
    while not condition():
        deadline.check()
        await pilot.pause(0.05)


def progress(app) -> Progress | None:
    """Where the train screen's session stands (None before its run is ready)."""
    return app.session.progress() if app.session is not None else None


def shown_step(app) -> int:
    """The step the session reports (-1 before its run is ready: built, kernels compiled)."""
    current = progress(app)
    return current.step if current is not None and current.state != "compiling" else -1


def run_state(app) -> str | None:
    """The session's state once it has applied every command sent (None until then)."""
    current = progress(app)
    return current.state if current is not None and not current.pending else None


def status_text(app) -> str:
    """The train screen's status line as the next tick shows it (the session's progress moves
    on between ticks: its child process reports on its own clock)."""
    app.tick()
    return app.train_screen.query_one("#status").render().plain


def handed_over(app, step: int) -> bool:
    """Tick the app; True once the probe taken after `step` reached the train screen: every
    record of the steps up to it has, too (a run's records arrive in order)."""
    app.tick()
    probe = app.train_screen.latest_probe
    return probe is not None and probe.step == step


async def take_steps(pilot, steps: int, timeout: float = 30.0) -> None:
    """On a fresh run that opened paused: take `steps` single steps (`Step()`) and wait until
    every record up to the probe after the last one is on the train screen. The run is idle
    then (paused), so what the screen shows no longer changes."""
    app = pilot.app
    await wait_for(pilot, lambda: run_state(app) == "paused", timeout, "the paused run ready")
    assert shown_step(app) == 0, "take_steps wants a fresh run"
    for _ in range(steps):
        app.session.send(Step())
    await wait_for(pilot, lambda: handed_over(app, steps), timeout, f"{steps} steps on screen")
    assert run_state(app) == "paused"


async def wait_until_ended(pilot, status: str = "finished", timeout: float = 30.0) -> None:
    """Wait until the run ended with `status` and all its records reached the train screen
    (the probe a run takes as it ends comes after its last step and epoch records)."""
    app = pilot.app

    def ended() -> bool:
        current = progress(app)
        return current is not None and current.state == status and handed_over(app, current.step)

    await wait_for(pilot, ended, timeout, f"the run {status}")


async def raced(pilot, text: str | None = None, grads: bool = True) -> None:
    """On the compare screen: race `text` (else the race line offered) to the end, draw the
    table and curves, and show the gradient panel (unless not `grads`)."""
    app = pilot.app
    if text is not None:
        app.compare_screen.query_one("#race").value = text
    await pilot.press("s")
    await wait_for(pilot, lambda: app.race is not None)
    await wait_for(pilot, lambda: app.race.progress().state == "finished", what="race over")
    app.tick()
    app.compare_screen.redraw(0.0, app.race.progress(), force=True)
    if grads:
        await pilot.press("g")
    # the table sizes its columns to the new cells when idle: a frame taken before shows
    # them cut to the old widths (seen once in a snapshot under load)
    table = app.compare_screen.query_one("#compare-table")
    await wait_for(pilot, lambda: not table._require_update_dimensions, what="columns sized")
    await pilot.pause()
