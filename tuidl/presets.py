"""Built-in experiments (`tuidl presets`), and resolving an EXPERIMENT argument.

Each preset teaches one thing; its `about` line says what to watch for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ConfigError
from .experiment import Experiment
from .layers.surface import surface_presets
from .lessons import LESSONS
from .suggest import did_you_mean

DEFAULT_PRESET = "spiral-mlp"


def _mlp(hidden: list[int], activation: str, outputs: int) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = []
    for units in hidden:
        layers += [{"type": "dense", "units": units}, {"type": activation}]
    return [*layers, {"type": "dense", "units": outputs}]


def _deep(activation: str, init: str, optimizer: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "data": {"name": "digits"},
        "model": {
            "loss": "softmax_cross_entropy",
            "init": init,
            "layers": [{"type": "flatten"}, *_mlp([32] * 10, activation, 10)],
        },
        "optimizer": optimizer or {"name": "sgd", "lr": 0.05},
        "train": {"epochs": 10, "batch_size": 32},
    }


def _adding(cell: str, optimizer: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "data": {"name": "adding", "T": 50, "n": 10000, "normalize": "none"},
        "model": {
            "loss": "mse",
            "init": "xavier_uniform",
            "layers": [{"type": cell, "units": 64}, {"type": "dense", "units": 1}],
        },
        "optimizer": optimizer or {"name": "adam", "lr": 0.01, "clip_norm": 1.0},
        "train": {"epochs": 10, "batch_size": 64},
    }


PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "spiral-mlp": (
        "two interleaved spirals, a small tanh MLP: watch the decision boundary curl",
        {
            "data": {"name": "spiral", "n": 600, "noise": 0.05},
            "model": {
                "loss": "softmax_cross_entropy",
                "init": "he",  # measured: 95% val in 100 epochs; xavier reached 91%
                "layers": _mlp([32, 32], "tanh", 2),
            },
            "optimizer": {"name": "adam", "lr": 0.01},
            "train": {"epochs": 100, "batch_size": 32},
        },
    ),
    "xor-mlp": (
        "XOR: no line separates it, one hidden layer does",
        {
            "data": {"name": "xor", "n": 400, "noise": 0.05},
            "model": {
                "loss": "softmax_cross_entropy",
                "init": "xavier",
                "layers": _mlp([8], "tanh", 2),
            },
            "optimizer": {"name": "adam", "lr": 0.02},
            "train": {"epochs": 50, "batch_size": 32},
        },
    ),
    "digits-cnn": (
        "8x8 handwritten digits with a small CNN: watch the 3x3 filters form",
        {
            "data": {"name": "digits"},
            "model": {
                "loss": "softmax_cross_entropy",
                "init": "he",
                "layers": [
                    {"type": "conv2d", "filters": 8, "kernel": 3, "padding": "same"},
                    {"type": "relu"},
                    {"type": "maxpool2d", "size": 2},
                    {"type": "flatten"},
                    *_mlp([32], "relu", 10),
                ],
            },
            "optimizer": {"name": "adam", "lr": 0.005},
            "train": {"epochs": 15, "batch_size": 32},
        },
    ),
    "digits-dbn": (
        "a deep belief net: two rbm layers pretrain without labels, then plain SGD fine-tunes",
        {
            "data": {"name": "digits", "normalize": "minmax"},  # rbm inputs must be in [0, 1]
            "model": {
                "loss": "softmax_cross_entropy",
                "init": "he",
                "layers": [
                    {"type": "flatten"},
                    # measured (seeds 0-2): 93-95% val after 20 epochs; 87-89% with
                    # pretrain_epochs = 0 on both layers
                    {"type": "rbm", "units": 128, "pretrain_epochs": 10},
                    {"type": "rbm", "units": 64, "pretrain_epochs": 10},
                    {"type": "dense", "units": 10},
                ],
            },
            "optimizer": {"name": "sgd", "lr": 0.1},
            "train": {"epochs": 20, "batch_size": 32},
        },
    ),
    "mnist-lenet": (
        "LeNet-style CNN on MNIST (needs the IDX files: tuidl data fetch mnist)",
        {
            "data": {"name": "mnist"},
            "model": {
                "loss": "softmax_cross_entropy",
                "init": "he",
                "layers": [
                    {"type": "conv2d", "filters": 8, "kernel": 5, "padding": "same"},
                    {"type": "relu"},
                    {"type": "maxpool2d", "size": 2},
                    {"type": "conv2d", "filters": 16, "kernel": 5},
                    {"type": "relu"},
                    {"type": "maxpool2d", "size": 2},
                    {"type": "flatten"},
                    *_mlp([120], "relu", 10),
                ],
            },
            "optimizer": {"name": "momentum", "lr": 0.01, "momentum": 0.9},
            "train": {"epochs": 10, "batch_size": 64},
        },
    ),
    "deep-sigmoid": (
        "10 sigmoid layers: gradients vanish, the first layers barely learn",
        _deep("sigmoid", "xavier"),
    ),
    "deep-relu": (
        "the same 10 layers with relu and He init: gradients reach the first layer",
        _deep("relu", "he"),
    ),
    "dying-relu": (
        "deep-relu with Adam at lr 0.05: its big first steps leave most relu units dead",
        # measured (seeds 0-4): the dead_relu alert at the first epoch's end, 78-97% dead
        _deep("relu", "he", {"name": "adam", "lr": 0.05}),
    ),
    "adding-rnn": (
        "the adding problem (T=50) with a plain tanh RNN: it cannot bridge 50 steps",
        _adding("rnn"),
    ),
    "exploding-rnn": (
        "adding-rnn with SGD, unclipped: gradients explode, the loss overflows (try clip_norm=1)",
        # measured (seeds 0-4): the exploding alert at step 9-11, the loss inf at step 22-31;
        # at lr 0.05 one seed in five trained calmly
        _adding("rnn", {"name": "sgd", "lr": 0.1}),
    ),
    "adding-lstm": (
        "the same adding problem with an LSTM: the gates carry the two numbers to the end",
        _adding("lstm"),
    ),
    # surfaces: a point on f(x, y), one update per epoch, its path drawn live
    **surface_presets(),
}
PRESETS |= LESSONS  # init-*, optimizers-mnist, overfit, bn-scale ...: tuidl/lessons.py


# lesson cards (what to watch, and what to try) of the presets whose tables carry none
CARDS = {
    "spiral-mlp": "The decision boundary (right) starts as a line and curls round the arms as "
    "the hidden layers learn. Beside it, the space panel shows the plane as a hidden layer maps "
    "it: grid lines bent, the two arms moved apart (h and u pick the layer and two units).",
    "xor-mlp": "No straight line separates XOR. Watch the boundary bend into two bands; the "
    "space panel shows the hidden layer folding the plane so that a line can.",
    "digits-cnn": "Watch the 3x3 filters (right) go from noise to edge and stroke detectors, "
    "and the feature maps light up on the digit's strokes (f: filters, i: input). "
    "w browses the digits it still gets wrong.",
    "digits-dbn": "First the rbm layers pretrain without labels (the curve shows their "
    "reconstruction error), then SGD fine-tunes. The first rbm's weights show as 8x8 "
    "pictures, one per unit: they take shape while pretraining, before any label is seen.",
    "mnist-lenet": "LeNet on real MNIST: loss and accuracy per epoch, 5x5 filters turning into "
    "stroke detectors, the confusion matrix filling its diagonal. w browses the mistakes.",
    "deep-sigmoid": "Ten sigmoid layers: the gradient heatmap's first rows stay dark. The "
    "vanishing-gradient alert names them. Try deep-relu (relu and He init) or batch norm.",
    "deep-relu": "The same ten layers with relu and He init: the heatmap stays lit down to the "
    "first layer, and the loss falls much faster than deep-sigmoid's.",
    "dying-relu": "Adam at lr 0.05 makes huge first steps: most relu units die (dead fractions "
    "in the activations panel, the dead-relu alert). Try a smaller learning rate.",
    "adding-rnn": "A plain RNN must carry two numbers across 50 steps: its loss stalls near the "
    "guess-the-mean level (0.17). Compare adding-lstm.",
    "exploding-rnn": "Unclipped SGD on an RNN: watch the gradient bars climb off the scale and "
    "the exploding alert fire before the loss overflows. Try optimizer.clip_norm=1.",
    "adding-lstm": "The LSTM's gates carry the two marked numbers to the end: the loss drops "
    "far below adding-rnn's plateau.",
    "surface-bowl": "The point rolls down x²/20 + y² from (-7, 2). SGD zig-zags across the "
    "steep y while it crawls along the flat x; momentum swings past and back; AdaGrad and Adam "
    "take y's steep slope down first. Race all seven on the compare screen (c, then s) or with "
    "tuidl compare surface-bowl.",
    "surface-rosenbrock": "A curved, flat-bottomed valley: SGD, at the most its steep walls "
    "allow, crawls along it; momentum, Nesterov and Adam reach near the minimum at (1, 1). "
    "Race them: c, then s.",
    "surface-saddle": "At a saddle the gradient vanishes: SGD's steps shrink with it and it "
    "lingers there, while the adaptive optimizers, which scale small gradients up, escape into "
    "a valley at y = ±1. Race them: c, then s.",
    "surface-local-minimum": "Two wells: from (2, 1) most optimizers settle in the shallow one "
    "at x = 0.96; momentum and Nesterov carry enough speed over the bump into the deep one at "
    "x = -1.04. Race them: c, then s.",
}


def preset(name: str) -> Experiment:
    """The built-in experiment `name`, with its lesson card (its own, else from CARDS, else
    its about line)."""
    if name not in PRESETS:
        raise ConfigError(f"no preset named {name!r}{did_you_mean(name, PRESETS)}")
    about, tables = PRESETS[name]
    lesson = tables.get("lesson") or CARDS.get(name, about)
    return Experiment.from_dict({"name": name, "seed": 0, **tables, "lesson": lesson})


def resolve_experiment(argument: str) -> Experiment:
    """An EXPERIMENT argument: a `.toml` file (or any existing file), else a preset name."""
    path = Path(argument)
    if argument.endswith(".toml") or path.exists():
        return Experiment.load(path)
    if argument not in PRESETS:
        raise ConfigError(
            f"{argument!r} is neither a preset nor a file{did_you_mean(argument, PRESETS)} "
            "(tuidl presets lists them)"
        )
    return preset(argument)
