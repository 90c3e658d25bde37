"""The lesson card: shown at start as `tuidl` starts the app, gone at the first key (which
still acts), back with L; it covers no panel's layout."""

from __future__ import annotations

import pytest
from realdata import needs_mnist
from uitools import run_state, shown_step, tiny, wait_for

from tuidl.lessons import LESSONS
from tuidl.presets import PRESETS, preset
from tuidl.ui.app import make_app
from tuidl.ui.widgets.lessoncard import LessonCard


def lesson_experiment():
    return tiny(epochs=50).with_overrides(['lesson="watch the boundary curl around the arms"'])


async def test_the_card_shows_at_start_and_the_first_key_acts_under_it(tmp_path):
    app = make_app(lesson_experiment(), runs_root=tmp_path, lesson_card=True, train_in="thread")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: run_state(app) == "paused", what="the paused run")
        (card,) = app.screen.query(LessonCard)
        text = str(card.render())
        assert "lesson: spiral-mlp" in text and "boundary curl" in text and "L shows" in text
        curve = app.screen.query_one("#loss-panel").region
        await pilot.press("space")
        assert not app.screen.query(LessonCard)
        await wait_for(pilot, lambda: shown_step(app) > 0, what="training")
        assert app.screen.query_one("#loss-panel").region == curve  # it took no room
        await pilot.press("L")
        assert app.screen.query(LessonCard)
        await pilot.press("L")
        assert not app.screen.query(LessonCard)


async def test_no_card_without_a_lesson_or_when_not_asked(tmp_path):
    bare = tiny().with_overrides(['lesson=""'])
    for experiment, asked in ((bare, True), (lesson_experiment(), False)):
        app = make_app(experiment, runs_root=tmp_path, lesson_card=asked, train_in="thread")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert not app.screen.query(LessonCard)
            await pilot.press("L")
            assert bool(app.screen.query(LessonCard)) == bool(experiment.lesson)


NEW_PRESETS = [*LESSONS, *(name for name in PRESETS if name.startswith("surface-"))]
MNIST = {name for name in NEW_PRESETS if preset(name).data["name"] == "mnist"}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=needs_mnist) if n in MNIST else n for n in NEW_PRESETS]
)
async def test_each_lesson_preset_opens_in_the_app_with_its_card_and_steps(tmp_path, name):
    app = make_app(name, runs_root=tmp_path, lesson_card=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: run_state(app) == "paused", 60, "the paused run")
        (card,) = app.screen.query(LessonCard)
        assert preset(name).lesson.split()[0] in str(card.render())
        await pilot.press("n")  # closes the card, takes one step
        await wait_for(pilot, lambda: shown_step(app) == 1, 60, "one step")
        assert not app.screen.query(LessonCard)
