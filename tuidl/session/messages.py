"""The commands a view sends to a session and the records it drains from it, defined once.

Plain dataclasses of numbers, strings and arrays: they cross the child-process boundary as
they are (pickled by `multiprocessing.connection`), so the thread, the child process, the
compare race and the run follower all hand the app the same types. A record's `source` names
the run it belongs to: "train" for the app's own run, a variant's label in a race, the folder
name of a followed run directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# ---- commands: what a view asks of a session (applied between two training steps) ----


@dataclass(frozen=True)
class Command:
    """Base of every command."""


@dataclass(frozen=True)
class Pause(Command):
    """Stop after the current step; the clock of `elapsed` stops too."""


@dataclass(frozen=True)
class Resume(Command):
    """Train continuously."""


@dataclass(frozen=True)
class Step(Command):
    """Train exactly one more step, then stay paused."""


@dataclass(frozen=True)
class ScaleLr(Command):
    """Multiply the learning rate by `factor` (2.0 doubles it)."""

    factor: float


@dataclass(frozen=True)
class Reinit(Command):
    """Fresh weights from the seed, a new run directory; the current learning rate is kept."""


@dataclass(frozen=True)
class Save(Command):
    """Save a checkpoint to `path` (default: the run directory's checkpoint.npz)."""

    path: str | None = None


@dataclass(frozen=True)
class ShowView(Command):
    """Show other filters (`conv` steps), probe input (`input` steps), hidden layer of the
    space panel (`layer` steps) or pair of its units (`units` steps), or misclassified
    example (`wrong` steps)."""

    conv: int = 0
    input: int = 0
    layer: int = 0
    units: int = 0
    wrong: int = 0


# ---- records: what happened, in order, per run ----


@dataclass(frozen=True)
class Record:
    """Base of every record; `source` names the run."""

    source: str


@dataclass(frozen=True)
class RunStarted(Record):
    """A run (re)started: its curves start afresh; `layers` name the gradient rows (none:
    the first step's gradient norms name them)."""

    run_dir: str | None = None
    layers: list[str] = field(default_factory=list)
    steps_per_epoch: int = 0
    epochs: int = 0
    batch_size: int = 0
    lr: float | None = None
    seed: int | None = None


@dataclass(frozen=True)
class StepLogged(Record):
    """A logged step: `data` is its `metrics.jsonl` line (loss, lr, grad_norm, ...)."""

    data: dict[str, Any]


@dataclass(frozen=True)
class EpochEnded(Record):
    """An epoch ended: `data` is its `metrics.jsonl` line (losses, accuracies, act, ...)."""

    data: dict[str, Any]


@dataclass(frozen=True)
class AlertRaised(Record):
    """An alert started, or ended (`cleared`): `data` is its `metrics.jsonl` line (alert,
    layer, value, threshold, message, ...)."""

    data: dict[str, Any]


@dataclass(frozen=True)
class PretrainEpochEnded(Record):
    """An rbm layer finished a pretraining epoch: `data` has layer, epoch, recon_error."""

    data: dict[str, Any]


@dataclass(frozen=True)
class LrChanged(Record):
    """The learning rate was changed by a command."""

    lr: float


@dataclass(frozen=True)
class Saved(Record):
    """A checkpoint was saved at `path` on request."""

    path: str


@dataclass(frozen=True)
class RunEnded(Record):
    """The run ended. `status`: finished, early_stopped, diverged or interrupted; a diverged
    run's `message` says at which step and what to try."""

    status: str
    step: int
    message: str = ""


@dataclass(frozen=True)
class Failed(Record):
    """The session could not go on (bad data, a crashed child): one line saying why."""

    message: str


@dataclass(frozen=True)
class Boundary:
    """Class and confidence per pixel of a (GRID, GRID) grid over the 2-D input plane."""

    cls: np.ndarray
    conf: np.ndarray
    extent: tuple[float, float, float, float]  # x0, x1, y0, y1
    points: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class Space:
    """The input plane as hidden layer `name` (the `index`-th of `count`, `width` units) maps
    it, projected on its units `units`: the plane's grid lines (`lines`, (L, M, 2): L lines
    of M points) and the data `points` with their `labels`, all mapped."""

    name: str
    index: int
    count: int
    width: int
    units: tuple[int, int]
    lines: np.ndarray
    points: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class Misclassified:
    """Validation example `index` of `total` the model gets wrong (at the latest epoch's
    end): its `image`, `true` class, and its `top` classes with their probabilities."""

    image: np.ndarray
    true: int
    top: list[tuple[int, float]]
    index: int
    total: int


@dataclass(frozen=True)
class Filters:
    """The weights `W (F, C, KH, KW)` of conv layer `name`, the `index`-th of `count`; for a
    dense or rbm layer that sees the image itself, one picture per unit (its weights in the
    image's shape: `W (units, C, H, W)`, `per_unit`)."""

    name: str
    W: np.ndarray
    index: int
    count: int
    per_unit: bool = False


@dataclass(frozen=True)
class FeatureMaps:
    """What that conv layer makes of probe input number `input` (`image`, its `label`)."""

    maps: np.ndarray
    input: int
    image: np.ndarray
    label: int | None


@dataclass(frozen=True)
class Samples:
    """Probe images `x` with true labels `y` and the model's predictions `pred`."""

    x: np.ndarray
    y: np.ndarray
    pred: np.ndarray


@dataclass(frozen=True)
class ProbeTaken(Record):
    """What the image panels show, copied from the model after step `step`."""

    step: int
    boundary: Boundary | None = None
    filters: Filters | None = None
    feature_maps: FeatureMaps | None = None
    samples: Samples | None = None
    space: Space | None = None
    wrong: Misclassified | None = None


@dataclass(frozen=True)
class ConfusionMeasured(Record):
    """Predicted vs true class counts on the validation set at an epoch's end."""

    matrix: np.ndarray


@dataclass(frozen=True)
class Progress:
    """Where a session stands, for the status line (a latest value, not a record).

    `state`: starting, paused, running, stepping, a run's end status, or following.
    `running` is the view's last word (Pause/Resume) until the session has applied it;
    `pending` is true while commands wait to be applied. `runs` holds each race run's state.
    A session whose child process died says `died` (`message` says how).
    """

    state: str
    running: bool = False
    pending: bool = False
    epoch: float = 0.0
    epochs: int = 0
    step: int = 0
    done: int = 0  # steps done, pretraining updates included
    total: int = 0
    lr: float | None = None
    batch_size: int = 0
    pretraining: tuple[str, str, int] | None = None  # (layer, epoch text, its epochs)
    compiling: tuple[int, int] | None = None  # (passes done, in all) while kernels compile
    elapsed: float = 0.0  # seconds trained, pauses left out
    message: str = ""
    runs: dict[str, str] = field(default_factory=dict)
    skipped: int = 0  # damaged lines of followed runs, not shown
