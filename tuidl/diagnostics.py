"""What the trainer measures besides the loss: gradient norms, update ratios, activation health,
and the named alerts a run raises from them (`AlertTracker`).

The alerts and their criteria (medians over logged steps, so one noisy batch raises nothing):
- vanishing: over the last `WINDOW` logged steps, the median of a layer's gradient norm is
  under `VANISHING_RATIO` of the output layer's (the last parameterised layer) AND the median
  of its update ratio ‖Δw‖/‖w‖ is under `VANISHING_UPDATE`, a tenth of the ~1e-3 of a layer
  that learns at a healthy pace (Karpathy's rule of thumb). The gradient dies out on its way
  back to the input and the layer has stopped learning (Glorot & Bengio 2010; Nielsen, ch. 5).
  Both, because either alone misleads: the update ratio of every layer falls as a net
  converges (mnist-lenet's reaches 1.8e-4) or when the learning rate is small, and Adam
  rescales a small gradient into a full-sized step, so that layer still learns.
- exploding: a layer's gradient norm is not finite, or the median of its last
  `EXPLODING_WINDOW` logged norms is over `EXPLODING_GROWTH` times the gradient scale training
  started at: the largest layer's median norm over the first `EXPLODING_WINDOW` logged steps.
  Exploding gradients grow step after step until the loss overflows (Pascanu et al. 2013),
  usually within a few dozen steps, hence the short window. The output layer's norm grows with
  the rest (a plain RNN without clipping: both 1e17 times their start), so a ratio to it would
  not see them; and against the largest layer's start, not its own, a layer that starts with a
  vanishing gradient and recovers is not taken for one that explodes.
- dead_relu: at an epoch end, more than `DEAD_FRACTION` of a relu layer's units output 0 for
  every probe sample: they get no gradient, so they rarely come back.

An alert is raised once when its criterion starts to hold and cleared once when its measure is
back `CLEAR_FACTOR` times inside the threshold (below half the dead fraction), so a measure
hovering at a threshold raises it once, not at every crossing. Measured on the presets (seeds
0-2, whole runs), the healthy ones stay clear of every threshold: median gradient ratios of
1.4e-2 and more (adding-rnn; spiral-mlp 0.17; deep-sigmoid's first five layers 1.6e-6 to
2.7e-4), growth at most 8x (adding-lstm), dead fractions at most 0.59 (digits-cnn's dense relu).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .kernels.norms import save_and_norms, update_ratios
from .layers import RBM, ReLU, Sigmoid, Tanh
from .layers.base import Layer
from .model import Sequential

WINDOW = 20  # logged steps whose medians decide a vanishing gradient
VANISHING_RATIO = 1e-3  # of the output layer's gradient norm
VANISHING_UPDATE = 1e-4  # update ratio ‖Δw‖/‖w‖ per step
EXPLODING_WINDOW = 5  # logged steps: the starting scale, and the recent one
EXPLODING_GROWTH = 100.0  # times the largest layer's starting gradient norm
DEAD_FRACTION = 0.75
CLEAR_FACTOR = 2.0  # how far back inside its threshold a measure must be to clear its alert
# each alert's name, what it means and what to try: for its message, `tuidl run` and the app
ALERTS = {
    "vanishing": (
        "vanishing gradient",
        "too small to learn",
        "relu instead of sigmoid, He or Xavier init, batch norm",
    ),
    "exploding": (
        "exploding gradient",
        "steps overshoot until the loss overflows",
        "a smaller learning rate, gradient clipping (optimizer.clip_norm)",
    ),
    "dead_relu": (
        "dead relu units",
        "they output 0 for every input, so get no gradient",
        "a smaller learning rate, He init, leaky_relu",
    ),
}
SATURATION = 0.98  # |tanh| above this, or sigmoid outside [1 - this, this], counts as saturated


class StepNorms:
    """Per-layer gradient norms and update ratios ‖Δw‖/‖w‖ of one optimizer step.

    `before()` (after backward, before the optimizer) copies the model's flat parameter buffer
    and returns the gradient L2 norm of every parameterised layer, all its arrays together;
    `after()` returns the update ratios. Each is one numba pass over the flat buffers, so a
    logged step allocates nothing and costs a few microseconds whatever the layer count.
    """

    def __init__(self, model: Sequential) -> None:
        self.model = model
        self.names = list(model.layer_slices)
        parts = list(model.layer_slices.values())
        self.starts = np.array([part.start for part in parts], np.int64)
        self.ends = np.array([part.stop for part in parts], np.int64)
        self.saved = model.flat_params.copy()
        self.weight_sq = np.zeros(len(parts))
        self.grad_sq = np.zeros(len(parts))
        self.ratios = np.zeros(len(parts))

    def before(self) -> dict[str, float]:
        model = self.model
        save_and_norms(model.flat_params, model.flat_grads, self.saved, self.starts, self.ends,
                       self.weight_sq, self.grad_sq)  # fmt: skip
        return dict(zip(self.names, np.sqrt(self.grad_sq).tolist(), strict=True))

    def after(self) -> dict[str, float]:
        update_ratios(self.model.flat_params, self.saved, self.starts, self.ends, self.weight_sq,
                      self.ratios)  # fmt: skip
        return dict(zip(self.names, self.ratios.tolist(), strict=True))


def layer_stats(layer: Layer, y: np.ndarray) -> dict[str, float]:
    """Mean and std of `layer`'s output `y (N, ...)` on the probe samples (evaluation mode):
    an epoch record's `act` entry (`tuidl.histograms.measure`).

    Sigmoid, rbm and tanh layers add `saturated` (fraction of outputs near their limits); relu
    layers add `dead` (fraction of units that output 0 for every probe sample).
    """
    entry = {"mean": float(y.mean()), "std": float(y.std())}
    if isinstance(layer, Sigmoid | RBM):
        entry["saturated"] = float(np.mean((y < 1 - SATURATION) | (y > SATURATION)))
    elif isinstance(layer, Tanh):
        entry["saturated"] = float(np.mean(np.abs(y) > SATURATION))
    elif isinstance(layer, ReLU):
        entry["dead"] = float(np.mean(np.all(y <= 0, axis=0)))
    return entry


class AlertTracker:
    """Raises and clears a run's alerts (see the module docstring) from what the trainer logs.

    The trainer feeds it every logged step (`observe_step`) and every epoch's activation
    statistics (`observe_activations`); each returns the alert lines that start or end there,
    as `metrics.jsonl` stores them: `kind` "alert", `step`, `epoch`, `alert` (vanishing,
    exploding or dead_relu), `layer`, `value` (what the criterion measured), `threshold`,
    `message` (what it means and what to try), and `cleared` true when the alert ends. Its
    windows are plain arrays (`state_dict`), so a resumed run raises what the whole run would.

    Args:
        layers: the parameterised layers, in order (the keys of a step's `grad_norm`).
    """

    def __init__(self, layers: list[str]) -> None:
        self.layers = list(layers)
        count = len(self.layers)
        # rings of the last logged values, one column per layer, in no particular row order
        self.relative = np.zeros((WINDOW, count))  # gradient norm / the output layer's
        self.updates = np.zeros((WINDOW, count))
        self.norms = np.zeros((EXPLODING_WINDOW, count))
        self.start = np.nan  # the gradient scale training started at (see the module)
        self.seen = 0  # logged steps observed
        self.vanishing = [False] * count  # alerts raised and not cleared, per layer
        self.exploding = [False] * count
        self.dead: list[str] = []

    def observe_step(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The vanishing and exploding alerts that start or end at this logged step record.

        A median crosses its threshold only at a step whose newest value is across it too, so
        the medians are taken only then, while an alert is raised, and when the window fills:
        a healthy step costs a few plain comparisons (a tiny network logs thousands a second).
        """
        if not self.layers:
            return []
        grads, updates = record["grad_norm"], record["update_ratio"]
        count = len(self.layers)
        norms = np.fromiter(grads.values(), float, count)
        out = float(norms[-1])
        row = self.seen % WINDOW
        if 0 < out < math.inf:
            np.divide(norms, out, out=self.relative[row])
        else:  # no output gradient to compare with: nothing vanishes against it
            self.relative[row] = math.inf
        self.updates[row] = np.fromiter(updates.values(), float, count)
        self.norms[self.seen % EXPLODING_WINDOW] = norms
        self.seen += 1
        if self.seen == EXPLODING_WINDOW:
            self.start = float(_median(self.norms).max())
        alerts = []
        if self.seen == WINDOW or (
            self.seen > WINDOW
            and (
                any(self.vanishing)
                or min(grads.values()) < VANISHING_RATIO * out
                or min(updates.values()) < VANISHING_UPDATE
            )
        ):
            alerts += self._check_vanishing(record)
        bound = EXPLODING_GROWTH * self.start  # NaN until the start is known: never exceeded
        if (
            any(self.exploding)
            or not all(map(math.isfinite, grads.values()))
            or max(grads.values()) > bound
        ):
            alerts += self._check_exploding(record, norms)
        return alerts

    def _check_vanishing(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        relative, updates = _median(self.relative), _median(self.updates)
        raise_ = (relative < VANISHING_RATIO) & (updates < VANISHING_UPDATE)
        clear = (relative >= CLEAR_FACTOR * VANISHING_RATIO) | (
            updates >= CLEAR_FACTOR * VANISHING_UPDATE
        )
        return [
            self._vanishing(record, k, raised, relative[k], updates[k])
            for k, raised in self._switch(self.vanishing, raise_, clear)
        ]

    def _check_exploding(self, record: dict[str, Any], norms: np.ndarray) -> list[dict[str, Any]]:
        if self.start > 0:
            growth = _median(self.norms) / self.start
        else:
            growth = np.full(len(norms), np.nan)
        finite = np.isfinite(norms)
        raise_ = ~finite | (growth > EXPLODING_GROWTH)
        clear = finite & (growth <= EXPLODING_GROWTH / CLEAR_FACTOR)
        return [
            self._exploding(record, k, raised, float(growth[k] if finite[k] else norms[k]))
            for k, raised in self._switch(self.exploding, raise_, clear)
        ]

    @staticmethod
    def _switch(active: list[bool], raise_: np.ndarray, clear: np.ndarray):
        """Flip `active` where an alert starts or ends (`raise_` and `clear` never both hold);
        yields (layer index, started)."""
        for k in np.flatnonzero(raise_ | clear).tolist():
            if raise_[k] != active[k]:
                active[k] = bool(raise_[k])
                yield k, active[k]

    def _vanishing(self, record, k, raised, relative, updates) -> dict[str, Any]:
        if raised:
            detail = (
                f"gradient {relative:.1e} of the output layer's, updates {updates:.1e} of the "
                "weights"
            )
        else:
            detail = f"gradient back to {relative:.1e} of the output layer's"
        return _line(record, "vanishing", self.layers[k], raised, relative, VANISHING_RATIO, detail)

    def _exploding(self, record, k, raised, value) -> dict[str, Any]:
        if not math.isfinite(value):
            detail = f"gradient norm {value}"
        else:
            detail = (
                f"gradient {'' if raised else 'back to '}{value:,.0f}x the largest at the start"
            )
        return _line(record, "exploding", self.layers[k], raised, value, EXPLODING_GROWTH, detail)

    def observe_activations(
        self, stats: dict[str, dict[str, float]], step: int, epoch: int
    ) -> list[dict[str, Any]]:
        """The dead-relu alerts that start or end at this epoch's `activation_stats`."""
        where = {"step": step, "epoch": epoch}
        alerts = []
        for name, entry in stats.items():
            if "dead" not in entry:
                continue
            dead = entry["dead"]
            if dead > DEAD_FRACTION and name not in self.dead:
                self.dead.append(name)
                detail = f"{dead:.0%} of its units"
                alerts.append(_line(where, "dead_relu", name, True, dead, DEAD_FRACTION, detail))
            elif dead <= DEAD_FRACTION / CLEAR_FACTOR and name in self.dead:
                self.dead.remove(name)
                detail = f"{dead:.0%} of its units dead now"
                alerts.append(_line(where, "dead_relu", name, False, dead, DEAD_FRACTION, detail))
        return alerts

    def state_dict(self) -> dict[str, np.ndarray]:
        return {
            "relative": self.relative,
            "updates": self.updates,
            "norms": self.norms,
            "start": np.array(self.start),
            "seen": np.array(self.seen),
            "vanishing": np.array(self.vanishing),
            "exploding": np.array(self.exploding),
            "dead": np.array(self.dead, dtype=str),
        }

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Continue from `state_dict()` output; an empty state (a checkpoint written before
        alerts were tracked) starts the windows afresh."""
        if not state:
            return
        for key in ("relative", "updates", "norms"):
            np.copyto(getattr(self, key), state[key])
        for key in ("vanishing", "exploding"):
            active = np.zeros(len(self.layers), bool)
            np.copyto(active, state[key])
            setattr(self, key, active.tolist())
        self.start = float(state["start"])
        self.seen = int(state["seen"])
        self.dead = [str(name) for name in state["dead"]]


def _median(window: np.ndarray) -> np.ndarray:
    """Per column, the median of an odd window, the upper median of an even one."""
    return np.partition(window, len(window) // 2, axis=0)[len(window) // 2]


def _line(
    where: dict[str, Any],
    alert: str,
    layer: str,
    raised: bool,
    value: float,
    threshold: float,
    detail: str,
) -> dict[str, Any]:
    """An alert line of `metrics.jsonl` at `where`'s step and epoch; the message of one that
    starts says what was measured (`detail`), what it means and what to try."""
    _, meaning, advice = ALERTS[alert]
    line = {
        "kind": "alert",
        "step": where["step"],
        "epoch": where["epoch"],
        "alert": alert,
        "layer": layer,
        "value": float(value),
        "threshold": threshold,
        "message": f"{detail}: {meaning}; try {advice}" if raised else detail,
    }
    if not raised:
        line["cleared"] = True
    return line
