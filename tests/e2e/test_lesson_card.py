"""The lesson card: shown at start as `tuidl` starts the app, gone at the first key (which
still acts), back with L; it covers no panel's layout."""

from __future__ import annotations

from uitools import run_state, shown_step, tiny, wait_for

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
