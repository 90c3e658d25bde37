"""`TuidlApp`: build a network, watch it learn, race variants.

The app holds sessions (`tuidl.session`), never a trainer: the train screen's (a run in a
child process, what `tuidl` uses, or in a thread for tests; or, for `tuidl view`, run
directories followed as they grow) and the compare screen's race. A 4 Hz timer drains them,
hands the typed records to the screen that shows them (`_hand_over`, the one place that
switches on a record's type) and refreshes the status line; the panels are redrawn every
1-3 s, or at once when no trainer is running (finished, paused, stepped) or a run restarts.
Keys send commands (`Pause`, `ScaleLr(2.0)`...) to the sessions.
`make_app(...)` is the factory `tuidl` and the tests share.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from pathlib import Path
from typing import Any

from textual import events, on
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches

from ..experiment import Experiment
from ..presets import DEFAULT_PRESET, preset
from ..session.base import Session
from ..session.child import ProcessSession
from ..session.compare import CompareSession
from ..session.follow import FollowSession, run_dirs_in
from ..session.messages import (
    AlertRaised,
    ConfusionMeasured,
    EpochEnded,
    Failed,
    LrChanged,
    Pause,
    PretrainEpochEnded,
    ProbeTaken,
    Progress,
    Record,
    RunEnded,
    RunStarted,
    Saved,
    StepLogged,
)
from ..session.priority import UiPriority
from ..session.run import Launch
from ..session.sweepwatch import SweepWatch
from ..session.thread import ThreadSession
from ..variants import Variant
from .controls import SessionControls
from .messages import ExperimentAccepted
from .pacing import TICK_SECONDS, PanelPacer
from .screens.build import BuildScreen
from .screens.compare import CompareScreen
from .screens.help import ConfirmScreen, HelpScreen
from .screens.records import RecordView
from .screens.train import TrainScreen
from .screenshots import Screenshots
from .status import StatusReport
from .sweepmode import SweepMode
from .widgets import lessoncard
from .widgets.statusline import Status, StatusLine

COMMAND_RECHECK = 0.005  # a key's command not yet applied by the trainer: look again this soon
TOAST_DELAY = 0.05
TRAINING_STATES = ("starting", "compiling", "running", "stepping")


class TuidlApp(SessionControls, SweepMode, Screenshots, App):
    """The interactive lab. See `make_app` for the arguments."""

    CSS_PATH = "tuidl.tcss"
    TITLE = "tuidl"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (44, "-tall")]
    BINDINGS = [
        Binding("question_mark", "help", "help"),
        Binding("q", "quit_app", "quit"),
        Binding("b", "show('build')", "build"),
        Binding("t", "show('train')", "train"),
        Binding("c", "show('compare')", "compare"),
        Binding("S", "screenshot", "screenshot (SVG)", show=False),
        Binding(lessoncard.KEY, "lesson", "lesson card", show=False),
        Binding("v", "show_sweep", "the sweep", show=False),
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
        train_in: str = "process",
        lesson_card: bool = False,
        sweep: SweepWatch | None = None,
        threads: int = 1,
    ) -> None:
        super().__init__()
        self.threads = threads
        self.lesson_card = lesson_card
        self.sweep = sweep
        self.train_in = train_in
        self.experiment = experiment
        self.view_dirs = view_dirs
        self.runs_root = runs_root
        self.data_dir = data_dir
        self.throttle = throttle
        self.autostart = autostart
        self.start_screen = start_screen
        self.clock = clock
        self.session: Session | None = None  # the train screen's: a run, or followed runs
        self.race: CompareSession | None = None  # the compare screen's
        self._retiring: list[threading.Thread] = []  # replaced sessions saving their runs
        self.train_screen = TrainScreen()
        self.build_screen = BuildScreen(data_dir=data_dir)
        self.compare_screen = CompareScreen()
        self.report = StatusReport()
        self._pending: list[tuple[RecordView, list[Record]]] = []  # drained, not yet shown
        self._undrawn = False  # the screens got records since their last redraw
        self.pacer = PanelPacer()
        self._rechecks = 0
        self._recheck_timer = None
        self._status_widget: StatusLine | None = None
        self._refrozen = False
        self.priority = UiPriority()  # the training threads hold still while a key is handled
        self._in_key = False  # a key's bindings are running (commands tick then)

    @property
    def following(self) -> bool:
        """`tuidl view`: the train screen shows runs trained elsewhere (no training keys)."""
        return self.view_dirs is not None

    def on_mount(self) -> None:
        # a GIL-bound trainer thread (small numpy ops) otherwise holds the UI up to 5 ms per
        # switch; 1 ms cut key latency 3x at no measured throughput cost
        sys.setswitchinterval(0.001)
        self.install_screen(self.train_screen, "train")
        self.install_screen(self.build_screen, "build")
        self.install_screen(self.compare_screen, "compare")
        if self.sweep is not None:
            self.open_sweep()  # the train screen waits for a trial to follow
        else:
            self.push_screen("train")  # composed first: records arrive there from the start
        if self.view_dirs is None and self.start_screen != "train":
            self.switch_screen(self.start_screen)
        if self.view_dirs is not None and self.sweep is None:
            self.session = FollowSession(self.view_dirs)
            self.session.start()
        elif self.experiment is not None:
            self.build_screen.load_experiment(self.experiment)
            self.start_training(self.experiment, paused=not self.autostart)
            if self.lesson_card:
                lessoncard.show_card(self.screen, self.experiment)
        self.set_interval(TICK_SECONDS, self._timer_tick)
        # The screens' objects (tens of thousands, alive for the whole session) made each full
        # garbage collection take 50-80 ms, holding the GIL: a stalled frame or key. Frozen
        # once composed, they are no longer scanned; what training and drawing allocate is.
        self.call_after_refresh(gc.freeze)

    def on_unmount(self) -> None:
        for session in (self.session, self.race):
            if session is not None:
                session.close()
        for thread in self._retiring:
            thread.join()

    # ---- sessions ----
    def _retire(self, session: Session | None) -> None:
        """Close a replaced session off the UI thread (its run saves a final checkpoint)."""
        if session is not None:
            thread = threading.Thread(target=session.close, name="tuidl-close", daemon=True)
            thread.start()
            self._retiring.append(thread)

    def start_training(
        self, experiment: Experiment, paused: bool = True, resume: str | None = None
    ) -> None:
        """Train `experiment` in a child process or a thread, per `train_in` (replacing any
        run in progress); with `resume`, continue the run in that directory instead."""
        self.experiment = experiment
        launch = Launch(
            experiment,
            runs_root=None if self.runs_root is None else str(self.runs_root),
            data_dir=self.data_dir,
            throttle=self.throttle,
            start_paused=paused,
            resume=resume,
            threads=self.threads,
        )
        self._retire(self.session)
        if self.train_in == "process":
            self.session = ProcessSession(launch)
        else:
            self.session = ThreadSession(launch, self.priority)
        self.report.restart()
        self.session.start()

    def start_compare(self, variants: list[Variant]) -> None:
        """Race `variants` (`tuidl.variants.plan_race`) in one worker thread."""
        progress = self.session.progress() if self.session is not None else None
        if progress is not None and progress.running:
            self.session.send(Pause())
        self._retire(self.race)
        self.race = CompareSession(
            self.experiment.name,
            variants,
            runs_root=self.runs_root,
            data_dir=self.data_dir,
            throttle=self.throttle,
            priority=self.priority,
        )
        self.race.start()

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
        if event.key != lessoncard.KEY:
            lessoncard.close_card(self.screen)
        self._in_key = True
        try:
            await super().on_event(event)
        finally:
            self._in_key = False
        self.call_after_refresh(self.call_after_refresh, self.priority.end)

    def action_lesson(self) -> None:
        """Show the experiment's lesson card, or close it."""
        if not lessoncard.close_card(self.screen):
            lessoncard.show_card(self.screen, self.experiment)

    @on(ExperimentAccepted)
    def _train_accepted(self, event: ExperimentAccepted) -> None:
        self.start_training(event.experiment, paused=False)
        self.switch_screen("train")

    # ---- the timer ----
    def _timer_tick(self) -> None:
        self.tick(self.pacer.due(time.monotonic(), self.priority.busy))

    def tick(self, forward: bool = True) -> None:
        """Drain the sessions, hand the records to their screens and refresh the status line;
        with `forward`, redraw the panels too (else they wait for the next tick that does).
        Called by a key's binding, it leaves the screens for later: the key's frame (status
        line) is then cheap. Records of a run that (re)started, or that no longer trains
        (finished, paused, stepped, diverged), are drawn in full at once: the final loss
        shows without waiting for the paced redraw."""
        status_line = self._status_line()
        if status_line is None:  # not composed yet, or shutting down
            return
        now = self.clock()
        for session, screen in (
            (self.session, self.train_screen),
            (self.race, self.compare_screen),
        ):
            records = session.drain() if session is not None else []
            if records:
                self._pending.append((screen, records))
        if not self._in_key:
            # every tick, not with the paced redraw: spiral-mlp's 2,500 step records a second
            # took 20-130 ms of UI thread in one go every 1-3 s, holding up keys meanwhile
            restarted = self._hand_over(now)
            settle = restarted or (self._undrawn and self._trainers_idle())
            if forward or settle:
                self._redraw(now, force=settle)
        status_line.show(self.status(now))
        self._recheck_commands()

    def _hand_over(self, now: float) -> bool:
        """The records drained so far to their screens (no drawing); True when a run
        (re)started. The one place that tells records apart by type. Step and epoch lines go
        over in one batch per run (spiral-mlp logs 2,500 steps and 500 epochs a second)."""
        batches, self._pending = self._pending, []
        restarted = False
        for screen, records in batches:
            self._undrawn = True
            lines: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
            for record in records:
                source = record.source
                match record:
                    case StepLogged(data=data):
                        lines.setdefault(source, ([], []))[0].append(data)
                    case EpochEnded(data=data):
                        lines.setdefault(source, ([], []))[1].append(data)
                    case RunStarted():
                        self._flush(screen, source, *lines.pop(source, ([], [])))  # old run's
                        screen.begin(record)
                        self.report.pretrain.pop(source, None)
                        if screen is self.train_screen:
                            self.report.run_dir, self.report.seed = record.run_dir, record.seed
                        restarted = True
                    case PretrainEpochEnded(data=data):
                        screen.add_pretrain(source, data)
                        self.report.pretrain[source] = data
                    case ProbeTaken():
                        screen.show_probe(record)
                    case ConfusionMeasured():
                        screen.show_confusion(record)
                    case AlertRaised():
                        screen.show_alert(record)
                    case LrChanged():
                        self.report.mark_lr(now)
                    case Saved(path=path):
                        self._toast(f"checkpoint saved: {path}")
                    case RunEnded(status="diverged", message=message):
                        self._alarm(message, f"{source} diverged")
                    case Failed(message=message):
                        self._alarm(message, f"{source} stopped")
            for source in list(lines):
                if lines[source][1] and not self._refrozen:
                    # one epoch in, numba has compiled what the run calls: its objects
                    # (~70 000) would make each full collection take ~40 ms
                    self._refrozen = True
                    gc.freeze()
                self._flush(screen, source, *lines.pop(source))
        return restarted

    def _flush(
        self, screen: RecordView, source: str, steps: list[dict], epochs: list[dict]
    ) -> None:
        """Step and epoch lines of run `source`, batched, to `screen`."""
        screen.add_steps(steps, source)
        screen.add_epochs(epochs, source)
        if steps or epochs:
            self.report.last[source] = max(steps[-1:] + epochs[-1:], key=lambda r: r["step"])

    def _alarm(self, message: str, title: str) -> None:
        self.notify(message, title=title, severity="error", timeout=10)

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

    def _progress(self) -> list[Progress]:
        sessions = [s for s in (self.session, self.race) if s is not None and not self.following]
        return [p for p in (s.progress() for s in sessions) if p is not None]

    def _trainers_idle(self) -> bool:
        """The app trains (not `tuidl view`) and no trainer is running: drawing costs nothing."""
        states = [progress.state for progress in self._progress()]
        return bool(states) and all(state not in TRAINING_STATES for state in states)

    def _redraw(self, now: float, force: bool = False) -> None:
        self._undrawn = False
        self.train_screen.redraw(now, force)
        if self.race is not None and self.compare_screen.is_mounted:
            self.compare_screen.redraw(now, self.race.progress(), force)

    def _recheck_commands(self) -> None:
        """A key queued a command (lr, step...) the trainer applies between two steps: tick
        again in COMMAND_RECHECK until it has (and once more), so its effect shows at once
        rather than at the next timer tick. At most 30 times in a row."""
        progress = self.session.progress() if self.session is not None else None
        pending = progress is not None and progress.pending
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
        if self.session is None:
            return Status(state="idle")
        loss = self.train_screen.smoothed_loss
        if self.following:
            first = next(iter(self.report.last), "")
            return self.report.following(self.session.progress(), loss(first))
        progress = self.session.progress()
        if progress is None:
            return Status(state="starting")
        return self.report.training(progress, now, loss("train"))

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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`tuidl view` has one screen, nothing to build or race: switching is off (and not
        listed); `v` goes back to a sweep's screen."""
        if action == "show_sweep":
            return self.sweep is not None
        return not (self.following and action == "show")

    def action_quit_app(self) -> None:
        if not any(progress.state == "running" for progress in self._progress()):
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
    train_in: str = "process",
    lesson_card: bool = False,
    sweep_dir: str | Path | None = None,
    threads: int = 1,
) -> TuidlApp:
    """The app on `experiment` (an Experiment, a preset name or .toml path; the default preset
    when None), or following `view_dirs` (run directories, or folders of them) for `tuidl
    view`.

    Args:
        runs_root: where training writes run directories (None: write none).
        throttle: seconds slept between training steps (tests: keep the CPU idle).
        autostart: start training at once instead of paused.
        start_screen: `train` or `build`.
        clock: time source for rates (tests pass a fixed one).
        train_in: "process" (what `tuidl` uses: a child process, which shares no GIL with
            the UI) or "thread" (a thread of the app: a test can look at its trainer).
        lesson_card: show the experiment's lesson card at start (as `tuidl` does).
        sweep_dir: a sweep directory: the sweep screen (`tuidl view SWEEP_DIR`).
        threads: the threads training runs on (`tuidl` leaves one core to the screen).
    """
    if sweep_dir is not None:
        sweep = SweepWatch(sweep_dir)
        return TuidlApp(None, view_dirs=[], sweep=sweep, runs_root=None, clock=clock)
    if view_dirs is not None:
        return TuidlApp(None, view_dirs=run_dirs_in(view_dirs), runs_root=None, clock=clock)
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
        lesson_card=lesson_card,
        threads=threads,
    )
