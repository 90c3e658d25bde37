"""The training loop shared by `tuidl run`, `tuidl compare` and the app.

`Trainer.step()` trains one mini-batch; `fit()` runs epochs until done, early-stopped or asked
to stop. Whoever drives the steps (`fit`, the app's sessions, a race) opens the run with
`begin()`, moves it on with `advance()` until `reached()`, and closes it with `finish()`, which
decides its status (STATUSES), restores the best weights when early stopping keeps them, and
tells the listeners once. Models with rbm layers are first pretrained as a deep belief net, one
CD-k mini-batch per `step()` (`tuidl.pretrain`). Then, before the first update, the epoch-0
record describes the network training starts from (`on_epoch_zero`): its validation loss and
the `act` and `hist` (`tuidl.histograms`) every epoch record holds; with 0 epochs it is all a
run writes. Listeners (callbacks) get Keras-style hooks with plain `logs` dicts, the same dicts
the run directory stores as lines of `metrics.jsonl`.

Randomness: the experiment seed spawns two streams, one for initial weights (and dropout masks
and rbm samples, spawned from it at build time) and one for the batch order (pretraining's
too). Neither depends on the optimizer, which is how `tuidl compare` gives every optimizer
identical weights and batches (and pretrained weights).
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from . import statecheck
from .diagnostics import AlertTracker, StepNorms
from .errors import ConfigError
from .experiment import Experiment
from .histograms import measure, weight_limits
from .losses import MSE, BinaryCrossEntropy, SoftmaxCrossEntropy
from .model import batch_problem, output_problem
from .pretrain import Pretraining
from .stopping import EarlyStopping

STATUSES = ("finished", "early_stopped", "diverged", "interrupted")  # how a run can end
PROBE_SAMPLES = 256  # validation samples of the activation statistics and histograms
EVAL_BATCH = 512


class Diverged(RuntimeError):
    """The loss became NaN or infinite; weights are those of the last good step."""

    def __init__(self, step: int, loss: float) -> None:
        super().__init__(
            f"loss became {loss} at step {step}; try a smaller learning rate "
            "(e.g. --set optimizer.lr=...) or gradient clipping (optimizer.clip_norm)"
        )
        self.step, self.loss = step, loss


class Callback:
    """Hooks called by the trainer; override the ones you need. `logs` are metric records;
    `on_epoch_zero` gets the epoch-0 record (no training loss: nothing is trained yet), once
    per run, before the first step record; `on_alert` gets an alert that starts or ends
    (`tuidl.diagnostics.AlertTracker`), after the step or epoch record it belongs to."""

    def on_train_begin(self, trainer: Trainer) -> None: ...
    def on_pretrain_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None: ...
    def on_epoch_zero(self, trainer: Trainer, logs: dict[str, Any]) -> None: ...
    def on_step_end(self, trainer: Trainer, logs: dict[str, Any]) -> None: ...
    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None: ...
    def on_alert(self, trainer: Trainer, logs: dict[str, Any]) -> None: ...
    def on_train_end(self, trainer: Trainer, logs: dict[str, Any]) -> None: ...


class Trainer:
    """Trains the experiment's model on its dataset, one mini-batch per `step()`.

    Args:
        experiment: the validated experiment.
        dataset: the data (from `tuidl.datasets.load_dataset`); loaded from the experiment when
            None.
        callbacks: listeners, called in order.
        data_dir: folder with downloaded datasets (mnist...), when `dataset` is None.
    """

    def __init__(
        self,
        experiment: Experiment,
        dataset=None,
        callbacks: list[Callback] | None = None,
        data_dir: str | None = None,
    ) -> None:
        self.experiment = experiment
        if dataset is None:
            dataset = load_experiment_data(experiment, data_dir)
        self.dataset = dataset
        self.callbacks = list(callbacks or [])
        init_seed, order_seed = np.random.SeedSequence(experiment.seed).spawn(2)
        self.model = experiment.make_model()
        self.model.build(dataset.input_shape, np.random.default_rng(init_seed))
        problem = output_problem(self.model.output_shape, dataset, self.model.loss_name) or (
            batch_problem(self.model, experiment.train["batch_size"], len(dataset.x_train))
        )
        if problem:
            raise ConfigError(problem)
        self.optimizer = experiment.make_optimizer()
        self.schedule = experiment.make_schedule()
        self.order_rng = np.random.default_rng(order_seed)
        train = experiment.train
        self.batch_size = train["batch_size"]
        self.epochs = train["epochs"]
        self.log_every = train["log_every"]
        self.steps_per_epoch = -(-len(dataset.x_train) // self.batch_size)
        self.pretraining = Pretraining(
            self.model, dataset.x_train, self.batch_size, self.order_rng, train["shuffle"]
        )
        # accuracy where the targets are classes: the cross-entropies, and mse on class labels
        self.classify = isinstance(self.model.loss, SoftmaxCrossEntropy | BinaryCrossEntropy) or (
            isinstance(self.model.loss, MSE) and np.issubdtype(dataset.y_train.dtype, np.integer)
        )
        self.early_stopping = (
            EarlyStopping(
                **train["early_stopping"],
                validation=dataset.x_val is not None and len(dataset.x_val) > 0,
                accuracy=self.classify,
            )
            if ("early_stopping" in train)
            else None
        )
        self.step_norms = StepNorms(self.model)
        self.weight_limits = weight_limits(self.model)  # of the initial weights: fixed
        self.alerts = AlertTracker(self.step_norms.names)
        self.step_count = 0  # optimizer steps taken
        self.epoch = 0  # epochs completed
        self.batch = 0  # batches done in the current epoch
        self.started = False  # the epoch-0 record is written
        self.order = np.arange(len(dataset.x_train))
        self.stop_requested = False
        self.status: str | None = None  # one of STATUSES once `finish` ran
        self._begun = False
        self._end: dict[str, Any] = {}
        self.val_predictions: np.ndarray | None = None  # classes predicted at the last `evaluate`
        self.val_labels: np.ndarray | None = None
        self._epoch_loss = self._epoch_seen = 0.0
        self._epoch_correct = self._epoch_predictions = 0
        self._started: float | None = time.perf_counter()  # None while the clock is paused
        self.elapsed_before = 0.0  # seconds trained before `_started` (earlier processes, pauses)

    @property
    def elapsed(self) -> float:
        """Seconds spent training: wall time without pauses (`pause_clock`), across resumes."""
        if self._started is None:
            return self.elapsed_before
        return self.elapsed_before + time.perf_counter() - self._started

    def pause_clock(self) -> None:
        """Stop counting `elapsed` (the app's pause), until `resume_clock`."""
        if self._started is not None:
            self.elapsed_before = self.elapsed
            self._started = None

    def resume_clock(self) -> None:
        if self._started is None:
            self._started = time.perf_counter()

    def _emit(self, hook: str, logs: dict[str, Any] | None = None) -> None:
        for callback in self.callbacks:
            if logs is None:
                getattr(callback, hook)(self)
            else:
                getattr(callback, hook)(self, logs)

    def step(self) -> dict[str, Any] | None:
        """Train one mini-batch; returns the step record when this step is logged, else None.

        While rbm layers are pretraining, a step is one of their CD-k updates instead (no
        optimizer step, returns None; each pretraining epoch's record goes to
        `on_pretrain_epoch_end`).

        Raises:
            Diverged: the loss is NaN or infinite (the weights are left as before this step).
        """
        # overflow is the run's own business: it diverges (a NaN loss) or shows a huge loss,
        # and numpy's warnings would only clutter the terminal
        with np.errstate(over="ignore", invalid="ignore"):
            return self._step()

    def _step(self) -> dict[str, Any] | None:
        if not self.pretraining.done:
            record = self.pretraining.step()
            if record is not None:
                record["time"] = round(self.elapsed, 4)
                self._emit("on_pretrain_epoch_end", record)
            return None
        if not self.started:
            self._start()
        if self.batch == 0:
            self.order = (
                self.order_rng.permutation(len(self.dataset.x_train))
                if self.experiment.train["shuffle"]
                else np.arange(len(self.dataset.x_train))
            )
        index = self.order[self.batch * self.batch_size : (self.batch + 1) * self.batch_size]
        x, t = self.dataset.x_train[index], self.dataset.y_train[index]
        model = self.model
        y = model.logits(x, train=True)
        loss = model.loss.forward(y, t)
        if not np.isfinite(loss):
            raise Diverged(self.step_count + 1, loss)
        model.backward(model.loss.backward())
        logged = (self.step_count + 1) % self.log_every == 0 or self.step_count == 0
        if logged:
            grad_norm = self.step_norms.before()
        self.optimizer.step(*model.trainable())
        self.step_count += 1
        self.batch += 1
        self._epoch_loss += loss * len(index)
        self._epoch_seen += len(index)
        if self.classify:
            correct, total = count_correct(y, t)
            self._epoch_correct += correct
            self._epoch_predictions += total
        record = None
        if logged:
            record = {
                "kind": "step",
                "step": self.step_count,
                "epoch": self.epoch + self.batch / self.steps_per_epoch,
                "loss": loss,
                "lr": self.optimizer.lr,
                "time": round(self.elapsed, 4),
                "grad_norm": grad_norm,
                "update_ratio": self.step_norms.after(),
                **model.step_fields(),
            }
            self._emit("on_step_end", record)
            for alert in self.alerts.observe_step(record):
                self._emit("on_alert", alert)
        if self.batch == self.steps_per_epoch:
            self._end_epoch()
        return record

    def _start(self) -> None:
        """The epoch-0 record: the network before its first update (after pretraining). Alerts,
        schedules and early stopping see only trained epochs: they do not see it."""
        self.started = True
        logs = {"kind": "epoch", "epoch": 0, "step": self.step_count,
                "time": round(self.elapsed, 4), "lr": self.optimizer.lr}  # fmt: skip
        self._measure(logs, trained=False)
        self._emit("on_epoch_zero", logs)

    def _end_epoch(self) -> None:
        self.epoch += 1
        self.batch = 0
        logs: dict[str, Any] = {
            "kind": "epoch",
            "epoch": self.epoch,
            "step": self.step_count,
            "time": round(self.elapsed, 4),
            "lr": self.optimizer.lr,
            "train_loss": self._epoch_loss / self._epoch_seen,
        }
        if self.classify:
            logs["train_acc"] = self._epoch_correct / self._epoch_predictions
        self._epoch_loss = self._epoch_seen = 0.0
        self._epoch_correct = self._epoch_predictions = 0
        self._measure(logs, trained=True)
        # observed before the listeners hear of the epoch: a checkpoint saved then holds it
        alerts = self.alerts.observe_activations(logs["act"], self.step_count, self.epoch)
        monitored = logs.get("val_loss", logs["train_loss"])
        if self.schedule is not None:
            self.schedule.on_epoch_end(self.epoch - 1, monitored, self.optimizer)
        if self.early_stopping is not None and self.early_stopping.update(logs, self.model):
            logs["early_stop"] = True
            self.stop_requested = True
        self._emit("on_epoch_end", logs)
        for alert in alerts:
            self._emit("on_alert", alert)

    def _measure(self, logs: dict[str, Any], trained: bool) -> None:
        """Into an epoch record: the validation metrics (with a validation set), and the
        probe samples' activation statistics `act` and histograms `hist`. The predictions
        of the app's confusion matrix and mistakes are kept for `trained` epochs only."""
        ds = self.dataset
        if ds.x_val is not None and len(ds.x_val):
            logs.update(self.evaluate(ds.x_val, ds.y_val, "val", keep=trained))
        logs["act"], logs["hist"] = measure(self.model, *self.probe_data(), self.weight_limits)

    def probe_data(self) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, targets) of the PROBE_SAMPLES samples an epoch's `act` and `hist` describe:
        the first validation samples, or training samples without a validation set."""
        ds = self.dataset
        if ds.x_val is not None and len(ds.x_val):
            return ds.x_val[:PROBE_SAMPLES], ds.y_val[:PROBE_SAMPLES]
        return ds.x_train[:PROBE_SAMPLES], ds.y_train[:PROBE_SAMPLES]

    def evaluate(
        self, x: np.ndarray, t: np.ndarray, prefix: str, keep: bool = True
    ) -> dict[str, float]:
        """Loss (and accuracy for classification) on `x`, in evaluation mode. For the
        validation set of a classifier, `val_predictions` and `val_labels` keep the predicted
        and true classes (the app's confusion matrix, without another forward pass) unless
        not `keep`."""
        y = self.model.predict(x, EVAL_BATCH, logits=True)
        result = {f"{prefix}_loss": self.model.loss.forward(y, t)}
        if self.classify:
            predicted, true = predicted_classes(y, t)
            result[f"{prefix}_acc"] = int((predicted == true).sum()) / true.size
            if prefix == "val" and keep:
                self.val_predictions, self.val_labels = predicted, true
        return result

    def state_dict(self) -> dict[str, np.ndarray]:
        """Where training stands, as plain arrays: with the model and optimizer state this is
        everything a resumed run needs to continue bit for bit."""
        state = {
            "step_count": np.array(self.step_count),
            "epoch": np.array(self.epoch),
            "batch": np.array(self.batch),
            "started": np.array(self.started),
            "order": self.order,
            "order_rng": np.array(json.dumps(self.order_rng.bit_generator.state)),
            "epoch_loss": np.array(self._epoch_loss),
            "epoch_seen": np.array(self._epoch_seen),
            "epoch_correct": np.array(self._epoch_correct),
            "epoch_predictions": np.array(self._epoch_predictions),
            "elapsed": np.array(self.elapsed),
        }
        if self.schedule is not None:
            state |= {f"schedule/{k}": v for k, v in self.schedule.state_dict().items()}
        if self.early_stopping is not None:
            state |= {f"early/{k}": v for k, v in self.early_stopping.state_dict().items()}
        if self.pretraining.stages:
            state |= {f"pretrain/{k}": v for k, v in self.pretraining.state_dict().items()}
        state |= {f"alerts/{k}": v for k, v in self.alerts.state_dict().items()}
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Continue from `state_dict()` output (model and optimizer are loaded separately).

        Raises:
            ConfigError: an entry is missing, or of a kind or range this run cannot continue
                from (`tuidl.statecheck`); the trainer is then not to be used.
        """
        self.step_count = statecheck.whole(state, "step_count")
        self.epoch = statecheck.whole(state, "epoch")
        self.batch = statecheck.whole(state, "batch", high=self.steps_per_epoch - 1)
        # a checkpoint from before epoch-0 records: started once it has a step
        self.started = (
            statecheck.flag(state, "started") if "started" in state else self.step_count > 0
        )
        self.order = statecheck.permutation(state, "order", len(self.dataset.x_train))
        statecheck.restore_generator(self.order_rng, state, "order_rng")
        self._epoch_loss = statecheck.number(state, "epoch_loss")
        self._epoch_seen = statecheck.number(state, "epoch_seen", low=0)
        self._epoch_correct = statecheck.whole(state, "epoch_correct")
        self._epoch_predictions = statecheck.whole(state, "epoch_predictions")
        self.elapsed_before = statecheck.number(state, "elapsed", low=0)
        if self.pretraining.stages:
            statecheck.check_pretraining(state, self.pretraining)
            self.pretraining.load_state_dict(_prefixed(state, "pretrain/"))
        if self.early_stopping is not None:
            try:
                self.early_stopping.load_state_dict(_prefixed(state, "early/"), self.model.params)
            except ConfigError as error:
                raise ConfigError(f"early stopping's {error}") from None
        for name, part in (("schedule", self.schedule), ("alerts", self.alerts)):
            if part is None:
                continue
            try:
                part.load_state_dict(_prefixed(state, f"{name}/"))
            except (KeyError, ValueError, TypeError) as error:
                raise statecheck.damaged(f"its {name} state does not fit ({error})") from None
        self._started = time.perf_counter()

    @property
    def finished(self) -> bool:
        """The run ended complete: all its epochs, or stopped early by design."""
        return self.status in ("finished", "early_stopped")

    def begin(self) -> None:
        """Open the run: the listeners' `on_train_begin` (once, however often called)."""
        if not self._begun:
            self._begun = True
            self._emit("on_train_begin")

    def finish(self, status: str | None = None, **extra: Any) -> dict[str, Any]:
        """Close the run once and return its end record (`kind` "end", `status`, ...).

        Args:
            status: one of STATUSES; None decides from where training stands: early_stopped
                when early stopping fired, finished once every epoch is done, else
                interrupted. A finished or early-stopped run gets its best weights back
                when early stopping keeps them (`restore_best`).
            extra: more fields for the end record and summary (`diverged_at_step`).
        """
        if self.status is None:
            if status is None:
                status = self._ending_status(self.epochs)
            if status not in STATUSES:
                raise ValueError(f"unknown run status {status!r}")
            self.status = status
            if self.finished and self.early_stopping is not None:
                self.early_stopping.restore(self.model)
            self.pause_clock()
            self._end = {"kind": "end", "status": status, "epoch": self.epoch,
                         "step": self.step_count, "time": self.elapsed, **extra}  # fmt: skip
            self._emit("on_train_end", self._end)
        return self._end

    def _ending_status(self, target: int) -> str:
        if self.early_stopping is not None and self.early_stopping.stopped:
            return "early_stopped"
        return "finished" if self.reached(target) else "interrupted"

    def reached(self, target: int | None = None) -> bool:
        """`target` epochs (the experiment's by default) are trained and the epoch-0 record is
        written: the run is complete."""
        return self.started and self.epoch >= (self.epochs if target is None else target)

    def advance(self, target: int | None = None) -> dict[str, Any] | None:
        """`step()` towards `target` epochs (the experiment's by default); once they are all
        trained and pretraining is done, only the epoch-0 record if it is not written (a run
        of 0 epochs). Returns what `step()` returns (None for that record)."""
        target = self.epochs if target is None else target
        if self.epoch >= target and self.pretraining.done:
            if not self.started:
                with np.errstate(over="ignore", invalid="ignore"):  # as in `step`
                    self._start()
            return None
        return self.step()

    def fit(self, epochs: int | None = None) -> dict[str, Any]:
        """Train until `epochs` epochs are complete (the experiment's by default; 0 writes the
        epoch-0 record only), early stopping fires, or `stop_requested` is set between two
        steps; returns the end record.

        Raises:
            Diverged: after the run was closed as diverged.
        """
        target = self.epochs if epochs is None else epochs
        self.begin()
        try:
            while not self.reached(target) and not self.stop_requested:
                self.advance(target)
        except Diverged as error:
            self.finish("diverged", diverged_at_step=error.step, message=str(error))
            raise
        return self.finish(self._ending_status(target))


def _prefixed(state: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The entries of `state` under `prefix`, without it."""
    return {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}


def count_correct(y: np.ndarray, t: np.ndarray) -> tuple[int, int]:
    """(correct, total) predictions of logits `y` against targets `t` (see `predicted_classes`)."""
    predicted, true = predicted_classes(y, t)
    hits = predicted == true
    return int(hits.sum()), int(hits.size)


def predicted_classes(y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(predicted, true) classes of logits `y` against targets `t`, as arrays of one shape.

    Integer labels (one per sample or per step) are compared with the argmax of softmax
    logits; one-hot rows by their argmax; 0/1 targets of the same size as `y` with the sign of
    sigmoid logits (classes False/True).
    """
    if np.issubdtype(t.dtype, np.integer):
        return y.argmax(axis=-1), t
    if y.shape[-1] > 1 and t.shape == y.shape:
        return y.argmax(axis=-1), t.argmax(axis=-1)
    return y.reshape(t.shape) > 0, t > 0.5


def load_experiment_data(experiment: Experiment, data_dir: str | None = None):
    """Load the `[data]` table's dataset with the experiment's seed."""
    from .datasets import load_dataset

    params = dict(experiment.data)
    name = params.pop("name")
    return load_dataset(name, data_dir=data_dir, seed=experiment.seed, **params)
