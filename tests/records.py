"""A trainer callback that keeps every record, for tests that compare runs."""

from tuidl.trainer import Callback


class Recorder(Callback):
    """Keeps the step, epoch (epoch 0 too) and pretraining records in the order the trainer sent
    them."""

    def __init__(self):
        self.records = []

    def on_pretrain_epoch_end(self, trainer, logs):
        self.records.append(logs)

    def on_epoch_zero(self, trainer, logs):
        self.records.append(logs)

    def on_step_end(self, trainer, logs):
        self.records.append(logs)

    def on_epoch_end(self, trainer, logs):
        self.records.append(logs)


def without_time(records):
    """The records minus wall-clock time, which differs between identical runs."""
    return [{k: v for k, v in r.items() if k != "time"} for r in records]
