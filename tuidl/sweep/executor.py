"""Runs on Dask distributed, for `tuidl sweep` and `tuidl compare`.

Without a scheduler address, a `LocalCluster` of worker processes (one thread each, so one
training run per process, as many as asked) starts with the command and stops with it. With
one (`tcp://HOST:PORT`, a `dask scheduler` started by hand), the runs go to that cluster's
workers, on this machine or others. Either way each run is a Dask task (`remote.train_trial`)
shipped as its experiment table; `remote.WorkerSetup` checks and warms every worker first.

The client writes every run directory (`mirror.RunMirror`) from what the workers send
through one `distributed.Queue`: `start` (a new attempt: its worker and config), `lines`
(metrics lines and progress), then the task's result (summary and checkpoint). A worker that
dies mid-run loses its task to another worker (Dask's `allowed-failures`); the new attempt's
`start` wipes the dead one's lines, and lines of any attempt but the latest are dropped, so a
directory holds exactly one attempt. All of a task's messages reach the queue before its
result exists (each `put` is a call the scheduler answers), so the queue is drained before a
result is written.

Ctrl-C (SIGINT) stops the runs: runs not started are cancelled, running ones are asked to stop
after their current step (a `distributed.Event` they poll) and end as `interrupted`, with their
checkpoint; a second Ctrl-C cancels them too. A cluster's workers keep running a cancelled
task to its end (Dask cannot stop a thread), hence the event.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any

from distributed import Client, Event, KilledWorker, LocalCluster, Queue

from ..errors import ConfigError
from ..experiment import Experiment
from .mirror import RunMirror
from .remote import WorkerSetup, train_trial

CONNECT_TIMEOUT_S = 5.0  # an address that does not answer in this time is no scheduler
POLL_S = 0.25  # how often the client looks for records and ended runs


@dataclass(frozen=True)
class Job:
    """One run to make: `key` names it among its siblings (its folder), `label` in messages."""

    key: str
    label: str
    experiment: Experiment
    run_dir: Path


@dataclass(frozen=True)
class Started:
    """A worker started the job (`attempt` 2 and on: an earlier worker died under it)."""

    job: Job
    worker: str
    attempt: int


@dataclass(frozen=True)
class Progress:
    """Where a running job stands: epochs done, steps, seconds training, best values so far."""

    job: Job
    epoch: int
    epochs: int
    step: int
    time: float
    best: dict[str, float]


@dataclass(frozen=True)
class Ended:
    """The job ended with `status` (the trainer's, or interrupted when it was cancelled before
    it ended: then its summary is empty and its folder, if any, incomplete)."""

    job: Job
    status: str
    worker: str | None
    attempts: int
    summary: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[Started | Progress | Ended], None]


@dataclass
class _Attempt:
    """The client's side of a submitted job: its mirror and the attempt it mirrors."""

    job: Job
    mirror: RunMirror
    attempt: str | None = None
    attempts: int = 0
    lines: int = 0
    worker: str | None = None
    ended: bool = False  # what its worker still sends is not written


class Executor:
    """A Dask client on a local cluster (`scheduler` None) or on a running scheduler.

    Args:
        scheduler: `tcp://HOST:PORT` of a running `dask scheduler`, or None.
        workers: worker processes of the local cluster.
        data_dir: `--data-dir`, a folder as each worker sees it.
        threads: the threads each run trains on (a worker of another machine takes at most
            its own cores).
    """

    def __init__(
        self, scheduler: str | None, workers: int, data_dir: str | None, threads: int = 1
    ) -> None:
        self.scheduler, self.workers, self.data_dir = scheduler, workers, data_dir
        self.threads = threads
        self.cluster: LocalCluster | None = None
        self.client: Client | None = None
        self.interrupted = False
        token = uuid.uuid4().hex[:12]
        self._queue_name, self._stop_name = f"tuidl-records-{token}", f"tuidl-stop-{token}"
        self._prefix = f"tuidl-{token}-"

    @property
    def where(self) -> str:
        if self.scheduler is None:
            return f"a local Dask cluster of {self.workers} worker{'s' * (self.workers != 1)}"
        return f"the Dask cluster at {self.scheduler}"

    def __enter__(self) -> Executor:
        # what goes wrong reaches the command as an exception, said in one line; Dask's and
        # asyncio's logs of the same (a scheduler lost, Dask's futures pending at a Ctrl-C)
        # would add tracebacks to it. Dask's loggers have levels of their own (distributed.
        # client: warning) and share the handler it gives "distributed".
        for handler in logging.getLogger("distributed").handlers:
            handler.setLevel(logging.CRITICAL)
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        try:
            self._connect()
        except BaseException:  # a Ctrl-C as the cluster came up: it goes down again
            self.__exit__()
            raise
        return self

    def _connect(self) -> None:
        if self.scheduler is not None:
            try:
                self.client = Client(self.scheduler, timeout=CONNECT_TIMEOUT_S)
            except (OSError, ValueError) as error:
                raise ConfigError(
                    f"cannot reach the Dask scheduler at {self.scheduler} ({error}); start one "
                    "with `dask scheduler` and pass the address it prints, or drop --scheduler "
                    "to run on a local cluster"
                ) from None
            return
        with _children_ignore_interrupts():
            self.cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                # a random port of the loopback: None still binds the scheduler's HTTP server
                # to 8787, and warns on stderr when another cluster (a user's, a test's) holds
                # it; ":0" would listen on every interface
                dashboard_address="127.0.0.1:0",
                silence_logs=logging.CRITICAL,  # the workers' logs, likewise
            )
            self.client = Client(self.cluster)

    def __exit__(self, *exc: object) -> None:
        # a Ctrl-C now would leave worker processes behind with tracebacks
        with _interrupts(signal.SIG_IGN):
            if self.client is not None:
                if self.cluster is None:  # a shared cluster's later workers need not it
                    with contextlib.suppress(Exception):
                        self.client.unregister_worker_plugin(WorkerSetup.name)
                self.client.close()
            if self.cluster is not None:
                self.cluster.close()

    def prepare(self, runs: list[tuple[str, Experiment]]) -> None:
        """Check and warm every worker (`remote.WorkerSetup`) for `runs` (label, experiment);
        workers that join later are readied as they join.

        Raises:
            ConfigError: a worker lacks a job's data, a job's network does not fit it, or a
                worker cannot import tuidl.
        """
        setup = WorkerSetup(
            [(label, experiment.to_dict()) for label, experiment in runs],
            self.data_dir,
            local=self.cluster is not None,
        )
        try:
            self.client.register_plugin(setup)
        except ImportError as error:
            raise ConfigError(
                f"a Dask worker cannot import tuidl ({error}); install tuidl on every worker"
            ) from None

    def run(self, jobs: list[Job], listener: Listener) -> list[Ended]:
        """Run every job (all submitted at once; the cluster runs as many as it has worker
        threads) and write their run directories; returns how each ended, in the order they
        ended. Sets `interrupted` when Ctrl-C stopped them.

        Raises:
            ConfigError: a run failed on its worker with bad input (data it cannot read), or
                killed every worker it ran on; the other runs are stopped.
        """
        queue = Queue(self._queue_name, client=self.client)
        stop = Event(self._stop_name, client=self.client)
        states = {job.key: _Attempt(job, RunMirror(job.run_dir)) for job in jobs}
        futures = {
            self.client.submit(
                train_trial, self._task(job), key=self._prefix + job.key, pure=False
            ): states[job.key]
            for job in jobs
        }
        ended: list[Ended] = []
        interrupts = 0

        def count(signum: int, frame: Any) -> None:
            nonlocal interrupts
            interrupts += 1

        def drain() -> None:
            self._receive(queue, states, listener, wait=False)

        try:
            with _interrupts(count):
                while futures:
                    cancelled = []
                    if interrupts and not self.interrupted:
                        self.interrupted = True
                        stop.set()
                        cancelled = self._cancel(futures, lambda s: s.attempt is None)
                    if interrupts > 1:
                        cancelled += self._cancel(futures, lambda s: True)
                    for end in cancelled:
                        ended.append(end)
                        listener(end)
                    self._receive(queue, states, listener, wait=True)
                    for future in [f for f in futures if f.done()]:
                        state = futures.pop(future)
                        ended.append(self._end(future, state, drain))
                        listener(ended[-1])
        except OSError as error:  # the scheduler went away (Dask's comm errors are OSErrors)
            raise ConfigError(
                f"lost {self.where} ({error}); the runs that ended are kept"
            ) from None
        finally:
            # an error stops the others (their folders are let go as they are)
            with contextlib.suppress(OSError):
                if futures:
                    stop.set()
                    self._cancel(futures, lambda s: True)
                queue.close()
        return ended

    def _task(self, job: Job) -> dict[str, Any]:
        return {
            "key": job.key,
            "config": job.experiment.to_dict(),
            "data_dir": self.data_dir,
            "threads": self.threads,
            "queue": self._queue_name,
            "stop": self._stop_name,
        }

    def _cancel(self, futures: dict, which: Callable[[_Attempt], bool]) -> list[Ended]:
        """Cancel the futures whose state `which` picks; they end interrupted."""
        chosen = [f for f, state in futures.items() if which(state)]
        ended = []
        for future in chosen:
            state = futures.pop(future)
            state.ended = True
            state.mirror.close()
            ended.append(Ended(state.job, "interrupted", state.worker, state.attempts))
        self.client.cancel(chosen)
        return ended

    def _receive(
        self, queue: Queue, states: dict[str, _Attempt], listener: Listener, wait: bool
    ) -> None:
        """Write what the workers sent; with `wait`, sleep POLL_S when nothing came (a
        blocking `get` with a timeout logs an error on the scheduler each time it expires)."""
        messages = queue.get(batch=True)
        if not messages and wait:
            time.sleep(POLL_S)
        for message in messages:
            state = states.get(message["key"])
            if state is None or state.ended:
                continue
            if message["kind"] == "start" and message["attempt"] != state.attempt:
                state.attempt, state.lines, state.worker = message["attempt"], 0, message["worker"]
                state.attempts += 1
                state.mirror.begin(message["config"])
                listener(Started(state.job, state.worker, state.attempts))
            elif message["kind"] == "lines" and message["attempt"] == state.attempt:
                state.mirror.append(message["data"])
                state.lines += 1
                listener(Progress(state.job, **message["progress"]))

    def _end(self, future: Any, state: _Attempt, drain: Callable[[], None]) -> Ended:
        """The job's result written into its folder (or why it has none); `drain` writes what
        the workers sent meanwhile."""
        job = state.job
        if future.cancelled():  # cancelled by Dask itself (the scheduler went away)
            state.ended = True
            state.mirror.close()
            return Ended(job, "interrupted", state.worker, state.attempts)
        try:
            result = future.result()
        except ConfigError as error:
            raise ConfigError(f"{job.label} on the Dask worker {state.worker}: {error}") from None
        except KilledWorker:
            raise ConfigError(
                f"{job.label}: every Dask worker that ran it died (out of memory?); the runs "
                "that ended are kept"
            ) from None
        # a worker that dies holding a finished trial's result makes Dask run the trial again
        # while `result()` waits: that attempt's messages came meanwhile
        drain()
        state.ended = True
        # the task's messages all reached the queue before its result: a mismatch is a bug
        if (result["attempt"], result["lines"]) != (state.attempt, state.lines):
            raise RuntimeError(f"{job.label}: the records of its run did not all arrive")
        state.mirror.finish(result["summary"], result["checkpoint"])
        summary = json.loads(result["summary"])
        return Ended(job, result["status"], result["worker"], state.attempts, summary)


@contextlib.contextmanager
def _children_ignore_interrupts() -> Iterator[None]:
    """Processes started inside the block ignore Ctrl-C, and one pressed meanwhile reaches this
    process after it. A local cluster's workers are this process's children, so a terminal's
    Ctrl-C reaches them too: ignoring it, they leave it to this process, which stops them,
    instead of each dying with a traceback (`WorkerSetup` ignores it in a worker started again
    later). An ignored signal is inherited across `exec`, a Python handler is not; and Linux
    keeps a signal that is blocked, even when ignored, pending until it is unblocked (the
    threads started meanwhile, Dask's, keep it blocked: it comes to the main thread). The
    resource tracker of multiprocessing starts first: starting, it unblocks SIGINT in the
    thread that starts it (CPython's `resource_tracker.ensure_running`), which would then take
    the signal and ignore it."""
    resource_tracker.ensure_running()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        with _interrupts(signal.SIG_IGN):
            yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def _interrupts(handler: Any) -> Iterator[None]:
    """SIGINT handled by `handler` inside the block."""
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
