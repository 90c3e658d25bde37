"""The lesson presets (`tuidl/lessons.py`) show what their lesson cards claim: each observable is
asserted on whole runs of the preset's race, run as `tuidl compare` runs it (one run per
variant and seed, identical weights and batches within a seed). Seeds 0-2 where a race takes
seconds, seed 0 where it takes tens of seconds (the others were measured: tuidl/lessons.py);
those MNIST races are marked slow, and their in-process runs are made together, two processes
at a time (one per core), when the first of their tests asks for them. Each test's time on the
2-core dev machine is in its docstring."""

from __future__ import annotations

import json
import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from clitools import run_tuidl
from realdata import DATA, needs_mnist
from records import Recorder

from tuidl.datasets import Dataset
from tuidl.experiment import Experiment
from tuidl.lessons import BN_SCALES, LESSONS
from tuidl.presets import preset
from tuidl.runs import read_metrics
from tuidl.smoothing import smooth
from tuidl.trainer import Diverged, Trainer, load_experiment_data
from tuidl.variants import plan_race

MNIST = {name for name, (_, tables) in LESSONS.items() if tables["data"]["name"] == "mnist"}


def test_tuidl_presets_lists_every_lesson_with_its_about_line(tmp_path):
    """0.6-1.4 s."""
    result = run_tuidl("presets", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    listed = {line.split()[0]: line for line in result.stdout.splitlines()}
    for name, (about, _) in LESSONS.items():
        assert listed[name].endswith(f" {about}"), listed.get(name)


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=needs_mnist) if n in MNIST else n for n in LESSONS]
)
def test_each_lesson_trains_an_epoch_from_the_cli(tmp_path, name):
    """1.2-1.6 s each."""
    result = run_tuidl("run", name, "--epochs", "1", "--out", "o", tmp_path=tmp_path,
                       TUIDL_DATA=str(DATA))  # fmt: skip
    assert result.returncode == 0, result.stderr
    (summary,) = (tmp_path / "o").glob("*/summary.json")
    assert json.loads(summary.read_text())["status"] == "finished"


@dataclass
class Run:
    """One finished run of a race: its records, and the trainer with the weights it ended with
    (None for a run made in another process)."""

    seed: int
    status: str
    steps: list[dict]
    epochs: list[dict]  # trained epochs only (no epoch-0 record)
    train_acc: float  # on the training set in evaluation mode, with the final weights
    trainer: Trainer | None

    @property
    def smoothed_loss(self) -> float:
        """The final smoothed training loss (the app's curve, `tuidl compare`'s table)."""
        return smooth(r["loss"] for r in self.steps)[-1]

    def gap(self) -> float:
        """Accuracy on the training set in evaluation mode (no dropout; DLFS's measure) less
        the final validation accuracy."""
        return self.train_acc - self.epochs[-1]["val_acc"]


_datasets: dict[tuple[str, int], Dataset] = {}


def _dataset(experiment: Experiment) -> Dataset:
    """The experiment's data, loaded once per data table and seed (no run changes its data)."""
    key = json.dumps(experiment.data, sort_keys=True), experiment.seed
    if key not in _datasets:
        _datasets[key] = load_experiment_data(experiment)
    return _datasets[key]


def run_variant(experiment: Experiment) -> Run:
    """One run of a race, as `tuidl compare` makes it."""
    recorder = Recorder()
    trainer = Trainer(experiment, _dataset(experiment), callbacks=[recorder])
    try:
        status = trainer.fit()["status"]
    except Diverged:
        status = "diverged"
    ds, records = trainer.dataset, recorder.records
    train_acc = trainer.evaluate(ds.x_train, ds.y_train, "train").get("train_acc", math.nan)
    return Run(experiment.seed, status, [r for r in records if r["kind"] == "step"],
               [r for r in records if r["kind"] == "epoch" and r["epoch"] > 0], train_acc,
               trainer)  # fmt: skip


def _run_elsewhere(document: dict) -> Run:
    """`run_variant` in a pool's process: its records, without the trainer (and its data)."""
    run = run_variant(Experiment.from_dict(document))
    run.trainer = None
    return run


Race = tuple[str, tuple[str, ...], str | None, int | None]  # name, vary, optimizers, seeds


def race(name: str, vary: tuple[str, ...] = (), optimizers: str | None = None,
         seeds: int | None = None) -> dict[str, list[Run]]:  # fmt: skip
    """Preset `name`'s race, in this process: its `[compare]` table, or the given axes, as
    `tuidl compare` plans it; variant label -> its runs in seed order."""
    runs: dict[str, list[Run]] = {}
    for variant in plan_race([preset(name)], optimizers, list(vary), seeds):
        runs.setdefault(variant.label, []).append(run_variant(variant.experiment))
    return runs


def races(*specs: Race) -> dict[Race, dict[str, list[Run]]]:
    """`race(*spec)` for each spec, their runs made two at a time in a pool of processes (one
    per core); spec -> variant label -> its runs in seed order."""
    planned = [
        (spec, v)
        for spec in specs
        for v in plan_race([preset(spec[0])], spec[2], list(spec[1]), spec[3])
    ]
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked threads
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        futures = [pool.submit(_run_elsewhere, v.experiment.to_dict()) for _, v in planned]
        done: dict[Race, dict[str, list[Run]]] = {spec: {} for spec in specs}
        for (spec, variant), future in zip(planned, futures, strict=True):
            done[spec].setdefault(variant.label, []).append(future.result())
    return done


# The MNIST lessons' in-process races, longest first
OVERFIT: Race = ("overfit", (), None, None)
OPTIMIZERS: Race = ("optimizers-mnist", (), None, None)
INIT_MNIST: Race = ("init-mnist", (), None, 3)
PLAIN: Race = ("bn-scale-plain", (), None, None)
BN_SGD: Race = ("bn-scale", (), "sgd", None)
PLAIN_SGD: Race = ("bn-scale-plain", (), "sgd", None)


@pytest.fixture(scope="module")
def mnist_races() -> dict[Race, dict[str, list[Run]]]:
    """The MNIST lessons' 35 in-process runs: 2 minutes of one core's time, one on two."""
    return races(OVERFIT, OPTIMIZERS, INIT_MNIST, PLAIN, BN_SGD, PLAIN_SGD)


def cli_race(tmp_path: Path, *args: str) -> dict[str, list[list[dict]]]:
    """`tuidl compare ARGS` run as a user would; variant label -> each run's records."""
    result = run_tuidl("compare", *args, "--out", "o", "--jobs", "2", tmp_path=tmp_path,
                       timeout=600, TUIDL_DATA=str(DATA))  # fmt: skip
    assert result.returncode == 0, result.stderr
    (report,) = (tmp_path / "o").glob("*/comparison.json")
    rows = json.loads(report.read_text())["variants"]
    return {row["variant"]: [read_metrics(tmp_path / d) for d in row["runs"]] for row in rows}


def initial_activations(tmp_path: Path, name: str, inits: str, layer: str) -> dict[str, list]:
    """`tuidl compare NAME --vary model.init=INITS --epochs 0 --seeds 3`: init -> per seed, the
    epoch-0 record's (`act`, `hist["act"]`) of each `layer` type's layers, in order (the probe
    samples: the first 256 of the 1,000)."""
    runs = cli_race(tmp_path, name, "--vary", f"model.init={inits}", "--epochs", "0",
                    "--seeds", "3")  # fmt: skip
    measured = {}
    for label, seeds in runs.items():
        measured[label.removeprefix("model.init=")] = per_seed = []
        for records in seeds:
            (zero,) = [r for r in records if r["kind"] == "epoch"]
            assert zero["epoch"] == 0 and "train_loss" not in zero  # nothing trained
            names = [n for n in zero["act"] if n.startswith(f"{layer}_")]
            per_seed.append([(zero["act"][n], zero["hist"]["act"][n]) for n in names])
    return measured


def test_init_sigmoid_saturates_at_scale_1_collapses_at_0_01_and_spreads_with_xavier(tmp_path):
    """3.2 s: 9 runs of --epochs 0. Saturated, for gaussian:1, is the lesson's (DLFS's) reading:
    under 0.1 or over 0.9, read from the histogram (40 bins of 0.025 over [0, 1]: the first 4
    and the last 4); for xavier it is the record's `saturated`, outside [0.02, 0.98]."""
    inits = "gaussian:1,gaussian:0.01,xavier"
    measured = initial_activations(tmp_path, "init-sigmoid", inits, "sigmoid")
    for layers in measured["gaussian:1"]:
        for act, hist in layers:
            assert hist["edges"] == [0.0, 1.0] and hist["bins"] == 40
            counts, total = hist["counts"], sum(hist["counts"]) + hist["below"] + hist["above"]
            assert act["std"] >= 0.4 and sum(counts[:4] + counts[36:]) >= 0.7 * total
    for layers in measured["gaussian:0.01"]:
        assert all(act["std"] < 0.02 for act, _ in layers[1:]), layers
    for layers in measured["xavier"]:
        assert all(0.08 <= act["std"] <= 0.3 and act["saturated"] <= 0.05 for act, _ in layers)


def test_init_relu_keeps_its_scale_with_he_and_loses_it_with_small_weights(tmp_path):
    """3.5 s: 6 runs of --epochs 0."""
    measured = initial_activations(tmp_path, "init-relu", "he,gaussian:0.01", "relu")
    for layers in measured["he"]:
        assert all(0.6 <= act["std"] <= 1.1 for act, _ in layers), layers
    for layers in measured["gaussian:0.01"]:
        stds = [act["std"] for act, _ in layers]
        assert all(a >= 10 * b for a, b in pairwise(stds)), stds


@needs_mnist
@pytest.mark.slow
def test_init_mnist_small_weights_do_not_learn_and_he_beats_xavier(mnist_races):
    """9 runs of 630 steps (12.5-14 s of one core)."""
    runs = mnist_races[INIT_MNIST]
    for small, xavier, he in zip(*runs.values(), strict=True):
        assert min(r["loss"] for r in small.steps) > 2.2, small.seed
        assert he.smoothed_loss < xavier.smoothed_loss, (he.seed, he.smoothed_loss)


@needs_mnist
@pytest.mark.slow
def test_optimizers_mnist_sgd_ends_10x_above_momentum_adagrad_and_adam(mnist_races):
    """4 runs of 2,000 steps (19-28 s of one core)."""
    runs = {label: r.smoothed_loss for label, (r,) in mnist_races[OPTIMIZERS].items()}
    sgd = runs.pop("sgd:0.01")
    assert all(sgd >= 10 * loss for loss in runs.values()), (sgd, runs)


@needs_mnist
@pytest.mark.slow
def test_overfit_reaches_full_train_accuracy_and_decay_and_dropout_narrow_the_gap(mnist_races):
    """4 runs of 200 epochs (24-33 s of one core); seed 0 (weight decay narrows seed 2's gap
    by 0.032 only: tuidl/lessons.py)."""
    runs = {label: r for label, (r,) in mnist_races[OVERFIT].items()}
    plain = runs["optimizer.weight_decay=0 model.layers.1.rate=0"]
    assert plain.epochs[-1]["train_acc"] == 1.0 and plain.gap() >= 0.15, plain.gap()
    for label in ("optimizer.weight_decay=0.1 model.layers.1.rate=0",
                  "optimizer.weight_decay=0 model.layers.1.rate=0.2"):  # fmt: skip
        assert runs[label].gap() <= plain.gap() - 0.05, (label, runs[label].gap(), plain.gap())


@needs_mnist
@pytest.mark.slow
def test_batch_norm_learns_from_every_scale_and_the_plain_net_from_few(tmp_path, mnist_races):
    """15-20 s: bn-scale's 16 runs through tuidl compare (2 processes); the plain net's 16 and
    both nets at gaussian:0.01 are in `mnist_races`. Learns: the last epoch's train_acc >= 0.4."""
    with_bn = cli_race(tmp_path, "bn-scale")
    assert list(with_bn) == [f"model.init={scale}" for scale in BN_SCALES]
    finals = [[r for r in records if r["kind"] == "epoch"][-1]["train_acc"]
              for (records,) in with_bn.values()]  # fmt: skip
    assert min(finals) >= 0.4, finals
    plain = mnist_races[PLAIN]
    learned = [r.epochs[-1]["train_acc"] >= 0.4 for (r,) in plain.values() if r.epochs]
    assert sum(learned) <= 3, learned
    assert mnist_races[BN_SGD]["sgd"][0].epochs[-1]["train_acc"] >= 0.9
    assert mnist_races[PLAIN_SGD]["sgd"][0].epochs[-1]["train_acc"] <= 0.2


def first_epoch(epochs: list[dict], key: str, reached) -> float:
    """The first epoch whose `key` passes `reached`, or inf."""
    return next((e["epoch"] for e in epochs if reached(e[key])), math.inf)


def test_batch_size_small_batches_learn_more_per_epoch_and_the_full_batch_steadily():
    """3.7 s (batch 1 makes 14,380 steps)."""
    runs = {label: r for label, (r,) in race("batch-size").items()}
    one, small, full = (runs[f"train.batch_size={b}"] for b in (1, 32, 1438))
    assert first_epoch(one.epochs, "val_acc", lambda a: a >= 0.9) <= 2
    assert first_epoch(small.epochs, "val_acc", lambda a: a >= 0.9) <= 4
    assert full.epochs[-1]["val_acc"] < 0.5  # after its 10 updates
    full_losses, small_losses = ([r["loss"] for r in run.steps] for run in (full, small))
    assert all(b < a for a, b in pairwise(full_losses)), full_losses  # but surely
    assert any(b > a for a, b in pairwise(small_losses))


def test_loss_choice_cross_entropy_learns_where_mse_crawls():
    """2.1 s: seeds 0-2. The mse runs' accuracy (class labels: the argmax of the outputs) is
    recorded as the cross-entropy's is; checked here against the model's own predictions."""
    races = race("loss-choice", seeds=3)
    for entropy, mse in zip(*races.values(), strict=True):
        for layer, norm in mse.steps[0]["grad_norm"].items():  # same weights, same batch
            assert entropy.steps[0]["grad_norm"][layer] >= 10 * norm, (layer, mse.seed)
        assert first_epoch(entropy.epochs, "val_acc", lambda a: a >= 0.9) <= 10, mse.seed
        ds = mse.trainer.dataset
        predicted = mse.trainer.model.predict(ds.x_val).argmax(axis=-1)
        assert mse.epochs[-1]["val_acc"] == np.mean(predicted == ds.y_val) < 0.6, mse.seed


def test_space_warp_makes_the_circles_linearly_separable_in_its_narrow_layer():
    """0.7 s: seeds 0-2 (a race of its one optimizer)."""
    for run in race("space-warp", optimizers="adam", seeds=3)["adam"]:
        assert run.epochs[-1]["val_acc"] >= 0.9, run.seed
        ds, model = run.trainer.dataset, run.trainer.model
        hidden = ds.x_train
        for layer in model.layers[:-1]:  # up to tanh_1, the 2-unit layer
            hidden = layer.forward(hidden, train=False)
        assert hidden.shape[1] == 2
        assert linear_separability(hidden, ds.y_train) == 1.0, run.seed
        assert linear_separability(ds.x_train, ds.y_train) < 0.7, run.seed


def linear_separability(x: np.ndarray, y: np.ndarray) -> float:
    """Training accuracy of a logistic regression fitted to (x, y) by gradient descent: 1.0 when
    a line separates the classes."""
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    x = np.c_[x, np.ones(len(x))].astype(np.float64)
    w = np.zeros(x.shape[1])
    for _ in range(2000):
        w -= x.T @ (1 / (1 + np.exp(-x @ w)) - y) / len(y)
    return float(np.mean((x @ w > 0) == y))
