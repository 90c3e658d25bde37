"""Run directories: `config.toml`, `metrics.jsonl`, `checkpoint.npz`, `summary.json`.

`RunWriter` is a trainer callback that keeps the directory current while training: whole
metric lines, each flushed as it is written (a readable file at any moment; a few µs a step),
an atomic checkpoint at the first epoch end (of pretraining too), then at an epoch end once
`CHECKPOINT_EVERY_S` have passed since the last one, and always when training stops, and a
summary saying how the run stands. Tiny networks finish an epoch every few milliseconds: a
checkpoint and summary fsynced at each one took a quarter of spiral-mlp's training time. A
killed process loses at most that interval (a run killed after its first epoch can resume):
`--resume` drops the metric lines written after the checkpoint, and the writer removes the
temporary files the killed process's atomic writes left. While it writes, the writer
holds the directory's lock (`tuidl.lock`), so a second writer (`tuidl run --resume`, the app)
is refused in one line instead of interleaving its lines with the first's. A write that fails
(a full disk) ends the writing, with one line saying what is kept and how to go on.

`tuidl view`, the app and any other tool (pandas, jq) read the same files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import math
import os
import re
import shlex
import stat
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .atomic import atomic_write, leftovers
from .checkpoint import load_checkpoint, save_checkpoint
from .errors import ConfigError, printable
from .experiment import Experiment
from .lock import RunLock
from .trainer import Callback, Trainer

CONFIG = "config.toml"
METRICS = "metrics.jsonl"
CHECKPOINT = "checkpoint.npz"
SUMMARY = "summary.json"
CHECKPOINT_EVERY_S = 10.0
SUMMARY_EVERY_S = 1.0


UNSAFE = re.compile(r"[^\w.+-]+")  # \w: letters and digits of any script, and "_"
NAME_BYTES = 100  # room left for "compare-", "-<n>" and "-seed<k>" in a 255-byte folder name


def run_name(name: str) -> str:
    """`name` (an experiment's or a race label, from a file or the command line) as a folder
    name that stays where it is put: letters, digits and `_.+-`, every other run of
    characters (path separators, control characters, spaces) one `-`, no `..`, no leading
    or trailing `.` or `-` (no hidden folder, nothing read as an option).

    Raises:
        ConfigError: nothing is left, as of "../.." or a name of control characters only.
    """
    folder = UNSAFE.sub("-", unicodedata.normalize("NFC", name))
    folder = re.sub(r"\.{2,}", ".", re.sub(r"[.-]*-[.-]*", "-", folder)).strip(".-")
    folder = folder.encode()[:NAME_BYTES].decode("utf-8", "ignore").strip(".-")
    if not folder:
        raise ConfigError(
            f"the name {name!r} has no letter or digit to name a run folder with; "
            'use e.g. name = "my-run"'
        )
    return folder


def printable_name(experiment: Experiment) -> Experiment:
    """`experiment`, renamed with its name's control characters escaped (`\\x1b`) when it has
    any: the name is printed and stored in the summary, and came from a file."""
    if experiment.name.isprintable():
        return experiment
    return dataclasses.replace(experiment, name=printable(experiment.name))


def variant_folder(label: str) -> str:
    """The folder name of a race's run labelled `label` (`sgd:0.1` -> `sgd-lr0.1`)."""
    return run_name(label.replace(":", "-lr"))


def new_run_dir(root: str | os.PathLike, name: str) -> Path:
    """A fresh folder `root/<run_name(name)>-<n>` (n counts up from 1), created now.

    Raises:
        ConfigError: `root` is not a folder or cannot be written (read-only, full, not ours).
    """
    folder = run_name(name)
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        n = 1
        while True:
            path = root / f"{folder}-{n}"
            try:
                path.mkdir()
                return path
            except FileExistsError:
                n += 1
    except OSError as error:
        why = "it is not a folder" if root.exists() and not root.is_dir() else error.strerror
        raise ConfigError(
            f"cannot make a run folder in {root} ({why}); pass --out a folder you can write to"
        ) from None


def _json_safe(value: Any) -> Any:
    """NaN and inf are not JSON: write them as strings a reader can parse back."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


class RunWriter(Callback):
    """Writes a trainer's run directory as it trains (see the module docstring)."""

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.run_dir = Path(run_dir)
        self.lock = RunLock(self.run_dir)
        self._file = None
        self.last_epoch: dict[str, Any] | None = None
        self.best: dict[str, Any] = {}
        self._saved_at: float | None = None  # no checkpoint yet: one at the first epoch end
        self._summarized_at = time.monotonic()
        self.failed = False  # a write failed: nothing more is written

    def on_train_begin(self, trainer: Trainer) -> None:
        self.lock.acquire()
        with self._writing():
            for name in (CONFIG, METRICS, CHECKPOINT, SUMMARY):
                for leftover in leftovers(self.run_dir / name):
                    leftover.unlink(missing_ok=True)
            config = self.run_dir / CONFIG
            if not config.exists():
                trainer.experiment.save(config)
            # line-buffered: every record reaches the file whole, for `tuidl view` and tail -f
            self._file = open(  # noqa: SIM115
                self.run_dir / METRICS, "a", encoding="utf-8", buffering=1, opener=_no_links
            )
        self.write_summary(trainer, "running")

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Around a write: one that fails (a full disk, a folder gone read-only) ends the
        writing (see `_failure`)."""
        try:
            yield
        except OSError as error:
            raise self._failure(error) from None

    def _failure(self, error: OSError) -> ConfigError:
        """A write failed: write nothing more (a checkpoint now would be ahead of the lines
        that did not reach the file), let go of the folder, and say what is kept and what to
        do, in one line."""
        self.failed = True
        with contextlib.suppress(OSError):  # the file's last bytes cannot be written either
            self.close()
        return ConfigError(write_failure(self.run_dir, error))

    def _write(self, record: dict[str, Any]) -> None:
        if self.failed:
            return
        try:
            self._file.write(json.dumps(_json_safe(record)) + "\n")
        except OSError as error:
            raise self._failure(error) from None

    def on_pretrain_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self._write(logs)
        self._keep_current(trainer)

    def on_step_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self._write(logs)

    def on_epoch_zero(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self._write(logs)
        self.track(logs)

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self._write(logs)
        self.track(logs)
        self._keep_current(trainer)

    def on_alert(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self._write(logs)

    def _keep_current(self, trainer: Trainer) -> None:
        """At an epoch end: a checkpoint and a summary, each when its interval has passed."""
        if self.failed:
            return
        now = time.monotonic()
        if self._saved_at is None or now - self._saved_at >= CHECKPOINT_EVERY_S:
            self.save_checkpoint(trainer)
        if now - self._summarized_at >= SUMMARY_EVERY_S:
            self.write_summary(trainer, "running")

    def track(self, logs: dict[str, Any]) -> None:
        """Remember the last epoch record and the best values of the trained epochs (not of
        epoch 0, the initial weights), for the summary."""
        self.last_epoch = logs
        if logs["epoch"] == 0:
            return
        for key in ("val_loss", "train_loss"):
            if key in logs and logs[key] < self.best.get(key, math.inf):
                self.best[key] = logs[key]
        for key in ("val_acc", "train_acc"):
            if key in logs and logs[key] > self.best.get(key, -math.inf):
                self.best[key] = logs[key]

    def on_train_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        """The final checkpoint (but of diverged weights) and the summary with the run's
        status; the metrics file is closed."""
        if self.failed:
            return
        if logs["status"] != "diverged":
            self.save_checkpoint(trainer)
        extra = {key: logs[key] for key in ("diverged_at_step", "message") if key in logs}
        self.write_summary(trainer, logs["status"], **extra)
        with self._writing():
            self.close()

    def stopped_at_once(self, trainer: Trainer) -> bool:
        """Training stopped in the middle of a step (a second Ctrl-C): the trainer's state is
        not saved (the last checkpoint stands), the summary says so, and the metrics file and
        the lock are let go. Returns whether there is a checkpoint to resume from."""
        resumable = (self.run_dir / CHECKPOINT).exists()
        if not self.failed:
            with contextlib.suppress(ConfigError):  # a failed write has said so already
                self.write_summary(
                    trainer,
                    "interrupted",
                    message="stopped at once: tuidl run --resume continues from the last checkpoint"
                    if resumable
                    else "stopped at once, before its first checkpoint: nothing to resume",
                )
        with contextlib.suppress(OSError):
            self.close()
        return resumable

    def close(self) -> None:
        """Close the metrics file and let go of the directory's lock."""
        file, self._file = self._file, None
        try:
            if file is not None:
                file.close()
        finally:
            self.lock.release()

    def save_checkpoint(self, trainer: Trainer) -> None:
        with self._writing():
            save_checkpoint(
                self.run_dir / CHECKPOINT, trainer.model, trainer.optimizer, trainer.state_dict()
            )
        self._saved_at = time.monotonic()

    def write_summary(self, trainer: Trainer, status: str, **extra: Any) -> None:
        from .kernels import threads

        summary = {
            "name": trainer.experiment.name,
            "status": status,
            "epoch": trainer.epoch,
            "step": trainer.step_count,
            "epochs": trainer.epochs,
            "steps_per_epoch": trainer.steps_per_epoch,
            "time": round(trainer.elapsed, 3),
            "params": trainer.model.count_params(),
            "final": {
                k: v for k, v in (self.last_epoch or {}).items() if k.endswith(("loss", "acc"))
            },
            "best": self.best,
            "threads": threads.threads(),  # what `run --resume` trains on again (bit for bit)
            **extra,
        }
        with self._writing(), atomic_write(self.run_dir / SUMMARY) as file:
            file.write(json.dumps(_json_safe(summary), indent=2).encode())
        self._summarized_at = time.monotonic()


def _no_links(path: str, flags: int) -> int:
    """`open`'s opener that follows no link: a run writes inside its folder only."""
    return os.open(path, flags | os.O_NOFOLLOW, 0o666)


def write_failure(run_dir: Path, error: OSError) -> str:
    """The one line for a run directory that could not be written: why, what is kept (the
    last checkpoint, which atomic writes leave whole), and how to go on."""
    resume = shlex.join(["tuidl", "run", "--resume", str(run_dir)])
    full = error.errno in (errno.ENOSPC, errno.EDQUOT)
    if full:
        problem = f"the disk is full: cannot write {run_dir}"
    else:
        problem = f"cannot write {run_dir} ({error.strerror})"
    if (run_dir / CHECKPOINT).exists():
        when = "free some space, then" if full else "once it can be written,"
        return f"{problem}; its last checkpoint is intact: {when} {resume} continues the run"
    if full:
        return f"{problem} before its first checkpoint; free some space and start the run again"
    return (
        f"{problem} before its first checkpoint; start the run again in a folder you can write to"
    )


class DamagedLine(ValueError):
    """A line of `metrics.jsonl` that is no record a run writes (edited, or a failed disk)."""


# each kind of record, and its whole-number fields (where a resume cuts the file)
KINDS = {"step": ("step",), "epoch": ("epoch", "step"), "pretrain": ("epoch",), "alert": ("step",)}
NUMBERS = ("loss", "train_loss", "val_loss", "train_acc", "val_acc", "lr", "time", "recon_error")
NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}  # as `_json_safe` writes them


def parse_record(line: bytes) -> dict[str, Any]:
    """One line of `metrics.jsonl` (without its newline) as the record it was written from,
    NaN and inf back as floats.

    Raises:
        DamagedLine: saying what is wrong with it ("is not JSON").
    """
    try:
        record = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise DamagedLine("is not UTF-8 text") from None
    except json.JSONDecodeError:
        raise DamagedLine("is not JSON") from None
    if not isinstance(record, dict):
        raise DamagedLine("is not a JSON object")
    kind = record.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise DamagedLine("has no kind" if kind is None else f"has an unknown kind {kind!r:.40}")
    for key in KINDS[kind]:
        value = record.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DamagedLine(f"is a {kind} record whose {key} is not a whole number >= 0")
    for key in NUMBERS:
        if key in record:
            value = record[key]
            value = NON_FINITE.get(value, value) if isinstance(value, str) else value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise DamagedLine(f"has a {key} that is not a number")
            record[key] = value
    return record


def read_metrics(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of a run's `metrics.jsonl`: its whole lines (one still being written is
    left for later), damaged lines passed over; none when there is no file yet."""
    try:
        data = (Path(run_dir) / METRICS).read_bytes()
    except FileNotFoundError:
        return []
    records = []
    for line in data.split(b"\n")[:-1]:
        with contextlib.suppress(DamagedLine):
            records.append(parse_record(line))
    return records


def recorded_threads(run_dir: str | os.PathLike) -> int | None:
    """The thread count the run in `run_dir` trained on (its summary), if it says: a run
    resumed on the same count goes on bit for bit (`tuidl.kernels.threads`)."""
    try:
        summary = json.loads((Path(run_dir) / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    count = summary.get("threads") if isinstance(summary, dict) else None
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        return None
    return count


def open_for_resume(
    run_dir: str | os.PathLike, data_dir: str | None = None
) -> tuple[Trainer, RunWriter]:
    """A trainer and writer that continue the run in `run_dir` exactly where it stopped.

    Metric lines written after the checkpoint (by a process that was killed) are dropped, so
    the file reads as if the run had never stopped; without a metrics file it starts afresh.

    Raises:
        ConfigError: not a run, another process writes it, or a file of it does not hold what
            the run wrote (the checkpoint, a metrics line before it); the folder is left as it
            was.
    """
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).is_file():
        raise ConfigError(f"{run_dir} is not a run directory (no {CONFIG}); pass the run's folder")
    writer = RunWriter(run_dir)
    writer.lock.acquire()  # before anything is read: another process may be writing it
    try:
        if not (run_dir / CHECKPOINT).exists():
            raise ConfigError(f"{run_dir} has no {CHECKPOINT} to resume from; start a new run")
        _check_metrics_file(run_dir / METRICS)
        experiment = printable_name(Experiment.load(run_dir / CONFIG))
        trainer = Trainer(experiment, callbacks=[writer], data_dir=data_dir)
        extra = load_checkpoint(run_dir / CHECKPOINT, trainer.model, trainer.optimizer)
        try:
            trainer.load_state_dict(extra)
        except ConfigError as error:
            raise ConfigError(f"{run_dir / CHECKPOINT}: {error}") from None
        kept = _cut_metrics(
            run_dir / METRICS,
            trainer.step_count,
            trainer.epoch,
            trainer.pretraining.epochs_done,
            trainer.started,
        )
        for record in kept:
            if record["kind"] == "epoch":
                writer.track(record)
    except OSError as error:  # cutting the metrics file back to the checkpoint
        writer.close()
        raise ConfigError(write_failure(run_dir, error)) from None
    except BaseException:
        writer.close()
        raise
    return trainer, writer


def _check_metrics_file(path: Path) -> None:
    """A metrics file is a plain file of the run's folder, or none (a resume starts one): a
    link could have the writer append somewhere else, a FIFO would block the reader."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        what = (
            "a link"
            if stat.S_ISLNK(mode)
            else "a folder"
            if stat.S_ISDIR(mode)
            else "a pipe or device"
        )
        raise ConfigError(
            f"{path} is {what}, not a plain file; move it away and resume again (the metrics "
            "start afresh from the checkpoint)"
        )


def _cut_metrics(
    path: Path, step: int, epoch: int, pretrain_epochs: int, started: bool
) -> list[dict[str, Any]]:
    """The records of `path` up to a checkpoint at `step` (`epoch`, after `pretrain_epochs`
    pretraining epochs, its epoch-0 record written when `started`), and the file cut there:
    the lines after it (written by a process that was stopped before its next checkpoint),
    damaged ones among them, are dropped.

    Raises:
        ConfigError: a damaged line before the checkpoint's last record: history a resumed run
            cannot write again, for the user to mend.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    kept: list[dict[str, Any]] = []
    end = offset = pretrained = 0
    damaged: tuple[int, DamagedLine] | None = None
    for number, line in enumerate(data.split(b"\n")[:-1], 1):
        offset += len(line) + 1
        try:
            record = parse_record(line)
        except DamagedLine as error:
            damaged = damaged or (number, error)
            continue
        kind = record["kind"]
        pretrained += kind == "pretrain"
        if (
            pretrained > pretrain_epochs
            or (kind in ("step", "alert") and record["step"] > step)
            or (kind == "epoch" and (record["epoch"] > epoch or not started))
        ):
            break
        if damaged is not None:
            raise ConfigError(
                f"{path}: line {damaged[0]} {damaged[1]}; mend or delete that line, then resume "
                "again"
            )
        kept.append(record)
        end = offset
    if end < len(data):
        with atomic_write(path) as file:
            file.write(data[:end])
    return kept
