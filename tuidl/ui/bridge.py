"""From the trainer thread to the UI: a lock-protected buffer the UI drains at 10 Hz.

No Textual here. The trainer thread appends records (`MetricsBuffer.push`, about a microsecond)
and copies what the image panels show (`Probe`, about once a second); the UI thread swaps the
buffer out on a timer and redraws from it. `TrainingLoop` runs a `Trainer` step by step,
checking pause, single-step and stop and a queue of commands (set lr, re-initialise, save)
between steps. `RunTail` follows `metrics.jsonl` files for `tuidl view` (whole lines only).
"""

from __future__ import annotations

import json
import math
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..checkpoint import save_checkpoint
from ..experiment import Experiment
from ..runs import METRICS, RunWriter, new_run_dir
from ..trainer import Callback, Diverged, Trainer
from .priority import UiPriority

PROBE_SECONDS = 1.0  # how often the trainer thread copies weights and predictions for images
GRID = 48  # decision-boundary grid side (pixels)
SAMPLES = 8  # images in the sample strip


class MetricsBuffer:
    """Records from any thread, drained by the UI: `push` appends, `drain` swaps the list out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[tuple[str, dict[str, Any]]] = []

    def push(self, source: str, record: dict[str, Any]) -> None:
        with self._lock:
            self._items.append((source, record))

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            items, self._items = self._items, []
        return items


class Probe:
    """What the image panels show, computed in the trainer thread from a consistent model.

    `snapshot(trainer)` returns plain arrays (copies): `boundary` (class per grid pixel and
    its confidence, with the points) for 2D classification; `filters` of the chosen conv layer
    and the `feature_maps` it makes of the chosen probe input; `samples` (images with predicted
    labels) for image classification. `conv` (counting conv2d layers only) and `input` (an
    index into the probe inputs) pick what shows; `choose` moves them, in the trainer thread.
    """

    def __init__(self, dataset) -> None:
        self.dataset = dataset
        self.conv = self.input = 0
        x = dataset.x_train
        self.two_d = dataset.input_shape == (2,) and dataset.task == "classification"
        self.images = len(dataset.input_shape) == 3 and dataset.task == "classification"
        if self.two_d:
            lo, hi = x.min(axis=0), x.max(axis=0)
            pad = (hi - lo) * 0.05
            self.extent = (float(lo[0] - pad[0]), float(hi[0] + pad[0]),
                           float(lo[1] - pad[1]), float(hi[1] + pad[1]))  # fmt: skip
            gx = np.linspace(self.extent[0], self.extent[1], GRID, dtype=np.float32)
            gy = np.linspace(
                self.extent[3], self.extent[2], GRID, dtype=np.float32
            )  # top row first
            xx, yy = np.meshgrid(gx, gy)
            self.grid = np.stack([xx.ravel(), yy.ravel()], axis=1)
            self.points = x[:400].copy()
            self.point_labels = dataset.y_train[:400].copy()
        source = dataset.x_val if len(dataset.x_val) else dataset.x_train
        labels = dataset.y_val if len(dataset.x_val) else dataset.y_train
        self.sample_x = source[:SAMPLES].copy()
        self.sample_y = labels[:SAMPLES].copy()

    def snapshot(self, trainer: Trainer) -> dict[str, Any]:
        model = trainer.model
        snap: dict[str, Any] = {"step": trainer.step_count}
        if self.two_d:
            out = model.predict(self.grid, 4096)
            probs = out if model.outputs_probabilities else _softmax(out)
            snap["boundary"] = {
                "cls": probs.argmax(axis=1).reshape(GRID, GRID),
                "conf": probs.max(axis=1).reshape(GRID, GRID),
                "extent": self.extent,
                "points": self.points,
                "labels": self.point_labels,
            }
        convs = [layer for layer in model.layers if layer.type == "conv2d"]
        if convs:
            self.conv %= len(convs)
            conv = convs[self.conv]
            snap["filters"] = {
                "name": conv.name,
                "W": conv.params["W"].copy(),
                "index": self.conv,
                "count": len(convs),
            }
        if convs and len(self.sample_x):
            self.input %= len(self.sample_x)
            x = self.sample_x[self.input : self.input + 1]
            for layer in model.layers:
                x = layer.forward(x, train=False)
                if layer is conv:
                    break
            label = self.sample_y[self.input]
            snap["feature_maps"] = {
                "maps": x[0].copy(),
                "input": self.input,
                "image": self.sample_x[self.input],
                "label": int(label) if np.ndim(label) == 0 and self.images else None,
            }
        if self.images:
            logits = model.predict(self.sample_x, 256)
            snap["samples"] = {
                "x": self.sample_x,
                "y": self.sample_y,
                "pred": logits.argmax(axis=-1),
            }
        return snap

    def choose(self, conv_step: int = 0, input_step: int = 0) -> None:
        """Move to another conv layer / probe input (wrapped around at the next snapshot)."""
        self.conv += conv_step
        self.input += input_step

    def confusion(self, trainer: Trainer) -> np.ndarray | None:
        """Predicted vs true class counts of the trainer's last validation (epoch end)."""
        if not self.images or trainer.val_predictions is None:
            return None
        k = max(2, trainer.dataset.num_outputs)  # one sigmoid output: classes 0 and 1
        true = trainer.val_labels.ravel().astype(np.int64)
        pairs = true * k + trainer.val_predictions.ravel()
        return np.bincount(pairs, minlength=k * k).reshape(k, k)


def training_progress(trainer: Trainer) -> tuple[int, int]:
    """(steps done, steps in all), a pretraining CD update counting as a step."""
    pretraining = trainer.pretraining
    per_epoch = pretraining.steps_per_epoch
    layers = trainer.model.layers
    pretrain_total = sum(layers[index].pretrain_epochs for index in pretraining.stages)
    pretrain_done = pretraining.epochs_done * per_epoch + pretraining.batch
    total = trainer.epochs * trainer.steps_per_epoch + pretrain_total * per_epoch
    return trainer.step_count + pretrain_done, total


def pretraining_stage(trainer: Trainer) -> tuple[str, str, int] | None:
    """(layer name, epoch as text with 2 decimals, its pretrain epochs) while the trainer's
    rbm layers pretrain, else None."""
    pretraining = trainer.pretraining
    stage = pretraining.stage  # read once: the trainer thread moves it on
    if stage >= len(pretraining.stages):
        return None
    layer = trainer.model.layers[pretraining.stages[stage]]
    epoch = pretraining.epoch + pretraining.batch / pretraining.steps_per_epoch
    return layer.name, f"{epoch:.2f}", layer.pretrain_epochs


def _softmax(logits: np.ndarray) -> np.ndarray:
    if logits.shape[1] == 1:  # one sigmoid output: two classes
        p = 1 / (1 + np.exp(-logits[:, 0]))
        return np.stack([1 - p, p], axis=1)
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class UiBridge(Callback):
    """A trainer callback that copies every record into the buffer under `source`."""

    def __init__(self, buffer: MetricsBuffer, source: str, probe: Probe | None = None) -> None:
        self.buffer, self.source, self.probe = buffer, source, probe
        self._last_probe = -math.inf

    def on_pretrain_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self.buffer.push(self.source, logs)

    def on_step_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self.buffer.push(self.source, logs)

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self.buffer.push(self.source, logs)
        if self.probe is not None:
            matrix = self.probe.confusion(trainer)
            if matrix is not None:
                self.buffer.push(self.source, {"kind": "confusion", "matrix": matrix})

    def maybe_probe(self, trainer: Trainer, force: bool = False) -> None:
        """Copy the image panels' data, at most once a second unless `force`."""
        now = time.monotonic()
        if self.probe is None or (not force and now - self._last_probe < PROBE_SECONDS):
            return
        self._last_probe = now
        self.buffer.push(self.source, {"kind": "probe", **self.probe.snapshot(trainer)})


class TrainingLoop:
    """Runs one experiment's `Trainer` in a worker thread, controlled from the UI thread.

    The UI calls `pause()`, `resume()`, `step_once()`, `set_lr_factor(f)`, `reinit()`,
    `save(path)`, `cycle_view(conv, input)`; the loop applies them between steps. What the
    status line shows comes from `progress()`, read from attributes only the worker thread
    writes. Paused time is left out of the trainer's `elapsed`. `process.TrainingProcess`
    offers the same interface for a loop run in a child process.

    Args:
        experiment: what to train.
        buffer: where records go (source "train").
        runs_root: folder for the run directory (written by the same `RunWriter` as `tuidl run`);
            None writes no run directory.
        dataset: already loaded data (else loaded from the experiment).
        throttle: seconds to sleep between steps (0 = full speed; tests use it to leave the
            CPU idle).
        start_paused: wait for `resume()` or `step_once()` before the first step.
    """

    def __init__(
        self,
        experiment: Experiment,
        buffer: MetricsBuffer,
        runs_root: str | Path | None = "runs",
        dataset=None,
        data_dir: str | None = None,
        throttle: float = 0.0,
        start_paused: bool = True,
    ) -> None:
        self.experiment = experiment
        self.buffer = buffer
        self.runs_root = runs_root
        self.data_dir = data_dir
        self.throttle = throttle
        self.commands: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._running = threading.Event()
        if not start_paused:
            self._running.set()
        self._wake = threading.Event()
        self._steps_wanted = 0
        self.state = "paused" if start_paused else "running"
        self.trainer: Trainer | None = None
        self._ended = False  # the listeners were told the current trainer's training ended
        self.writer: RunWriter | None = None
        self.bridge: UiBridge | None = None
        self.dataset = dataset
        self.error: str | None = None

    # ---- called from the UI thread ----
    def pause(self) -> None:
        self._running.clear()
        self._wake.set()

    def resume(self) -> None:
        self._running.set()
        self._wake.set()

    def toggle(self) -> None:
        self.pause() if self._running.is_set() else self.resume()

    @property
    def running(self) -> bool:
        return self._running.is_set()

    @property
    def pending(self) -> bool:
        """A command (lr, step, save...) is queued that the worker has not applied yet."""
        return not self.commands.empty()

    def progress(self) -> dict[str, Any] | None:
        """What the status line shows (None before the trainer is built): `state`, `epoch`
        (fractional), `epochs`, `step`, `done`/`total` (steps, pretraining updates included),
        `lr`, `batch_size`, `pretraining` (`(layer, epoch text, epochs)` or None)."""
        trainer = self.trainer
        if trainer is None:
            return None
        done, total = training_progress(trainer)
        return {
            "state": self.state,
            "epoch": trainer.epoch + trainer.batch / trainer.steps_per_epoch,
            "epochs": trainer.epochs,
            "step": trainer.step_count,
            "done": done,
            "total": total,
            "lr": trainer.optimizer.lr,
            "batch_size": trainer.batch_size,
            "pretraining": pretraining_stage(trainer),
        }

    def step_once(self) -> None:
        self._running.clear()
        self.commands.put(("step", None))
        self._wake.set()

    def set_lr_factor(self, factor: float) -> None:
        self.commands.put(("lr", factor))
        self._wake.set()

    def reinit(self) -> None:
        self.commands.put(("reinit", None))
        self._wake.set()

    def save(self, path: str | Path | None = None) -> None:
        """Save a checkpoint to `path` (default: checkpoint.npz in the run directory, else in
        the current folder)."""
        self.commands.put(("save", None if path is None else Path(path)))
        self._wake.set()

    def wake(self) -> None:
        """Make an idle loop go round once now (and call `run`'s `between`)."""
        self._wake.set()

    def cycle_view(self, conv: int = 0, input: int = 0) -> None:
        """Show another conv layer's filters (`conv` steps) or another probe input's feature
        maps (`input` steps); the worker re-probes at once, paused or not."""
        self.commands.put(("view", (conv, input)))
        self._wake.set()

    # ---- the worker thread ----
    def _start(self) -> None:
        if self.dataset is None:
            from ..trainer import load_experiment_data

            self.dataset = load_experiment_data(self.experiment, self.data_dir)
        previous = self.bridge.probe if self.bridge is not None else None
        self.bridge = UiBridge(self.buffer, "train", Probe(self.dataset))
        if previous is not None:  # a re-init keeps the user's pick of filters and input
            self.bridge.probe.conv, self.bridge.probe.input = previous.conv, previous.input
        callbacks: list[Callback] = [self.bridge]
        self.writer = None
        if self.runs_root is not None:
            self.writer = RunWriter(new_run_dir(self.runs_root, self.experiment.name))
            callbacks.insert(0, self.writer)
        self.trainer = Trainer(self.experiment, dataset=self.dataset, callbacks=callbacks)
        self._ended = False
        for callback in self.trainer.callbacks:
            callback.on_train_begin(self.trainer)
        self.error = None
        self.buffer.push("train", {"kind": "begin", **self.describe()})
        self.bridge.maybe_probe(self.trainer, force=True)

    def describe(self) -> dict[str, Any]:
        trainer = self.trainer
        return {
            "run_dir": str(self.writer.run_dir) if self.writer else None,
            "layers": [name for name, layer in trainer.model.named_layers() if layer.params],
            "steps_per_epoch": trainer.steps_per_epoch,
            "epochs": trainer.epochs,
            "batch_size": trainer.batch_size,
            "lr": trainer.optimizer.lr,
        }

    def _end_training(self) -> None:
        """Tell the listeners training ended, once: the run writer saves its final checkpoint
        and summary now, while the finished trainer stays on screen."""
        trainer = self.trainer
        if trainer is None or self._ended:
            return
        self._ended = True
        trainer.finished = trainer.epoch >= trainer.epochs or (
            trainer.early_stopping is not None and trainer.early_stopping.stopped
        )
        if trainer.finished and trainer.early_stopping is not None:
            trainer.early_stopping.restore(trainer.model)
        logs = {
            "kind": "end",
            "epoch": trainer.epoch,
            "step": trainer.step_count,
            "time": trainer.elapsed,
        }
        for callback in trainer.callbacks:
            callback.on_train_end(trainer, logs)
        if self.writer is not None:
            self.writer.close()

    def _finish(self) -> None:
        self._end_training()
        self.trainer = None

    def _apply(self, command: str, argument: Any) -> None:
        trainer = self.trainer
        if command == "step":
            self._steps_wanted += 1
        elif command == "lr":
            trainer.optimizer.lr = trainer.optimizer.lr * argument
            self.buffer.push("train", {"kind": "lr", "lr": trainer.optimizer.lr})
        elif command == "save":
            if argument is None:
                folder = self.writer.run_dir if self.writer is not None else Path()
                argument = folder / "checkpoint.npz"
            save_checkpoint(argument, trainer.model, trainer.optimizer, trainer.state_dict())
            self.buffer.push("train", {"kind": "saved", "path": str(argument)})
        elif command == "view":
            self.bridge.probe.choose(*argument)
            self.bridge.maybe_probe(trainer, force=True)
        elif command == "reinit":
            lr = trainer.optimizer.lr
            if self.state != "diverged":
                self._finish()
            else:
                self.trainer = None
                if self.writer is not None:
                    self.writer.close()
            self.experiment = self.experiment.with_overrides([f"optimizer.lr={lr!r}"])
            self._start()
            self.state = "running" if self._running.is_set() else "paused"

    def run(
        self,
        cancelled: Callable[[], bool],
        ui: UiPriority | None = None,
        between: Callable[[], None] | None = None,
    ) -> None:
        """The worker body: train until cancelled (finished runs wait for commands); between
        steps, hold still while `ui` is busy with a key, and call `between` once the commands
        are applied and the state is set (at least every 0.1 s, or at `wake()`, while idle)."""
        self._start()
        try:
            while not cancelled():
                if ui is not None:
                    ui.wait()
                while True:
                    try:
                        command, argument = self.commands.get_nowait()
                    except queue.Empty:
                        break
                    self._apply(command, argument)
                trainer = self.trainer
                done = self.state in ("finished", "diverged") or trainer.stop_requested
                idle = done or not (self._running.is_set() or self._steps_wanted)
                if idle and not done:
                    self.state = "paused"
                if between is not None:
                    between()
                if idle:
                    trainer.pause_clock()  # idle time is not training time
                    self._wake.wait(0.1)
                    self._wake.clear()
                    continue
                trainer.resume_clock()
                self.state = "running" if self._running.is_set() else "stepping"
                try:
                    trainer.step()
                except Diverged as error:
                    self.state = "diverged"
                    self.error = str(error)
                    self._running.clear()
                    self.buffer.push("train", {"kind": "error", "message": str(error)})
                    if self.writer is not None:
                        self.writer.write_summary(trainer, "diverged", diverged_at_step=error.step)
                    continue
                if self._steps_wanted:
                    self._steps_wanted -= 1
                    self.bridge.maybe_probe(trainer, force=True)
                else:
                    self.bridge.maybe_probe(trainer)
                if trainer.epoch >= trainer.epochs or trainer.stop_requested:
                    self.state = "finished"
                    self._running.clear()
                    self.bridge.maybe_probe(trainer, force=True)
                    self._end_training()
                    self.buffer.push("train", {"kind": "finished"})
                if self.throttle:
                    time.sleep(self.throttle)
        finally:
            if self.state == "diverged":
                if self.writer is not None:
                    self.writer.close()
            else:
                self._finish()


class CompareLoop:
    """Several trainers (one per optimizer) stepped round-robin in one worker thread.

    Every trainer is built from the same experiment seed, so all start from identical weights
    and see identical batches; only `[optimizer]` differs. Records go to the buffer under each
    run's label.
    """

    def __init__(
        self,
        experiment: Experiment,
        optimizers: list[tuple[str, dict[str, Any]]],
        buffer: MetricsBuffer,
        dataset=None,
        runs_root: str | Path | None = None,
        throttle: float = 0.0,
        max_epochs: int | None = None,
    ) -> None:
        self.experiment = experiment
        self.optimizers = optimizers
        self.buffer = buffer
        self.dataset = dataset
        self.runs_root = runs_root
        self.throttle = throttle
        self.max_epochs = max_epochs
        self._running = threading.Event()
        self._running.set()
        self.state = "running"
        self.status: dict[str, str] = {}

    def toggle(self) -> None:
        if self._running.is_set():
            self._running.clear()
        else:
            self._running.set()

    @property
    def running(self) -> bool:
        return self._running.is_set()

    def run(self, cancelled: Callable[[], bool], ui: UiPriority | None = None) -> None:
        """The worker body: race until cancelled or all runs end; between rounds, hold still
        while `ui` is busy with a key."""
        if self.dataset is None:
            from ..trainer import load_experiment_data

            self.dataset = load_experiment_data(self.experiment)
        root = None
        if self.runs_root is not None:
            root = new_run_dir(self.runs_root, f"compare-{self.experiment.name}")
        trainers: dict[str, Trainer] = {}
        writers: list[RunWriter] = []
        for label, table in self.optimizers:
            document = self.experiment.to_dict() | {"optimizer": table}
            if self.max_epochs:
                document["train"] = dict(document["train"], epochs=self.max_epochs)
            experiment = Experiment.from_dict(document)
            callbacks: list[Callback] = [UiBridge(self.buffer, label)]
            if root is not None:
                run_dir = root / label.replace(":", "-lr")
                run_dir.mkdir()
                writers.append(RunWriter(run_dir))
                callbacks.insert(0, writers[-1])
            trainer = Trainer(experiment, dataset=self.dataset, callbacks=callbacks)
            for callback in trainer.callbacks:
                callback.on_train_begin(trainer)
            trainers[label] = trainer
            self.status[label] = "running"
        try:
            while not cancelled():
                active = [k for k, v in self.status.items() if v == "running"]
                if not active:
                    self.state = "finished"
                    break
                if not self._running.is_set():
                    self.state = "paused"
                    self._running.wait(0.1)
                    continue
                self.state = "running"
                if ui is not None:
                    ui.wait()
                for label in active:
                    trainer = trainers[label]
                    try:
                        trainer.step()
                    except Diverged as error:
                        self.status[label] = "diverged"
                        self.buffer.push(label, {"kind": "error", "message": str(error)})
                        continue
                    if trainer.epoch >= trainer.epochs or trainer.stop_requested:
                        self.status[label] = "finished"
                        self.buffer.push(label, {"kind": "finished"})
                if self.throttle:
                    time.sleep(self.throttle)
        finally:
            for label, trainer in trainers.items():
                if self.status[label] != "diverged":
                    trainer.finished = trainer.epoch >= trainer.epochs
                    logs = {"kind": "end", "epoch": trainer.epoch, "step": trainer.step_count}
                    for callback in trainer.callbacks:
                        callback.on_train_end(trainer, logs | {"time": trainer.elapsed})
            for writer in writers:
                writer.close()


class RunTail:
    """Follows the `metrics.jsonl` of run directories from a poll thread (whole lines only).

    Each run's records go to the buffer under its label; a line still being written is kept
    until its newline arrives.
    """

    def __init__(self, run_dirs: list[Path], buffer: MetricsBuffer, interval: float = 0.5) -> None:
        self.run_dirs = [Path(d) for d in run_dirs]
        self.buffer = buffer
        self.interval = interval
        self.labels = unique_labels(self.run_dirs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._offsets = {d: 0 for d in self.run_dirs}
        self._partial = {d: "" for d in self.run_dirs}

    def poll(self) -> int:
        """Read whatever whole lines were appended since the last poll; returns how many."""
        count = 0
        for run_dir, label in zip(self.run_dirs, self.labels, strict=True):
            path = run_dir / METRICS
            try:
                with open(path, encoding="utf-8") as file:
                    file.seek(self._offsets[run_dir])
                    chunk = file.read()
                    self._offsets[run_dir] = file.tell()
            except FileNotFoundError:
                continue
            text = self._partial[run_dir] + chunk
            lines = text.split("\n")
            self._partial[run_dir] = lines.pop()
            for line in lines:
                if line.strip():
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    self.buffer.push(label, record)
                    count += 1
        return count

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tuidl-tail", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)


def unique_labels(run_dirs: list[Path]) -> list[str]:
    """Short distinct names for run folders: the folder name, or parent/name when repeated."""
    names = [d.resolve().name for d in run_dirs]
    if len(set(names)) == len(names):
        return names
    return [f"{d.resolve().parent.name}/{d.resolve().name}" for d in run_dirs]
