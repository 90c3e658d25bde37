"""The smoothed training loss: one definition for the app's curves and `tuidl compare`'s table,
so a number in the table can be read off the curve."""

from __future__ import annotations

import math
from collections.abc import Iterable

SMOOTHING = 0.1  # weight of the newest batch in the smoothed training loss


def smooth(losses: Iterable[float], previous: float = math.nan) -> list[float]:
    """Exponential moving average of `losses`, each batch weighted `SMOOTHING`.

    Args:
        losses: per-batch training losses, in step order.
        previous: the average before the first of them (a curve being extended); NaN starts
            afresh at the first loss, as does any non-finite average (a diverged stretch).

    Returns:
        The average after each loss, one per loss.
    """
    averages = []
    for loss in losses:
        if not math.isfinite(previous):
            previous = loss
        previous += SMOOTHING * (loss - previous)
        averages.append(previous)
    return averages
