"""The app on a sweep directory (a part of `TuidlApp`): the sweep screen first; a trial opened
from it is followed in the train view (`v` goes back to the sweep)."""

from __future__ import annotations

from pathlib import Path

from ..session.follow import FollowSession
from ..session.sweepwatch import SweepWatch
from .screens.sweep import SweepScreen
from .screens.train import TrainScreen


class SweepMode:
    """Uses the app's `sweep`, `session`, `view_dirs`, `train_screen` and `_retire`."""

    sweep: SweepWatch | None = None

    def open_sweep(self) -> None:
        self.install_screen(SweepScreen(self.sweep), "sweep")
        self.push_screen("sweep")

    def follow_trial(self, run_dir: Path) -> None:
        """Show trial `run_dir` in a fresh train view (from the sweep screen), following it
        while it is written."""
        self._retire(self.session)
        self.session = None
        self.uninstall_screen("train")
        self.train_screen = TrainScreen()
        self.install_screen(self.train_screen, "train")
        self.view_dirs = [run_dir]
        self.switch_screen("train")
        # the run's records go to the new screen once it is composed, not before
        self.call_after_refresh(self._follow, run_dir)

    def _follow(self, run_dir: Path) -> None:
        self.session = FollowSession([run_dir])
        self.session.start()

    def action_show_sweep(self) -> None:
        if self.sweep is not None and self.screen is not self.get_screen("sweep"):
            self.switch_screen("sweep")
