"""What the status line says, from a session's progress and the records seen (no Textual).

`StatusReport` keeps the little history a status line needs: recent step counts for the
samples/s rate and ETA, when the learning rate last changed, the latest pretraining record of
each run, each followed run's latest line, and where the current run writes.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from ..render.charts import short
from ..session.messages import Progress
from ..warmup import compiling_text
from .widgets.statusline import Status

RATE_WINDOW = 2.0  # seconds of history for samples/s
# A new learning rate is marked in the status line this long. Not a toast: mounting one and
# removing it re-lays out the whole screen (measured 40-60 ms of UI thread at 160x48), which
# held up the keys pressed meanwhile: + and - reached 150-310 ms at worst, 'a' 170 ms.
LR_MARK_SECONDS = 2.0
ENDED = ("finished", "early_stopped", "diverged", "interrupted", "died")


class StatusReport:
    """The status line's inputs besides the progress (see the module)."""

    def __init__(self) -> None:
        self.run_dir: str | None = None  # where the app's own run writes
        self.seed: int | None = None  # and the seed it started from
        self.pretrain: dict[str, dict[str, Any]] = {}  # the latest pretrain record of each run
        self.last: dict[str, dict[str, Any]] = {}  # each run's latest step or epoch line
        self.lr_marked_until = -math.inf
        self._rates: deque[tuple[float, int]] = deque()

    def restart(self) -> None:
        """A new run: its rate starts afresh."""
        self._rates.clear()

    def mark_lr(self, now: float) -> None:
        self.lr_marked_until = now + LR_MARK_SECONDS

    def training(self, progress: Progress, now: float, loss: float | None) -> Status:
        """The app's own run: state, epoch, rate and ETA, lr, smoothed `loss`."""
        done, running = progress.done, progress.state == "running"
        self._rates.append((now, done))
        while len(self._rates) > 2 and now - self._rates[0][0] > RATE_WINDOW:
            self._rates.popleft()
        t0, s0 = self._rates[0]
        steps_per_s = (done - s0) / (now - t0) if now > t0 and done >= s0 else 0.0
        if done < s0:
            self._rates.clear()
        eta = (progress.total - done) / steps_per_s if steps_per_s > 0 else math.nan
        if progress.state in ENDED:  # the run's mean rate, not a meaningless 0
            seconds = progress.elapsed
            steps_per_s = progress.step / seconds if seconds > 0 else 0.0
        elif not running:  # paused or stepping: no rate to speak of
            steps_per_s = math.nan
        parts = [f"→ {self.run_dir}"] if self.run_dir else []
        if self.seed is not None:
            parts.append(f"seed {self.seed}")
        where = " · ".join(parts)
        return Status(
            state=progress.state,
            epoch=progress.epoch,
            epochs=progress.epochs,
            step=progress.step,
            samples_per_s=steps_per_s * progress.batch_size,
            eta_s=eta if running else math.nan,  # one NaN: no false change
            lr=progress.lr,
            lr_marked=now < self.lr_marked_until,
            loss=loss,
            stage=(compiling_text(*progress.compiling) if progress.compiling else "")
            or pretraining_text(progress.pretraining, self.pretrain.get("train")),
            note=progress.message or where,
        )

    def following(self, progress: Progress, loss: float | None) -> Status:
        """`tuidl view`: the runs' state, the first run's latest step or epoch (`loss`: its
        smoothed loss) and mean rate, each run's status, the damaged lines skipped."""
        last = next(iter(self.last.values()), {})
        pretrain = next(iter(self.pretrain.values()), None) if not last else None
        stage = None
        if pretrain is not None:
            stage = (pretrain["layer"], str(pretrain["epoch"]), pretrain["epochs"])
        seconds, step = last.get("time", 0.0), int(last.get("step", 0))
        rate = step * progress.batch_size / seconds if seconds > 0 else 0.0
        runs = progress.runs
        note = ", ".join(f"{label} {status}" for label, status in runs.items())
        if len(runs) == 1:
            note = next(iter(runs))
        if progress.skipped:
            note += f" · {progress.skipped} damaged lines skipped"
        return Status(
            state=progress.state,
            epoch=float(last.get("epoch", 0.0)),
            step=step,
            samples_per_s=rate,
            lr=last.get("lr"),
            loss=loss,
            stage=pretraining_text(stage, pretrain),
            note=note,
        )


def pretraining_text(stage: tuple[str, str, int] | None, record: dict[str, Any] | None) -> str:
    """`pretraining rbm_0 epoch 1.40/5 · recon 0.041` while rbm layers pretrain: `stage` is
    (layer, epoch text, its epochs) (`Progress.pretraining`), None once they are done;
    the error comes from `record`, the latest `pretrain` record, if it is that layer's."""
    if stage is None:
        return ""
    name, epoch, epochs = stage
    recon = ""
    if record is not None and record["layer"] == name:
        recon = f" · recon {short(record['recon_error'])}"
    return f"pretraining {name} epoch {epoch}/{epochs}{recon}"
