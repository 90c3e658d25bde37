"""What `tuidl run` prints: rich progress on a terminal, one plain line per epoch otherwise
(and per rbm pretraining epoch, before training, and for epoch 0, the initial weights), and one
line per alert as it starts or ends.

Plain output has no control characters, so logs and pipes stay readable; rich honours
`NO_COLOR` by itself.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from .diagnostics import ALERTS
from .trainer import Callback, Trainer


def format_epoch(logs: dict[str, Any], epochs: int) -> str:
    """`epoch 3/10  train_loss 0.1234  train_acc 96.50%  val_loss ...  12.3 s` for an epoch
    (epoch 0 has no train_loss)."""
    parts = [f"epoch {logs['epoch']}/{epochs}"]
    for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
        if key in logs:
            value = logs[key]
            parts.append(f"{key} {value:.2%}" if key.endswith("acc") else f"{key} {value:.4g}")
    parts.append(f"{logs['time']:.1f} s")
    text = "  ".join(parts)
    if logs.get("early_stop"):
        text += "\n  early stopping: no improvement, stopped"
    return text


def format_alert(logs: dict[str, Any]) -> str:
    """`alert: vanishing gradient in dense_0 at step 20: gradient 2.2e-06 of ...` (what it
    means and what to try), or `alert cleared: ...` when it ends."""
    name = ALERTS[logs["alert"]][0] if logs["alert"] in ALERTS else logs["alert"]
    head = "alert cleared" if logs.get("cleared") else "alert"
    return f"{head}: {name} in {logs['layer']} at step {logs['step']}: {logs['message']}"


def format_pretrain(logs: dict[str, Any]) -> str:
    """`pretrain rbm_0 epoch 2/5  recon_error 0.01234  1.2 s` for a pretraining epoch."""
    return (
        f"pretrain {logs['layer']} epoch {logs['epoch']}/{logs['epochs']}  "
        f"recon_error {logs['recon_error']:.4g}  {logs['time']:.1f} s"
    )


class ConsoleProgress(Callback):
    """Epoch and step bars with loss, accuracy, samples/s and ETA (TTY), or plain lines."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self.console = Console(file=self.stream, force_terminal=self.live, highlight=False)
        self.progress: Progress | None = None
        self._seen_steps = 0
        self._seen_time = 0.0

    def on_train_begin(self, trainer: Trainer) -> None:
        self._seen_steps, self._seen_time = trainer.step_count, trainer.elapsed
        if not self.live:
            print(
                f"training {trainer.experiment.name}: {trainer.model.count_params():,} params, "
                f"{len(trainer.dataset.x_train):,} samples, {trainer.steps_per_epoch} steps/epoch",
                file=self.stream,
                flush=True,
            )
            return
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.progress.start()
        self.epoch_task = self.progress.add_task(
            "epochs", total=trainer.epochs, completed=trainer.epoch, info=""
        )
        self.step_task = self.progress.add_task(
            "steps ", total=trainer.steps_per_epoch, completed=trainer.batch, info=""
        )

    def _say(self, text: str) -> None:
        """One line, above the bars when they show."""
        if self.progress is None:
            print(text, file=self.stream, flush=True)
        else:
            self.progress.console.print(text)

    def on_pretrain_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self._say(format_pretrain(logs))
        self._seen_time = trainer.elapsed  # samples/s counts supervised steps only

    def on_epoch_zero(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self._say(format_epoch(logs, trainer.epochs))

    def on_step_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        if self.progress is None:
            return
        rate = self._rate(trainer)
        self.progress.update(
            self.step_task,
            completed=trainer.batch or trainer.steps_per_epoch,
            info=f"loss {logs['loss']:.4g}  {rate:,.0f} samples/s",
        )

    def on_alert(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self._say(format_alert(logs))

    def _rate(self, trainer: Trainer) -> float:
        seconds = trainer.elapsed - self._seen_time
        steps = trainer.step_count - self._seen_steps
        return steps * trainer.batch_size / seconds if seconds > 0 else 0.0

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        if self.progress is None:
            print(format_epoch(logs, trainer.epochs), file=self.stream, flush=True)
            return
        self.progress.console.print(format_epoch(logs, trainer.epochs))
        acc = f"  val_acc {logs['val_acc']:.2%}" if "val_acc" in logs else ""
        self.progress.update(self.epoch_task, completed=trainer.epoch, info=acc.strip())
        self.progress.reset(self.step_task, total=trainer.steps_per_epoch, info="")

    def on_train_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def summary_table(rows: list[tuple[str, tuple[int, ...], int]], total: int) -> Table:
    """The `tuidl summary` table: layer, output shape, parameter count, and the total."""
    table = Table(title=None, show_footer=True)
    table.add_column("layer", footer="total")
    table.add_column("output shape")
    table.add_column("params", justify="right", footer=f"{total:,}")
    for name, shape, count in rows:
        table.add_row(name, str(shape), f"{count:,}")
    return table


def weight_sharing_lines(
    rows: list[tuple[str, tuple[int, ...], tuple[int, ...], int, int]],
) -> list[str]:
    """`Sequential.weight_sharing` for `tuidl summary`: one line per conv2d layer, its
    parameters against those of a dense layer between the same sizes."""
    return [
        f"weight sharing: {name} has {params:,} parameters; a dense layer from "
        f"{'x'.join(map(str, shape_in))} to {'x'.join(map(str, shape_out))} would need {dense:,}"
        for name, shape_in, shape_out, params, dense in rows
    ]


def metrics_table(logs: dict[str, Any]) -> Table:
    """Final metrics of a run, one row each."""
    table = Table("metric", "final")
    for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
        if key in logs:
            value = logs[key]
            table.add_row(key, f"{value:.2%}" if key.endswith("acc") else f"{value:.4g}")
    return table


def make_console(stream: TextIO | None = None) -> Console:
    """A rich console for tables: styled on a terminal, plain text otherwise."""
    stream = stream or sys.stdout
    tty = stream.isatty()
    # logs have no width; 120 columns keeps wide tables (compare) from wrapping their headers
    return Console(file=stream, force_terminal=tty, width=None if tty else 120, highlight=False)
