"""`TuidlApp`: build a network, watch it learn, race optimizers.

The app owns the training loop (`bridge.TrainingLoop`; `tuidl` runs it in a child process,
`process.TrainingProcess`, whose reports a worker thread relays), the compare loop (a worker
thread) or, for `tuidl view`, a poll thread tailing run directories; all fill one
`MetricsBuffer` that a 4 Hz timer drains into the status line and the screens; the panels
are redrawn every 1-3 s, or at once when no trainer is running (finished, paused, stepped)
or a run restarts.
`make_app(...)` is the factory `tuidl` and the tests share.
"""

from __future__ import annotations

import gc
import math
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from textual import events, on, work
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.worker import Worker, WorkerState, get_current_worker

from ..experiment import Experiment
from ..presets import DEFAULT_PRESET, preset
from .bridge import CompareLoop, MetricsBuffer, RunTail, TrainingLoop
from .charts import short
from .messages import ExperimentAccepted, TrainingFailed
from .priority import UiPriority
from .process import TrainingProcess
from .screens.build import BuildScreen
from .screens.compare import CompareScreen
from .screens.help import ConfirmScreen, HelpScreen
from .screens.train import TrainScreen
from .widgets.statusline import Status, StatusLine

TICK_SECONDS = 0.25  # the status line: each repaint costs ~1.5 ms of UI thread at 160x48
# The panels are redrawn once a second, or less often while the UI thread uses more
# than UI_BUDGET of a core: a frame that repaints them costs it 20-45 ms at 160x48 (Textual's
# compositor, mostly), time a trainer thread sharing the GIL (compare) loses, and a trainer
# process too where it has no core of its own (benchmarks/bench_app.py).
FORWARD_SECONDS = 1.0
FORWARD_MAX_SECONDS = 3.0
UI_BUDGET = 0.04  # share of a core; measured: 6% at 1 s (160x48, spiral-mlp), 4% at ~2 s
COMMAND_RECHECK = 0.005  # a key's command not yet applied by the trainer: look again this soon
TOAST_DELAY = 0.05
RATE_WINDOW = 2.0  # seconds of history for samples/s
# A new learning rate is marked in the status line this long. Not a toast: mounting one and
# removing it re-lays out the whole screen (measured 40-60 ms of UI thread at 160x48), which
# held up the keys pressed meanwhile: + and - reached 150-310 ms at worst, 'a' 170 ms.
LR_MARK_SECONDS = 2.0


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
        train_in: str = "thread",
    ) -> None:
        super().__init__()
        self.train_in = train_in
        self.experiment = experiment
        self.view_dirs = view_dirs
        self.runs_root = runs_root
        self.data_dir = data_dir
        self.throttle = throttle
        self.autostart = autostart
        self.start_screen = start_screen
        self.clock = clock
        self.buffer = MetricsBuffer()
        self.loop: TrainingLoop | TrainingProcess | None = None
        self.compare_loop: CompareLoop | None = None
        self.tail: RunTail | None = None
        self.train_screen = TrainScreen()
        self.build_screen = BuildScreen(data_dir=data_dir)
        self.compare_screen = CompareScreen()
        self._rates: deque[tuple[float, int]] = deque()
        self._info: dict[str, Any] = {}
        self._last: dict[str, Any] = {}
        self._lr_marked_until = -math.inf
        self._pretrain: dict[str, Any] = {}  # the latest `pretrain` record of each run
        self._pending: list[tuple[str, dict[str, Any]]] = []  # drained, not yet in the screens
        self._undrawn = False  # the screens got records since their last redraw
        self._forwarded = -math.inf
        self._forward_every = FORWARD_SECONDS
        self._cpu_mark: tuple[float, float] | None = None  # (monotonic, UI CPU) at a forward
        self._rechecks = 0
        self._recheck_timer = None
        self._status_widget: StatusLine | None = None
        self._refrozen = False
        self.priority = UiPriority()  # the training threads hold still while a key is handled
        self._in_key = False  # a key's bindings are running (control() ticks then)

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
        self.set_interval(TICK_SECONDS, self._timer_tick)
        # The screens' objects (tens of thousands, alive for the whole session) made each full
        # garbage collection take 50-80 ms, holding the GIL: a stalled frame or key. Frozen
        # once composed, they are no longer scanned; what training and drawing allocate is.
        self.call_after_refresh(gc.freeze)

    def on_unmount(self) -> None:
        if self.tail is not None:
            self.tail.stop()

    # ---- training ----
    def start_training(self, experiment: Experiment, paused: bool = True) -> None:
        """Train `experiment` in a child process or a thread, per `train_in` (replacing any
        run in progress); a worker thread runs the loop or relays the child's reports."""
        self.experiment = experiment
        loop_class = TrainingProcess if self.train_in == "process" else TrainingLoop
        self.loop = loop_class(
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
    def _train(self, loop: TrainingLoop | TrainingProcess) -> None:
        worker = get_current_worker()
        loop.run(lambda: worker.is_cancelled, self.priority)

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
        loop.run(lambda: worker.is_cancelled, self.priority)

    async def on_event(self, event: events.Event) -> None:
        """Keys first: the training threads hold still from a key's arrival until the frame
        showing its effect is painted (see `UiPriority`)."""
        if not isinstance(event, events.Key):
            await super().on_event(event)
            return
        # A key reaches the app twice: from the driver, then bubbling back from the focused
        # widget, when the bindings run. Each time: hold the trainers, and let them go after
        # the next repaint (so at most one repaint for a key a widget keeps to itself).
        self.priority.begin()
        self._in_key = True
        try:
            await super().on_event(event)
        finally:
            self._in_key = False
        self.call_after_refresh(self.call_after_refresh, self.priority.end)

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
            loop.save()
        self.tick()

    # ---- the timer ----
    def _timer_tick(self) -> None:
        now = time.monotonic()
        due = now - self._forwarded >= self._forward_every - TICK_SECONDS / 2  # timers run late
        forward = due and not self.priority.busy
        if forward:
            self._forwarded = now
            self._pace_panels(now)
        self.tick(forward)

    def _pace_panels(self, now: float) -> None:
        """Slow the panels down (x1.25, to FORWARD_MAX_SECONDS) while the UI thread used more
        than UI_BUDGET of a core since the last forward; speed them up again below 3/4 of it."""
        cpu = time.thread_time()  # this (UI) thread's CPU seconds
        if self._cpu_mark is not None:
            share = (cpu - self._cpu_mark[1]) / max(now - self._cpu_mark[0], 1e-3)
            if share > UI_BUDGET:
                self._forward_every = min(FORWARD_MAX_SECONDS, self._forward_every * 1.25)
            elif share < 0.75 * UI_BUDGET:
                self._forward_every = max(FORWARD_SECONDS, self._forward_every / 1.25)
        self._cpu_mark = (now, cpu)

    def tick(self, forward: bool = True) -> None:
        """Drain the buffer, hand the records to the screens and refresh the status line; with
        `forward`, redraw the panels too (else they wait for the next tick that does). Called
        by a key's binding (`control`), it leaves the screens for later: the key's frame
        (status line) is then cheap. Records of a run that (re)started, or that no longer
        trains (finished, paused, stepped, diverged), are drawn in full at once: the final
        loss shows without waiting for the paced redraw."""
        status_line = self._status_line()
        if status_line is None:  # not composed yet, or shutting down
            return
        restarted = False
        now = self.clock()
        for source, record in self.buffer.drain():
            kind = record.get("kind")
            if kind == "begin":
                self._info = record
                self._pretrain.pop(source, None)
                restarted = True
            elif kind == "pretrain":
                self._pretrain[source] = record
            elif kind == "error":
                self.post_message(TrainingFailed(source, record["message"]))
            elif kind == "saved":
                self._toast(f"checkpoint saved: {record['path']}")
            elif kind == "lr":
                self._lr_marked_until = now + LR_MARK_SECONDS
            elif kind in ("step", "epoch"):
                self._last[source] = record
                if kind == "epoch" and not self._refrozen:
                    # one epoch in, numba has compiled what the run calls (train, evaluate):
                    # its objects (~70 000) would make each full collection take ~40 ms
                    self._refrozen = True
                    gc.freeze()
            self._pending.append((source, record))
        if not self._in_key:
            # every tick, not with the paced redraw: spiral-mlp's 2,500 step records a second
            # took 20-130 ms of UI thread in one go every 1-3 s, holding up keys meanwhile
            self._hand_over()
            settle = restarted or (self._undrawn and self._trainers_idle())
            if forward or settle:
                self._redraw(now, force=settle)
        status_line.show(self.status(now))
        self._recheck_commands()

    def _status_line(self) -> StatusLine | None:
        # kept, not queried each tick: a query walks the whole screen (~1 ms under training)
        widget = self._status_widget
        if widget is None or not widget.is_attached:
            try:
                widget = self.train_screen.query_one("#status", StatusLine)
            except NoMatches:
                widget = None
            self._status_widget = widget
        return widget

    def _toast(self, message: str) -> None:
        # a toast re-lays out the screen (10-15 ms at 160x48): show it a moment later, so the
        # status line's frame (the key's effect: new lr, step) is painted first
        self.set_timer(TOAST_DELAY, lambda: self.notify(message))

    def _trainers_idle(self) -> bool:
        """The app trains (not `tuidl view`) and no trainer is running: drawing costs nothing."""
        loops = [loop for loop in (self.loop, self.compare_loop) if loop is not None]
        return bool(loops) and all(loop.state != "running" for loop in loops)

    def _hand_over(self) -> None:
        """The records drained so far to the screens that show them (no drawing)."""
        items, self._pending = self._pending, []
        self._undrawn = self._undrawn or bool(items)
        by_source: dict[str, list[dict[str, Any]]] = {}
        for source, record in items:
            if record.get("kind") == "begin":
                self.train_screen.begin(source, record)
            else:
                by_source.setdefault(source, []).append(record)
        compare_labels = set(self.compare_loop.status) if self.compare_loop else set()
        for source, records in by_source.items():
            if source in compare_labels:
                self.compare_screen.add_records(source, records)
            else:
                self.train_screen.add_records(source, records)

    def _redraw(self, now: float, force: bool = False) -> None:
        self._undrawn = False
        self.train_screen.redraw(now, force)
        if self.compare_loop is not None and self.compare_screen.is_mounted:
            self.compare_screen.redraw(now, self.compare_loop, force)

    def _recheck_commands(self) -> None:
        """A key queued a command (lr, step...) the trainer applies between two steps: tick
        again in COMMAND_RECHECK until it has (and once more), so its effect shows at once
        rather than at the next timer tick. At most 30 times in a row."""
        loop = self.loop
        pending = loop is not None and loop.pending
        if self._recheck_timer is not None or not (pending or self._rechecks):
            return
        if self._rechecks >= 30:
            self._rechecks = 0
            return
        self._rechecks = self._rechecks + 1 if pending else 0

        def recheck() -> None:
            self._recheck_timer = None
            self.tick(forward=False)

        self._recheck_timer = self.set_timer(COMMAND_RECHECK, recheck)

    def status(self, now: float) -> Status:
        loop = self.loop
        progress = loop.progress() if loop is not None else None
        if progress is not None:
            done, running = progress["done"], progress["state"] == "running"
            self._rates.append((now, done))
            while len(self._rates) > 2 and now - self._rates[0][0] > RATE_WINDOW:
                self._rates.popleft()
            t0, s0 = self._rates[0]
            steps_per_s = (done - s0) / (now - t0) if now > t0 and done >= s0 else 0.0
            if done < s0:
                self._rates.clear()
            eta = (progress["total"] - done) / steps_per_s if steps_per_s > 0 else math.nan
            return Status(
                state=progress["state"],
                epoch=progress["epoch"],
                epochs=progress["epochs"],
                step=progress["step"],
                samples_per_s=steps_per_s * progress["batch_size"] if running else 0,
                eta_s=eta if running else math.nan,  # one NaN: no false change
                lr=progress["lr"],
                lr_marked=now < self._lr_marked_until,
                loss=self.train_screen.smoothed_loss("train"),
                pretraining=pretraining_text(progress["pretraining"], self._pretrain.get("train")),
                note=f"→ {self._info.get('run_dir')}" if self._info.get("run_dir") else "",
            )
        if self.view_dirs is not None:
            last = next(iter(self._last.values()), {})
            pretrain = next(iter(self._pretrain.values()), None) if not last else None
            stage = (
                (pretrain["layer"], str(pretrain["epoch"]), pretrain["epochs"])
                if pretrain
                else None
            )
            return Status(
                state="following",
                epoch=float(last.get("epoch", 0.0)),
                step=int(last.get("step", 0)),
                lr=last.get("lr"),
                loss=self.train_screen.smoothed_loss(next(iter(self._last), "")),
                pretraining=pretraining_text(stage, pretrain),
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


def pretraining_text(stage: tuple[str, str, int] | None, record: dict[str, Any] | None) -> str:
    """`pretraining rbm_0 epoch 1.40/5 · recon 0.041` while rbm layers pretrain: `stage` is
    (layer, epoch text, its epochs) (`bridge.pretraining_stage`), None once they are done;
    the error comes from `record`, the latest `pretrain` record, if it is that layer's."""
    if stage is None:
        return ""
    name, epoch, epochs = stage
    recon = ""
    if record is not None and record["layer"] == name:
        recon = f" · recon {short(record['recon_error'])}"
    return f"pretraining {name} epoch {epoch}/{epochs}{recon}"


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
    train_in: str = "thread",
) -> TuidlApp:
    """The app on `experiment` (an Experiment, a preset name or .toml path; the default preset
    when None), or following `view_dirs` (run directories) for `tuidl view`.

    Args:
        runs_root: where training writes run directories (None: write none).
        throttle: seconds slept between training steps (tests: keep the CPU idle).
        autostart: start training at once instead of paused.
        start_screen: `train` or `build`.
        clock: time source for rates (tests pass a fixed one).
        train_in: "process" (what `tuidl` uses: a child process, which shares no GIL with
            the UI) or "thread" (a worker thread of the app: tests read its trainer).
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
        train_in=train_in,
    )
