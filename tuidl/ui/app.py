"""`TuidlApp`: build a network, watch it learn, race optimizers.

The app owns the training loop (`bridge.TrainingLoop`, run in a thread worker) or, for
`tuidl view`, a poll thread tailing run directories; both fill one `MetricsBuffer` that a
10 Hz timer drains into the screens. `make_app(...)` is the factory `tuidl` and the tests share.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState, get_current_worker

from ..experiment import Experiment
from ..presets import DEFAULT_PRESET, preset
from .bridge import CompareLoop, MetricsBuffer, RunTail, TrainingLoop
from .messages import ExperimentAccepted, TrainingFailed
from .screens.build import BuildScreen
from .screens.compare import CompareScreen
from .screens.help import ConfirmScreen, HelpScreen
from .screens.train import TrainScreen
from .widgets.statusline import Status

TICK_SECONDS = 0.1
RATE_WINDOW = 2.0  # seconds of history for samples/s


class TuidlApp(App):
    """The interactive lab. See `make_app` for the arguments."""

    CSS_PATH = "tuidl.tcss"
    TITLE = "tuidl"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("question_mark", "help", "help"),
        Binding("q", "quit_app", "quit"),
        Binding("b", "show('build')", "build"),
        Binding("t", "show('train')", "train"),
        Binding("c", "show('compare')", "compare"),
    ]

    def __init__(
        self,
        experiment: Experiment | None = None,
        *,
        view_dirs: list[Path] | None = None,
        runs_root: str | Path | None = "runs",
        data_dir: str | None = None,
        throttle: float = 0.0,
        autostart: bool = False,
        start_screen: str = "train",
        clock=time.monotonic,
    ) -> None:
        super().__init__()
        self.experiment = experiment
        self.view_dirs = view_dirs
        self.runs_root = runs_root
        self.data_dir = data_dir
        self.throttle = throttle
        self.autostart = autostart
        self.start_screen = start_screen
        self.clock = clock
        self.buffer = MetricsBuffer()
        self.loop: TrainingLoop | None = None
        self.compare_loop: CompareLoop | None = None
        self.tail: RunTail | None = None
        self.train_screen = TrainScreen()
        self.build_screen = BuildScreen(data_dir=data_dir)
        self.compare_screen = CompareScreen()
        self._rates: deque[tuple[float, int]] = deque()
        self._info: dict[str, Any] = {}
        self._last: dict[str, Any] = {}

    def on_mount(self) -> None:
        # a GIL-bound trainer thread (small numpy ops) otherwise holds the UI up to 5 ms per
        # switch; 1 ms cut key latency 3x at no measured throughput cost (notes, section 1)
        sys.setswitchinterval(0.001)
        self.install_screen(self.train_screen, "train")
        self.install_screen(self.build_screen, "build")
        self.install_screen(self.compare_screen, "compare")
        self.push_screen("train")  # composed first: records arrive there from the start
        if self.view_dirs is None and self.start_screen != "train":
            self.switch_screen(self.start_screen)
        if self.view_dirs is not None:
            self.tail = RunTail(self.view_dirs, self.buffer)
            self.tail.poll()
            self.tail.start()
        elif self.experiment is not None:
            self.build_screen.load_experiment(self.experiment)
            self.start_training(self.experiment, paused=not self.autostart)
        self.set_interval(TICK_SECONDS, self.tick)

    def on_unmount(self) -> None:
        if self.tail is not None:
            self.tail.stop()

    # ---- training ----
    def start_training(self, experiment: Experiment, paused: bool = True) -> None:
        """Train `experiment` in a worker thread (replacing any run in progress)."""
        self.experiment = experiment
        self.loop = TrainingLoop(
            experiment,
            self.buffer,
            runs_root=self.runs_root,
            data_dir=self.data_dir,
            throttle=self.throttle,
            start_paused=paused,
        )
        self._rates.clear()
        self._train(self.loop)

    @work(thread=True, exclusive=True, group="train", exit_on_error=False)
    def _train(self, loop: TrainingLoop) -> None:
        worker = get_current_worker()
        loop.run(lambda: worker.is_cancelled)

    def start_compare(self, optimizers: list[tuple[str, dict[str, Any]]]) -> None:
        """Race `optimizers` on the current experiment in one worker thread."""
        dataset = self.loop.dataset if self.loop is not None else None
        if self.loop is not None and self.loop.running:
            self.loop.pause()
        self.compare_loop = CompareLoop(
            self.experiment,
            optimizers,
            self.buffer,
            dataset=dataset,
            runs_root=self.runs_root,
            throttle=self.throttle,
        )
        self._compare(self.compare_loop)

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def _compare(self, loop: CompareLoop) -> None:
        worker = get_current_worker()
        loop.run(lambda: worker.is_cancelled)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.post_message(TrainingFailed(event.worker.group, str(event.worker.error)))

    @on(TrainingFailed)
    def _show_failure(self, event: TrainingFailed) -> None:
        self.notify(event.message, title=f"{event.source} stopped", severity="error", timeout=10)

    @on(ExperimentAccepted)
    def _train_accepted(self, event: ExperimentAccepted) -> None:
        self.start_training(event.experiment, paused=False)
        self.switch_screen("train")

    def control(self, command: str, argument: Any = None) -> None:
        """A training control from a key: toggle, step, reinit, lr (factor), save, view
        ((conv steps, input steps): which filters and feature maps the probe shows)."""
        loop = self.loop
        if loop is None:
            self.notify("nothing is training here (tuidl view only watches)", severity="warning")
            return
        if command == "toggle":
            loop.toggle()
        elif command == "step":
            loop.step_once()
        elif command == "reinit":
            loop.reinit()
            self.notify("re-initialised: fresh weights from the seed, a new run directory")
        elif command == "lr":
            loop.set_lr_factor(argument)
        elif command == "view":
            loop.cycle_view(*argument)
        elif command == "save":
            if loop.writer is not None:
                path = loop.writer.run_dir / "checkpoint.npz"
            else:
                path = Path("checkpoint.npz")
            loop.save(path)
        self.tick()

    # ---- the 10 Hz timer ----
    def tick(self) -> None:
        """Drain the buffer into the screens and refresh the status line."""
        if not self.train_screen.query("#status"):  # not composed yet, or shutting down
            return
        items = self.buffer.drain()
        by_source: dict[str, list[dict[str, Any]]] = {}
        for source, record in items:
            kind = record.get("kind")
            if kind == "begin":
                self._info = record
                self.train_screen.begin(source, record)
                continue
            if kind == "error":
                self.post_message(TrainingFailed(source, record["message"]))
            elif kind == "saved":
                self.notify(f"checkpoint saved: {record['path']}")
            elif kind == "lr":
                self.notify(f"learning rate {record['lr']:.4g}")
            by_source.setdefault(source, []).append(record)
            if kind in ("step", "epoch"):
                self._last[source] = record
        compare_labels = set(self.compare_loop.status) if self.compare_loop else set()
        for source, records in by_source.items():
            if source in compare_labels:
                self.compare_screen.add_records(source, records)
            else:
                self.train_screen.add_records(source, records)
        now = self.clock()
        self.train_screen.redraw(now)
        self.train_screen.query_one("#status").show(self.status(now))
        if self.compare_loop is not None and self.compare_screen.is_mounted:
            self.compare_screen.redraw(now, self.compare_loop)

    def status(self, now: float) -> Status:
        loop = self.loop
        if loop is not None and loop.trainer is not None:
            trainer = loop.trainer
            step = trainer.step_count
            self._rates.append((now, step))
            while len(self._rates) > 2 and now - self._rates[0][0] > RATE_WINDOW:
                self._rates.popleft()
            t0, s0 = self._rates[0]
            steps_per_s = (step - s0) / (now - t0) if now > t0 and step >= s0 else 0.0
            if step < s0:
                self._rates.clear()
            total = trainer.epochs * trainer.steps_per_epoch
            eta = (total - step) / steps_per_s if steps_per_s > 0 else float("nan")
            return Status(
                state=loop.state,
                epoch=trainer.epoch + trainer.batch / trainer.steps_per_epoch,
                epochs=trainer.epochs,
                step=step,
                samples_per_s=steps_per_s * trainer.batch_size if loop.state == "running" else 0,
                eta_s=eta if loop.state == "running" else float("nan"),
                lr=trainer.optimizer.lr,
                loss=self.train_screen.smoothed_loss("train"),
                note=f"→ {self._info.get('run_dir')}" if self._info.get("run_dir") else "",
            )
        if self.view_dirs is not None:
            last = next(iter(self._last.values()), {})
            return Status(
                state="following",
                epoch=float(last.get("epoch", 0.0)),
                step=int(last.get("step", 0)),
                lr=last.get("lr"),
                loss=self.train_screen.smoothed_loss(next(iter(self._last), "")),
                note=", ".join(self.tail.labels) if self.tail else "",
            )
        return Status(state=loop.state if loop else "idle")

    # ---- navigation ----
    def action_show(self, name: str) -> None:
        if self.screen is self.get_screen(name):
            return
        if isinstance(self.screen, HelpScreen | ConfirmScreen):
            self.pop_screen()
        self.switch_screen(name)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_quit_app(self) -> None:
        training = (self.loop is not None and self.loop.state == "running") or (
            self.compare_loop is not None and self.compare_loop.state == "running"
        )
        if not training:
            self.exit(0)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit(0)

        self.push_screen(ConfirmScreen("Training is running. Quit? (y/n)"), answered)


def make_app(
    experiment: Experiment | str | None = None,
    *,
    view_dirs: list[str | Path] | None = None,
    runs_root: str | Path | None = "runs",
    data_dir: str | None = None,
    throttle: float = 0.0,
    autostart: bool = False,
    start_screen: str = "train",
    clock=time.monotonic,
) -> TuidlApp:
    """The app on `experiment` (an Experiment, a preset name or .toml path; the default preset
    when None), or following `view_dirs` (run directories) for `tuidl view`.

    Args:
        runs_root: where training writes run directories (None: write none).
        throttle: seconds slept between training steps (tests: keep the CPU idle).
        autostart: start training at once instead of paused.
        start_screen: `train` or `build`.
        clock: time source for rates (tests pass a fixed one).
    """
    if view_dirs is not None:
        return TuidlApp(None, view_dirs=[Path(d) for d in view_dirs], runs_root=None, clock=clock)
    if experiment is None:
        experiment = preset(DEFAULT_PRESET)
    elif isinstance(experiment, str):
        from ..presets import resolve_experiment

        experiment = resolve_experiment(experiment)
    return TuidlApp(
        experiment,
        runs_root=runs_root,
        data_dir=data_dir,
        throttle=throttle,
        autostart=autostart,
        start_screen=start_screen,
        clock=clock,
    )
