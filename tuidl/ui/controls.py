"""What the train and compare screens' keys ask of the app's sessions (a part of `TuidlApp`).

No Textual here: `SessionControls` is mixed into the app, whose `session`, `report`,
`following`, `tick`, `notify` and `start_training` it uses.
"""

from __future__ import annotations

from pathlib import Path

from ..runs import CHECKPOINT
from ..session.base import Session
from ..session.messages import Command, Pause, Reinit, Resume

# no training process to take a command, and what the user can do about it
GONE = {
    "died": "; R resumes from its last checkpoint, r starts a fresh run",
    "failed": "; r tries again",
    "stopped": "",
}


class SessionControls:
    """Commands from keys to the sessions, and what to say when no process can take them."""

    def send(self, command: Command) -> None:
        """A key's command for the train screen's run; the status line shows its effect.
        With no training process to take it (died, failed, stopped), say why instead; `r`
        then starts a fresh run."""
        if self.session is None or self.following:
            self.notify("nothing is training here (tuidl view only watches)", severity="warning")
            return
        progress = self.session.progress()
        if progress is not None and progress.state in GONE:
            if isinstance(command, Reinit) and progress.state != "stopped":
                self.start_training(self.experiment)
            else:
                hint = GONE[progress.state]
                self.notify(f"{progress.message}{hint}", severity="warning", timeout=6)
            return
        self.session.send(command)
        self.tick()

    def toggle(self, session: Session | None) -> None:
        """Pause `session` if it trains, else resume it."""
        progress = session.progress() if session is not None else None
        if progress is not None and session is self.session:
            self.send(Pause() if progress.running else Resume())
        elif progress is not None:
            session.send(Pause() if progress.running else Resume())
            self.tick()

    def resume_run(self) -> None:
        """A run whose training process died goes on from its last checkpoint."""
        progress = self.session.progress() if self.session is not None else None
        run_dir = self.report.run_dir
        if self.following or progress is None or progress.state != "died":
            self.notify("R resumes a run whose training process died", severity="warning")
        elif run_dir is None or not (Path(run_dir) / CHECKPOINT).exists():
            self.notify(f"no checkpoint in {run_dir} yet: r starts a fresh run", severity="warning")
        else:
            self.start_training(self.experiment, resume=run_dir)
