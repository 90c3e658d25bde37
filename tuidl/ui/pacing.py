"""When the app redraws its panels: paced by what the UI thread costs (no Textual).

The panels are redrawn once a second, or less often while the UI thread uses more than
UI_BUDGET of a core: a frame that repaints them costs it 20-45 ms at 160x48 (Textual's
compositor, mostly), time a trainer thread sharing the GIL (compare) loses, and a trainer
process too where it has no core of its own (benchmarks/bench_app.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

TICK_SECONDS = 0.25  # the status line: each repaint costs ~1.5 ms of UI thread at 160x48
FORWARD_SECONDS = 1.0
FORWARD_MAX_SECONDS = 3.0
UI_BUDGET = 0.04  # share of a core; measured: 6% at 1 s (160x48, spiral-mlp), 4% at ~2 s


class PanelPacer:
    """Says on each tick whether the panels are due (see the module).

    Args:
        cpu: the UI thread's CPU seconds (tests pass their own).
    """

    def __init__(self, cpu: Callable[[], float] = time.thread_time) -> None:
        self.cpu = cpu
        self.every = FORWARD_SECONDS
        self._last = -math.inf
        self._mark: tuple[float, float] | None = None  # (now, UI CPU) at the last redraw

    def due(self, now: float, busy: bool) -> bool:
        """True when the panels should be redrawn now (never while a key is handled)."""
        if busy or now - self._last < self.every - TICK_SECONDS / 2:  # timers run late
            return False
        self._last = now
        self.pace(now)
        return True

    def pace(self, now: float) -> None:
        """Slow down (x1.25, to FORWARD_MAX_SECONDS) when the UI thread used more than
        UI_BUDGET of a core since the last redraw; speed up again below 3/4 of it."""
        cpu = self.cpu()
        if self._mark is not None:
            share = (cpu - self._mark[1]) / max(now - self._mark[0], 1e-3)
            if share > UI_BUDGET:
                self.every = min(FORWARD_MAX_SECONDS, self.every * 1.25)
            elif share < 0.75 * UI_BUDGET:
                self.every = max(FORWARD_SECONDS, self.every / 1.25)
        self._mark = (now, cpu)
