"""A finished (or stopped) run's model, loaded back from its directory for export and predict.

The run directory holds the resolved experiment (`config.toml`) and the weights
(`checkpoint.npz`). The dataset is loaded too: its normalizer, fitted on the training split,
is what new inputs must go through to look like the data the network was trained on, and it
gives the input shape the model is built for and the class names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..checkpoint import load_checkpoint
from ..errors import ConfigError
from ..experiment import Experiment
from ..model import Sequential
from ..runs import CHECKPOINT, CONFIG
from ..trainer import EVAL_BATCH, load_experiment_data


@dataclass
class RunModel:
    """A run's built model with its checkpoint's weights, and the data it was trained on.

    Attributes:
        run_dir: the run directory.
        experiment: its `config.toml`.
        model: built for the dataset's input shape, weights and running statistics loaded.
        dataset: the run's dataset (`normalizer`, `input_shape`, `task`, `class_names`).
    """

    run_dir: Path
    experiment: Experiment
    model: Sequential
    dataset: object

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.model.input_shape)

    def predict(self, x_raw: np.ndarray) -> np.ndarray:
        """What the model says of raw inputs `x_raw (N, *input_shape)` in the dataset's units:
        normalized as the training data was, then the forward pass in evaluation mode and the
        loss's link (softmax or sigmoid for the cross-entropies: probabilities; the outputs
        themselves for mse)."""
        x = self.dataset.normalizer.apply(x_raw) if self.dataset.normalizer else x_raw
        x = np.ascontiguousarray(x, dtype=np.float32)
        # in batches of the trainer's evaluation: the validation metrics' very arithmetic
        logits = self.model.predict(x, EVAL_BATCH, logits=True)
        return self.model.loss.probabilities(logits).astype(np.float32, copy=False)


def load_run_model(run_dir: str | os.PathLike, data_dir: str | None = None) -> RunModel:
    """The model of the run in `run_dir`, as its checkpoint left it.

    Raises:
        ConfigError: not a run directory, no checkpoint yet, or one that does not fit.
    """
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).is_file():
        raise ConfigError(f"{run_dir} is not a run directory (no {CONFIG}); pass the run's folder")
    if not (run_dir / CHECKPOINT).is_file():
        raise ConfigError(
            f"{run_dir} has no {CHECKPOINT} yet (a run writes it at its first epoch end); "
            "let it train an epoch first"
        )
    experiment = Experiment.load(run_dir / CONFIG)
    dataset = load_experiment_data(experiment, data_dir)
    model = experiment.make_model()
    model.build(dataset.input_shape, np.random.default_rng(experiment.seed))
    load_checkpoint(run_dir / CHECKPOINT, model)
    return RunModel(run_dir, experiment, model, dataset)
