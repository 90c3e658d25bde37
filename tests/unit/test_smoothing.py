"""The smoothed training loss shared by the app's curves and `tuidl compare`."""

from __future__ import annotations

import math

import pytest

from tuidl.smoothing import SMOOTHING, smooth


def test_starts_at_the_first_loss_and_weights_each_new_batch():
    assert smooth([]) == []
    first, second = smooth([2.0, 1.0])
    assert first == 2.0
    assert second == pytest.approx(2.0 + SMOOTHING * (1.0 - 2.0))


def test_extending_a_curve_equals_smoothing_it_whole():
    losses = [1.0, 0.5, 0.8, 0.2, 0.3]
    head = smooth(losses[:2])
    assert head + smooth(losses[2:], head[-1]) == pytest.approx(smooth(losses))


def test_restarts_after_a_non_finite_average():
    assert smooth([math.nan, 1.0])[1] == 1.0
