"""Every preset carries a lesson card: what it shows and what to watch."""

from __future__ import annotations

import pytest

from tuidl.presets import CARDS, PRESETS, preset


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_has_a_lesson_card(name):
    about, tables = PRESETS[name]
    lesson = preset(name).lesson
    assert lesson and lesson != about  # more than the one line `tuidl presets` prints
    assert lesson == (tables.get("lesson") or CARDS[name])


def test_cards_name_only_presets():
    assert set(CARDS) <= set(PRESETS)
