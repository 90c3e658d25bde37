"""`TrainingProcess`: the app's training loop in a child process.

No Textual here. A small network (spiral-mlp) trains in Python code that holds the GIL between
its numpy and numba calls; in a thread of the app it lost 14-22% of its steps to the UI
thread's GIL hand-offs, though the UI used only ~4% of a core. In a child process it has a
core and an interpreter of its own.

The child runs the same `TrainingLoop` (same `Trainer`, same run directory) and, between
steps, sends what the UI needs over a pipe: the records drained from its buffer, `progress()`
and how many commands it has applied, every `SEND_SECONDS` or at once after a command. The
parent side offers `TrainingLoop`'s interface (`pause`, `resume`, `toggle`, `step_once`,
`set_lr_factor`, `reinit`, `save`, `cycle_view`, `state`, `running`, `pending`,
`progress()`); its `run()`, in the app's worker thread, starts the child and copies what
arrives into the app's `MetricsBuffer`.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..experiment import Experiment
from .bridge import MetricsBuffer, TrainingLoop

SEND_SECONDS = 0.05  # the child sends records at most this often (the UI ticks at 4 Hz)
POLL_SECONDS = 0.1  # the parent looks at `cancelled` at least this often
JOIN_SECONDS = 5.0  # a stopped child gets this long to save its final checkpoint


class TrainingProcess:
    """`TrainingLoop`'s interface, for a loop that runs in a child process (see the module).

    The arguments are `TrainingLoop`'s. A command is a message; `pending` is true until the
    child reports it applied. `state` and `running` follow the child's reports; `running`
    keeps the UI's own last word until the child has seen every command."""

    def __init__(
        self,
        experiment: Experiment,
        buffer: MetricsBuffer,
        runs_root: str | Path | None = "runs",
        data_dir: str | None = None,
        throttle: float = 0.0,
        start_paused: bool = True,
    ) -> None:
        self.buffer = buffer
        self.dataset = None  # the data lives in the child
        self.state = "paused" if start_paused else "running"
        self._running = not start_paused
        self._progress: dict[str, Any] | None = None
        self._sent = self._applied = 0
        ours, theirs = socket.socketpair()
        self._conn = Connection(ours.detach())
        self._child_socket = theirs
        # the first message: what to train (commands sent before the child starts queue up)
        self._conn.send((experiment, runs_root, data_dir, throttle, start_paused))
        self.process: subprocess.Popen | None = None
        self._lock = threading.Lock()  # sends come from the UI thread, `stop` from the worker

    # ---- called from the UI thread ----
    def _send(self, command: str, argument: Any = None) -> None:
        with self._lock:
            self._sent += 1
            try:
                self._conn.send((self._sent, command, argument))
            except (BrokenPipeError, OSError):  # the child is gone: `run` reports why
                pass

    def pause(self) -> None:
        self._running = False
        self._send("pause")

    def resume(self) -> None:
        self._running = True
        self._send("resume")

    def toggle(self) -> None:
        self.pause() if self._running else self.resume()

    @property
    def running(self) -> bool:
        return self._running

    @property
    def pending(self) -> bool:
        return self._applied < self._sent

    def progress(self) -> dict[str, Any] | None:
        return self._progress

    def step_once(self) -> None:
        self._running = False
        self._send("step")

    def set_lr_factor(self, factor: float) -> None:
        self._send("lr", factor)

    def reinit(self) -> None:
        self._send("reinit")

    def save(self, path: str | Path | None = None) -> None:
        self._send("save", None if path is None else str(path))

    def cycle_view(self, conv: int = 0, input: int = 0) -> None:
        self._send("view", (conv, input))

    # ---- the app's worker thread ----
    def run(self, cancelled: Callable[[], bool], ui=None) -> None:
        """Start the child and copy its reports into the buffer until `cancelled` (then stop
        it: it saves its final checkpoint) or it fails (raises RuntimeError with its error).
        `ui` is accepted for `TrainingLoop`'s signature: the child shares no GIL with it."""
        # a plain child rather than multiprocessing's: that one passes the app's stderr, which
        # Textual has replaced (no usable fd), and re-imports the parent's __main__
        fd = self._child_socket.fileno()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tuidl.ui.process", str(fd)],
            pass_fds=[fd],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # the terminal belongs to the app
            stderr=subprocess.DEVNULL,
        )
        self._child_socket.close()
        try:
            while not cancelled():
                if not self._conn.poll(POLL_SECONDS):
                    continue
                try:
                    message = self._conn.recv()
                except EOFError:
                    self._wait()
                    code = self.process.returncode
                    raise RuntimeError(f"the training process exited (exit code {code})") from None
                if message[0] == "failed":
                    raise RuntimeError(message[1])
                _, records, progress, applied, running = message
                self._progress = progress  # first: the status is never older than the records
                if progress is not None:
                    self.state = progress["state"]
                self._applied = applied
                if applied == self._sent:  # the child's word is the latest
                    self._running = running
                for record in records:
                    self.buffer.push("train", record)
        finally:
            self._stop()

    def _stop(self) -> None:
        self._send("stop")
        self._wait()
        self._conn.close()

    def _wait(self) -> None:
        """Give the child `JOIN_SECONDS` to end, then kill it."""
        try:
            self.process.wait(JOIN_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class _Sender:
    """In the child, between steps: send the buffer's records, the progress and the count
    of applied commands when `SEND_SECONDS` have passed, or at once after a command
    (`urgent`) or a change of state (paused, finished...)."""

    def __init__(self, conn: Connection, loop: TrainingLoop, buffer: MetricsBuffer) -> None:
        self.conn, self.loop, self.buffer = conn, loop, buffer
        self.received = 0  # commands the reader thread handed to the loop
        self.applied = 0  # ...and the loop has applied (all of them, when none is queued)
        self.urgent = False
        self._last_sent = -1.0
        self._last_state = ""
        self._last_progress: dict[str, Any] | None = None

    def __call__(self) -> None:
        now = time.monotonic()
        changed = self.urgent or self.loop.state != self._last_state
        if not changed and now - self._last_sent < SEND_SECONDS:
            return
        self.urgent = False  # cleared first: a command arriving from now on sets it again
        received = self.received  # read before `pending`: the loop applies in this thread
        if not self.loop.pending:
            self.applied = received
        records = self.buffer.drain()
        progress = self.loop.progress()
        if records or progress != self._last_progress or changed:
            self.conn.send(
                ("report", [r for _, r in records], progress, self.applied, self.loop.running)
            )
            self._last_progress = progress
        self._last_state = self.loop.state
        self._last_sent = now
        if self.loop.pending:  # report again as soon as the loop has applied it
            self.urgent = True


def _child_main(fd: int) -> None:
    """The child: `python -m tuidl.ui.process FD`, FD its end of the socket pair."""
    conn = Connection(fd)
    experiment, runs_root, data_dir, throttle, start_paused = conn.recv()
    buffer = MetricsBuffer()
    loop = TrainingLoop(
        experiment,
        buffer,
        runs_root=runs_root,
        data_dir=data_dir,
        throttle=throttle,
        start_paused=start_paused,
    )
    sender = _Sender(conn, loop, buffer)
    stop = threading.Event()

    def read_commands() -> None:
        actions: dict[str, Callable[[Any], None]] = {
            "pause": lambda _: loop.pause(),
            "resume": lambda _: loop.resume(),
            "step": lambda _: loop.step_once(),
            "lr": loop.set_lr_factor,
            "reinit": lambda _: loop.reinit(),
            "save": loop.save,
            "view": lambda pick: loop.cycle_view(*pick),
        }
        while True:
            try:
                seq, command, argument = conn.recv()
            except (EOFError, OSError):  # the app is gone
                command = "stop"
            if command == "stop":  # an idle loop sees it within 0.1 s
                stop.set()
                return
            actions[command](argument)
            sender.received = seq  # in this order: see `_Sender.__call__`
            sender.urgent = True
            loop.wake()  # an idle loop that applied the command before `urgent`: report now

    threading.Thread(target=read_commands, name="commands", daemon=True).start()
    try:
        loop.run(stop.is_set, between=sender)
    except Exception as error:  # noqa: BLE001 - every failure goes to the app as one line
        text = str(error) if isinstance(error, ConfigError) else f"{type(error).__name__}: {error}"
        try:
            conn.send(("failed", text))
        except OSError:
            pass


if __name__ == "__main__":
    _child_main(int(sys.argv[1]))
