"""`SingleRun`: one experiment trained step by step, driven by commands between steps.

No Textual here. The same loop runs in a thread of the app (`ThreadSession`, for tests) and in
the child process users get (`ProcessSession`): it builds the `Trainer` with a `RunWriter`
(the same run directory as `tuidl run`) and a `SessionSink`, applies the queued commands
between two steps, and closes the run through `Trainer.finish`, so every way a run ends is
the trainer's one end-of-run path.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from .. import cores
from ..checkpoint import save_checkpoint
from ..experiment import Experiment
from ..probe import Probe
from ..runs import METRICS, RunWriter, new_run_dir, open_for_resume
from ..trainer import Diverged, Trainer, load_experiment_data
from ..warmup import compile_kernels
from .lines import read_records
from .messages import (
    Command,
    LrChanged,
    Pause,
    Progress,
    Record,
    Reinit,
    Resume,
    RunStarted,
    Save,
    Saved,
    ScaleLr,
    ShowView,
    Step,
)
from .sink import RecordQueue, SessionSink

SOURCE = "train"  # the `source` of the app's own run
IDLE_SECONDS = 0.1  # an idle loop looks at its commands and `stopped` this often


@dataclass(frozen=True)
class Launch:
    """What to train and how: everything a `SingleRun` needs, picklable for the child.

    Args:
        experiment: what to train.
        runs_root: folder for the run directory (None writes none).
        data_dir: folder with downloaded datasets (mnist...).
        throttle: seconds to sleep between steps (tests: leave the CPU idle).
        start_paused: wait for Resume or Step before the first step.
        resume: a run directory to continue from its checkpoint instead (then `experiment`
            is the one it holds).
        threads: the threads it trains on.
    """

    experiment: Experiment
    runs_root: str | None = "runs"
    data_dir: str | None = None
    throttle: float = 0.0
    start_paused: bool = True
    resume: str | None = None
    threads: int = 1


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
    stage = pretraining.stage  # read once: the training thread moves it on
    if stage >= len(pretraining.stages):
        return None
    layer = trainer.model.layers[pretraining.stages[stage]]
    epoch = pretraining.epoch + pretraining.batch / pretraining.steps_per_epoch
    return layer.name, f"{epoch:.2f}", layer.pretrain_epochs


class SingleRun:
    """The loop of one run (see the module). `submit` may be called from any thread; `run`
    is the training thread's body; `progress()` reads what only that thread writes."""

    def __init__(self, launch: Launch, records: RecordQueue) -> None:
        self.launch = launch
        self.records = records
        self.experiment = launch.experiment
        self.commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._wake = threading.Event()
        self.applied = 0  # commands applied so far
        self.running = not launch.start_paused  # train continuously (else wait for commands)
        self._steps_wanted = 0
        self.state = "starting"
        self.compiling: tuple[int, int] | None = None  # (passes done, in all) while compiling
        self._report: Callable[[], None] | None = None  # the view's `between`
        self.trainer: Trainer | None = None
        self.writer: RunWriter | None = None
        self.sink: SessionSink | None = None
        self.dataset = None

    def submit(self, command: Command) -> None:
        """Queue `command`; the loop applies it before its next step (at once when idle)."""
        self.commands.put(command)
        self._wake.set()

    def wake(self) -> None:
        """Make an idle loop go round now (it looks at `stopped`)."""
        self._wake.set()

    def progress(self) -> Progress | None:
        """Where the run stands (None before its trainer is built). `running` and `pending`
        are the loop's own: a session adds what it sent but the loop has not yet seen."""
        trainer = self.trainer
        if trainer is None:
            if self.compiling is None:
                return None
            return Progress(state="compiling", running=self.running, compiling=self.compiling)
        done, total = training_progress(trainer)
        return Progress(
            state=self.state,
            running=self.running,
            epoch=trainer.epoch + trainer.batch / trainer.steps_per_epoch,
            epochs=trainer.epochs,
            step=trainer.step_count,
            done=done,
            total=total,
            lr=trainer.optimizer.lr,
            batch_size=trainer.batch_size,
            pretraining=pretraining_stage(trainer),
            elapsed=trainer.elapsed,
        )

    # ---- the training thread ----
    def _start(self) -> None:
        """A new trainer (and run directory) from the experiment, or, the first time with
        `launch.resume`, the run in that directory continued where its checkpoint stopped
        (its lines so far replayed, so the curves go on). A re-init keeps the user's pick of
        filters and probe input."""
        previous = self.sink.probe if self.sink is not None else None
        replay: list[Record] = []
        if self.launch.resume is not None and self.trainer is None:
            trainer, self.writer = open_for_resume(self.launch.resume, self.launch.data_dir)
            self.experiment, self.dataset = trainer.experiment, trainer.dataset
            replay = read_records(self.writer.run_dir / METRICS, SOURCE)
        else:
            if self.dataset is None:
                self.dataset = load_experiment_data(self.experiment, self.launch.data_dir)
            self.writer = None
            if self.launch.runs_root is not None:
                run_dir = new_run_dir(self.launch.runs_root, self.experiment.name)
                self.writer = RunWriter(run_dir)
            callbacks = [self.writer] if self.writer is not None else []
            trainer = Trainer(self.experiment, dataset=self.dataset, callbacks=callbacks)
        probe = Probe(self.dataset)
        if previous is not None:
            probe.conv, probe.input = previous.conv, previous.input
        self.sink = SessionSink(self.records, SOURCE, probe)
        trainer.callbacks.append(self.sink)
        self.state = "compiling"
        compile_kernels(trainer, self._compiled)
        self.compiling = None
        trainer.begin()
        self.records.put(
            RunStarted(
                SOURCE,
                run_dir=str(self.writer.run_dir) if self.writer else None,
                layers=[name for name, layer in trainer.model.named_layers() if layer.params],
                steps_per_epoch=trainer.steps_per_epoch,
                epochs=trainer.epochs,
                batch_size=trainer.batch_size,
                lr=trainer.optimizer.lr,
                seed=self.experiment.seed,
            )
        )
        for record in replay:
            self.records.put(record)
        self.sink.maybe_probe(trainer, force=True)
        self.trainer = trainer

    def _apply(self, command: Command) -> None:
        trainer = self.trainer
        match command:
            case Pause():
                self.running = False
            case Resume():
                self.running = True
            case Step():
                self.running = False
                self._steps_wanted += 1
            case ScaleLr(factor=factor):
                trainer.optimizer.lr = trainer.optimizer.lr * factor
                self.records.put(LrChanged(SOURCE, trainer.optimizer.lr))
            case Save(path=path):
                if path is None:
                    folder = self.writer.run_dir if self.writer is not None else Path()
                    path = str(folder / "checkpoint.npz")
                save_checkpoint(path, trainer.model, trainer.optimizer, trainer.state_dict())
                self.records.put(Saved(SOURCE, path))
            case ShowView() as view:
                self.sink.probe.choose(view)
                self.sink.maybe_probe(trainer, force=True)
            case Reinit():
                trainer.finish()  # interrupted, unless it had ended already
                # the current learning rate, and a new seed: other weights, another batch order
                keep = [
                    f"optimizer.lr={trainer.optimizer.lr!r}",
                    f"seed={self.experiment.seed + 1}",
                ]
                self.experiment = self.experiment.with_overrides(keep)
                self._start()
                self.state = "running" if self.running else "paused"
        self.applied += 1

    def _compiled(self, done: int, total: int) -> None:
        self.compiling = (done, total)
        if self._report is not None:
            self._report()

    def run(
        self,
        stopped: Callable[[], bool],
        priority=None,
        between: Callable[[], None] | None = None,
    ) -> None:
        """Train until `stopped()` (an ended run waits for commands such as Reinit); between
        steps, hold still while `priority` (a `UiPriority`) is busy, apply the commands, and
        call `between` (at least every IDLE_SECONDS while idle, or at once when woken, and
        while the kernels compile)."""
        self._report = between
        cores.use(self.launch.threads)
        self._start()
        try:
            while not stopped():
                if priority is not None:
                    priority.wait()
                while True:
                    try:
                        command = self.commands.get_nowait()
                    except queue.Empty:
                        break
                    self._apply(command)
                trainer = self.trainer
                ended = trainer.status is not None
                idle = ended or not (self.running or self._steps_wanted)
                if not ended:  # set before `between` reports it: a Step shows as stepping
                    self.state = "paused" if idle else "running" if self.running else "stepping"
                if between is not None:
                    between()
                if idle:
                    trainer.pause_clock()  # idle time is not training time
                    self._wake.wait(IDLE_SECONDS)
                    self._wake.clear()
                    continue
                trainer.resume_clock()
                self._train_one(trainer)
                if self.launch.throttle:
                    time.sleep(self.launch.throttle)
        finally:
            if self.trainer is not None:
                self.trainer.finish()  # interrupted, unless it had ended already

    def _train_one(self, trainer: Trainer) -> None:
        """One step; at the run's end (or divergence) close it and say so."""
        try:
            trainer.advance()
        except Diverged as error:
            trainer.finish("diverged", diverged_at_step=error.step, message=str(error))
        else:
            forced = self._steps_wanted > 0
            self._steps_wanted -= forced
            self.sink.maybe_probe(trainer, force=forced)
            if trainer.reached() or trainer.stop_requested:
                trainer.finish()
        if trainer.status is not None:
            self.state = trainer.status
            self.running = False


def with_pending(progress: Progress | None, running: bool, pending: bool) -> Progress | None:
    """`progress` as a session reports it: the view's last word on running while commands
    are pending."""
    if progress is None:
        return None
    return replace(progress, running=running if pending else progress.running, pending=pending)
