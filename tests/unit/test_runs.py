"""RunWriter's checkpoint and summary cadence: tiny epochs must not fsync a file each."""

from test_trainer import experiment

from tuidl import runs
from tuidl.runs import RunWriter
from tuidl.trainer import Trainer


def fit_counting_writes(tmp_path, monkeypatch):
    """Train 30 epochs of the xor net with a RunWriter; count its checkpoints and summaries."""
    counts = {"checkpoint": 0, "summary": 0}
    save, summarize = RunWriter.save_checkpoint, RunWriter.write_summary

    def counted_save(self, trainer):
        counts["checkpoint"] += 1
        save(self, trainer)

    def counted_summary(self, trainer, status, **extra):
        counts["summary"] += 1
        summarize(self, trainer, status, **extra)

    monkeypatch.setattr(RunWriter, "save_checkpoint", counted_save)
    monkeypatch.setattr(RunWriter, "write_summary", counted_summary)
    writer = RunWriter(tmp_path)
    trainer = Trainer(experiment(train={"epochs": 30, "batch_size": 16}), callbacks=[writer])
    trainer.fit()
    writer.close()
    return trainer, counts


def test_epochs_inside_the_interval_checkpoint_once_when_training_stops(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "CHECKPOINT_EVERY_S", 3600.0)
    monkeypatch.setattr(runs, "SUMMARY_EVERY_S", 3600.0)
    trainer, counts = fit_counting_writes(tmp_path, monkeypatch)
    assert trainer.epoch == 30
    # the summary at the start and at the end; the checkpoint only at the end
    assert counts == {"checkpoint": 1, "summary": 2}
    assert (tmp_path / runs.CHECKPOINT).exists()


def test_with_no_interval_every_epoch_end_writes_both(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "CHECKPOINT_EVERY_S", 0.0)
    monkeypatch.setattr(runs, "SUMMARY_EVERY_S", 0.0)
    _, counts = fit_counting_writes(tmp_path, monkeypatch)
    assert counts == {"checkpoint": 30 + 1, "summary": 1 + 30 + 1}
