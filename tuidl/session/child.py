"""`ProcessSession`: a `SingleRun` in a child process, what `tuidl` users get.

No Textual here. A small network (spiral-mlp) trains in Python code that holds the GIL between
its numpy and numba calls; in a thread of the app it lost 14-22% of its steps to the UI
thread's GIL hand-offs. In a child process it has an interpreter and a core of its own.

Over one socket pair, the parent sends the `Launch`, then the commands as they are; the child
sends `Report`s (the records drained from its queue, its progress and how many commands it
has applied) every SEND_SECONDS, or at once after a command or a change of state, and one
`ChildFailed` if it cannot go on. A relay thread in the parent puts the records into the
session's queue as they come, so the child never waits for the view. Shutting down the
parent's writing side tells the child to stop: it closes its run (final checkpoint) and exits.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection

from .base import failure_message, wanted_running
from .messages import Command, Failed, Progress, Record
from .run import SOURCE, Launch, SingleRun, with_pending
from .sink import RecordQueue

SEND_SECONDS = 0.05  # the child reports at most this often while training (the UI ticks at 4 Hz)
JOIN_SECONDS = 5.0  # a stopped child gets this long to save its final checkpoint
# The child runs this much nicer than the app. Where its threads fill every core (--threads 2
# on 2 cores) the screen and the terminal then get a core as soon as they wake, and keep it
# for their short bursts: on 2 cores, 2 training threads, mnist-lenet's lr key went from p90
# 106-118 ms to 43-65 ms (benchmarks/bench_app.py). Throughput, app over headless: mnist-lenet
# 92-93 %, digits-cnn 83-94 % in four runs (89-92 % at nice 0, 82 % at 10; blocks move ±10 %).
NICE = 5
# -P: the child must import the installed tuidl, never a `tuidl/` folder in the user's
# working directory (a checkout beside a non-editable install, say)
CHILD = "import sys; from tuidl.session.child import child_main; child_main(int(sys.argv[1]))"
STOPPED = "the training process is stopped (SIGSTOP); kill -CONT it to go on"


@dataclass(frozen=True)
class Report:
    """From the child: records since the last report, its progress, commands applied."""

    records: list[Record]
    progress: Progress | None
    applied: int


@dataclass(frozen=True)
class ChildFailed:
    """From the child: it could not go on (one line saying why)."""

    message: str


class ProcessSession:
    """A `Session` training `launch` in a child process (see the module)."""

    def __init__(self, launch: Launch) -> None:
        self.launch = launch
        self.records = RecordQueue()
        self.process: subprocess.Popen | None = None
        self._progress: Progress | None = None
        self._running = not launch.start_paused
        self._sent = self._applied = 0
        ours, self._child_socket = socket.socketpair()
        self._conn = Connection(ours.detach())
        self._lock = threading.Lock()  # sends come from the view's thread and from `close`
        self._closing = False
        self._ended: tuple[str, str] | None = None  # (died or failed, why), if it ended unasked
        self._relay = threading.Thread(target=self._relay_reports, name="tuidl-relay", daemon=True)

    def start(self) -> None:
        # a plain child rather than multiprocessing's: that one passes the app's stderr, which
        # Textual has replaced (no usable fd), and re-imports the parent's __main__
        fd = self._child_socket.fileno()
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-c", CHILD, str(fd)],
            pass_fds=[fd],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # the terminal belongs to the app
            stderr=subprocess.DEVNULL,
        )
        self._child_socket.close()
        self._conn.send(self.launch)
        self._relay.start()

    def send(self, command: Command) -> None:
        with self._lock:
            self._sent += 1
            self._running = wanted_running(command, self._running)
            try:
                self._conn.send(command)
            except OSError:  # the child is gone: the relay thread reports why
                pass

    def drain(self) -> list[Record]:
        return self.records.drain()

    def progress(self) -> Progress | None:
        """The child's last report; `died` once it is gone, `stopped` while it is suspended
        (SIGSTOP: it cannot report, so this asks the system)."""
        progress = with_pending(self._progress, self._running, self._applied < self._sent)
        if self._ended is not None:
            state, message = self._ended
            return replace(progress or Progress(state), state=state, running=False,
                           pending=False, message=message)  # fmt: skip
        if progress is not None and self._suspended():
            return replace(progress, state="stopped", message=STOPPED)
        return progress

    def _suspended(self) -> bool:
        try:
            with open(f"/proc/{self.process.pid}/stat", "rb") as file:
                return file.read().rsplit(b")", 1)[1].split()[0] in (b"T", b"t")
        except (OSError, IndexError, AttributeError):
            return False

    def close(self) -> None:
        """Tell the child to stop, give it JOIN_SECONDS to save, then kill it."""
        if self._closing or self.process is None:
            return
        self._closing = True
        with self._lock:
            try:  # the child reads end-of-file: its signal to stop
                with socket.fromfd(self._conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        try:
            self.process.wait(JOIN_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._relay.join(JOIN_SECONDS)
        self._conn.close()

    def _relay_reports(self) -> None:
        """The relay thread: the child's reports into the queue, until it closes."""
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                if not (self._closing or self._ended):
                    code = self.process.wait()
                    self._ended = ("died", f"the training process died (exit code {code})")
                    self.records.put(Failed(SOURCE, self._ended[1]))
                return
            if isinstance(message, ChildFailed):
                self._ended = ("failed", message.message)
                self.records.put(Failed(SOURCE, message.message))
                continue
            self._progress = message.progress  # first: the status is never older than records
            self._applied = message.applied
            for record in message.records:
                self.records.put(record)


class _Reporter:
    """In the child, between steps: report when SEND_SECONDS have passed, or at once when
    a command was applied or the state changed."""

    def __init__(self, conn: Connection, run: SingleRun, records: RecordQueue) -> None:
        self.conn, self.run, self.records = conn, run, records
        self._sent_at = -1.0
        self._last: tuple[str, int] = ("", -1)  # state and applied count last reported
        self._last_progress: Progress | None = None

    def __call__(self) -> None:
        now = time.monotonic()
        mark = (self.run.state, self.run.applied)
        if mark == self._last and now - self._sent_at < SEND_SECONDS:
            return
        records = self.records.drain()
        progress = self.run.progress()
        if records or progress != self._last_progress or mark != self._last:
            self.conn.send(Report(records, progress, mark[1]))
            self._last_progress = progress
        self._last, self._sent_at = mark, now


def child_main(fd: int) -> None:
    """The child: FD is its end of the socket pair."""
    if hasattr(os, "nice"):
        os.nice(NICE)
    conn = Connection(fd)
    launch: Launch = conn.recv()
    records = RecordQueue()
    run = SingleRun(launch, records)
    stop = threading.Event()

    def read_commands() -> None:
        while True:
            try:
                command = conn.recv()
            except (EOFError, OSError):  # the parent closed: stop (an idle loop sees it at once)
                stop.set()
                run.wake()
                return
            run.submit(command)

    threading.Thread(target=read_commands, name="commands", daemon=True).start()
    try:
        run.run(stop.is_set, between=_Reporter(conn, run, records))
    except Exception as error:  # noqa: BLE001 - every failure goes to the parent as one line
        try:
            conn.send(ChildFailed(failure_message(error)))
        except OSError:
            pass
