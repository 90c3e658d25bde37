"""Sequential model: a stack of layers with a loss, built from an experiment's `[model]` table."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ConfigError
from .initializers import InitSpec, check_init
from .layers import Conv2D, MaxPool2D, ReLU, Softmax, make_layer
from .layers.base import Layer, Shape
from .layers.surface import surface_problem
from .losses import LOSSES, Loss, SoftmaxCrossEntropy
from .suggest import did_you_mean
from .validate import memory_to_spare, size_text, within_memory

MODEL_KEYS = ("loss", "init", "layers")
FLAT_KEY = "model"  # the one key of `trainable()`: all parameters as one flat array
FLOAT_BYTES = 4  # training runs in float32
# a parameter lives on in training as float32 weights, gradients, two optimizer slots (adam),
# early stopping's best weights and the copy a checkpoint writes
TRAIN_BYTES_PER_PARAM = 6 * FLOAT_BYTES


class Sequential:
    """Layers applied in order, then a loss on the last layer's output (the logits).

    A last softmax layer with loss = "softmax_cross_entropy" is fused with it: the loss reads
    the softmax's input (`logit_layers`, `logits`) in training and evaluation, so softmax runs
    once, stably, while `forward` and `predict` return probabilities.

    `build` infers every output shape from the input shape before any data flows and names
    layers `<type>_<k>` (k counts layers of that type), which key `params`, `grads`,
    optimizer state and checkpoints as `"<layer name>.<key>"`, e.g. `"conv2d_0.W"`.

    Training and evaluation run the layers in `run_layers`: the declared order, except that a
    relu followed by a max pool runs after it (`pool_before_relu`). `forward_to` keeps the
    declared order, so a relu's output is still the one the network defines.
    """

    def __init__(self, layers: list[Layer], loss: str = "mse", init: InitSpec = "he") -> None:
        if loss not in LOSSES:
            raise ConfigError(f"unknown loss {loss!r}{did_you_mean(loss, LOSSES)}")
        try:
            init = check_init(init)
        except ValueError as error:
            raise ConfigError(f"[model] {error}") from None
        if not layers:
            raise ConfigError("the model has no layers; add at least one to [model] layers")
        self.layers = layers
        self.loss_name, self.init = loss, init
        self.loss: Loss = LOSSES[loss]()
        last = layers[-1]
        if isinstance(last, Softmax) and loss == "binary_cross_entropy":
            raise ConfigError(
                f"layer {len(layers) - 1} (softmax) feeds binary_cross_entropy, which applies a "
                'sigmoid to its probabilities; use loss = "softmax_cross_entropy" (fused with '
                "the softmax) or remove the softmax layer"
            )
        problem = surface_problem(layers, loss)
        if problem:
            raise ConfigError(problem)
        fused = isinstance(last, Softmax) and isinstance(self.loss, SoftmaxCrossEntropy)
        self.logit_layers = layers[:-1] if fused else layers  # the layers the loss backprops
        self.run_layers = pool_before_relu(self.logit_layers)
        self._run_all = self.run_layers + layers[len(self.logit_layers) :]
        self.input_shape: Shape | None = None
        self.output_shape: Shape | None = None
        self._name_layers()

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """Make an unbuilt model from a `[model]` table: `loss`, `init`, `layers`."""
        for key in config:
            if key not in MODEL_KEYS:
                raise ConfigError(f"[model]: unknown key {key!r}{did_you_mean(key, MODEL_KEYS)}")
        specs = config.get("layers", [])
        if not isinstance(specs, list):
            raise ConfigError('[model] layers must be a list of tables like { type = "dense" }')
        layers = [make_layer(spec, index) for index, spec in enumerate(specs)]
        return cls(layers, loss=config.get("loss", "mse"), init=config.get("init", "he"))

    def get_config(self) -> dict[str, Any]:
        return {
            "loss": self.loss_name,
            "init": self.init,
            "layers": [{"type": layer.type, **layer.get_config()} for layer in self.layers],
        }

    def _name_layers(self) -> None:
        counts: dict[str, int] = {}
        for layer in self.layers:
            k = counts.get(layer.type, 0)
            counts[layer.type] = k + 1
            layer.name = f"{layer.type}_{k}"

    def build(self, input_shape: Shape, rng: np.random.Generator) -> Shape:
        """Build every layer in order; a shape that does not fit names the layer and shapes.

        Raises:
            ConfigError: "layer 3 (dense) ... input shape (8, 14, 14) ...".
        """
        shape = self.input_shape = tuple(input_shape)
        params = 0
        for index, layer in enumerate(self.layers):
            shape = build_layer(layer, index, shape, rng, self.init, params)
            params += sum(value.size for value in layer.params.values())
        self.layers[0].needs_input_grad = False
        self.output_shape = shape
        self._pack()
        return shape

    def _pack(self) -> None:
        """Move every parameter and gradient into one flat buffer each, the layers keeping
        views into them (layer by layer, in order). Layers update these arrays in place, so
        per-layer diagnostics cost one numpy call per layer instead of one per array.
        """
        arrays = [value for layer in self.layers for value in layer.params.values()]
        dtype = arrays[0].dtype if arrays else np.float32
        total = sum(value.size for value in arrays)
        self.flat_params = np.empty(total, dtype)
        self.flat_grads = np.zeros(total, dtype)
        self.layer_slices: dict[str, slice] = {}
        offset = 0
        for layer in self.layers:
            start = offset
            for key, value in layer.params.items():
                end = offset + value.size
                layer.params[key] = self.flat_params[offset:end].reshape(value.shape)
                layer.params[key][...] = value
                layer.grads[key] = self.flat_grads[offset:end].reshape(value.shape)
                offset = end
            if offset > start:
                self.layer_slices[layer.name] = slice(start, offset)

    def named_layers(self) -> Iterator[tuple[str, Layer]]:
        for layer in self.layers:
            yield layer.name, layer

    def trainable(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """`({"model": flat_params}, {"model": flat_grads})`: what the trainer passes to
        `optimizer.step`, so an update is a few numpy calls per step, not a few per array.
        Optimizer state (and checkpoints) are then keyed `"<slot>/model"`.
        """
        return {FLAT_KEY: self.flat_params}, {FLAT_KEY: self.flat_grads}

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Every trainable array by `"<layer>.<key>"` (the live arrays, updated in place)."""
        return {f"{l.name}.{k}": v for l in self.layers for k, v in l.params.items()}  # noqa: E741

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """Gradients from the last `backward`, keyed as `params`."""
        return {f"{l.name}.{k}": v for l in self.layers for k, v in l.grads.items()}  # noqa: E741

    def state(self) -> dict[str, np.ndarray]:
        """Non-trainable arrays (batchnorm running statistics), keyed as `params`."""
        return {f"{l.name}.{k}": v for l in self.layers for k, v in l.state().items()}  # noqa: E741

    def step_fields(self) -> dict[str, Any]:
        """Fields the layers add to every logged step record (a surface's `position`)."""
        fields: dict[str, Any] = {}
        for layer in self.layers:
            fields.update(getattr(layer, "step_fields", dict)())
        return fields

    def count_params(self) -> int:
        return sum(value.size for value in self.params.values())

    def activation_floats(self) -> int:
        """About how many numbers a training step of a built model keeps per sample: the
        input and what each layer keeps (`Layer.activation_floats`)."""
        floats = math.prod(self.input_shape)
        return floats + sum(layer.activation_floats(layer.input_shape) for layer in self.layers)

    def astype(self, dtype: np.dtype) -> None:
        """Convert every parameter and state array, e.g. to float64 for a gradient check."""
        for layer in self.layers:
            layer.astype(dtype)
        self._pack()

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        """The last layer's output for a batch `x (N, *input_shape)`."""
        for layer in self._run_all:
            x = layer.forward(x, train)
        return x

    def forward_to(self, x: np.ndarray, last: Layer) -> np.ndarray:
        """The output of layer `last` for a batch `x`, in evaluation mode."""
        for layer in self.layers:
            x = layer.forward(x, train=False)
            if layer is last:
                break
        return x

    def logits(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        """What the loss reads for a batch: `forward` without a fused softmax."""
        for layer in self.run_layers:
            x = layer.forward(x, train)
        return x

    def backward(self, dy: np.ndarray) -> None:
        """Backprop `dy` (gradient of the loss w.r.t. the logits), filling every layer's grads."""
        for layer in reversed(self.run_layers):
            dy = layer.backward(dy)

    def loss_and_grads(self, x: np.ndarray, t: np.ndarray) -> float:
        """One training-mode forward and backward pass; returns the mean loss of the batch."""
        loss = self.loss.forward(self.logits(x, train=True), t)
        self.backward(self.loss.backward())
        return loss

    def predict(self, x: np.ndarray, batch_size: int = 256, logits: bool = False) -> np.ndarray:
        """`forward` (or with `logits`, what the loss reads) for any number of samples, in
        evaluation mode, `batch_size` at a time."""
        forward = self.logits if logits else self.forward
        outputs = [forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        return np.concatenate(outputs)

    def summary(self) -> list[tuple[str, Shape, int]]:
        """(layer name, output shape, parameter count) per layer of a built model."""
        return [
            (layer.name, layer.output_shape, sum(v.size for v in layer.params.values()))
            for layer in self.layers
        ]

    def weight_sharing(self) -> list[tuple[str, Shape, Shape, int, int]]:
        """What sharing its kernels saves each conv2d layer of a built model: (name, input
        shape, output shape, its parameter count, the parameter count of a dense layer between
        the same sizes: in * out weights and out biases)."""
        return [
            (
                layer.name,
                layer.input_shape,
                layer.output_shape,
                sum(v.size for v in layer.params.values()),
                (math.prod(layer.input_shape) + 1) * math.prod(layer.output_shape),
            )
            for layer in self.layers
            if isinstance(layer, Conv2D)
        ]


def pool_before_relu(layers: list[Layer]) -> list[Layer]:
    """`layers` with each relu that feeds a max pool moved after it (not a first layer).

    max and relu commute: max(relu(x)) = relu(max(x)) to the bit, so the relu runs on the
    pooled map, a quarter of the numbers at 2x2 (LeNet: 0.2 ms of a 5.9 ms step, and a pass
    over memory that a second thread does not speed up). The gradients agree too: a window
    whose maximum is positive routes dy to the same first maximal element either way; one whose
    maximum is not positive gets zero gradient either way (at most the sign of a zero differs).
    """
    order = list(layers)
    for k in range(1, len(order) - 1):
        if type(order[k]) is ReLU and isinstance(order[k + 1], MaxPool2D):
            order[k], order[k + 1] = order[k + 1], order[k]
    return order


def build_layer(
    layer: Layer,
    index: int,
    shape: Shape,
    rng: np.random.Generator,
    init: InitSpec,
    params_before: int = 0,
) -> Shape:
    """Build the `index`-th layer on input `shape`; returns its output shape.

    The shapes and the parameter count are checked before anything is allocated: with the
    `params_before` of the layers before it, the parameters must fit in memory for training.

    Raises:
        ConfigError: the shape does not fit, naming the layer and the shapes; or the model
            would be too big to train, naming the layer, its parameter count and the fix.
    """
    where = f"layer {index} ({layer.type})"
    try:
        out = tuple(layer.compute_output_shape(shape))
        count = layer.param_count(shape)
    except ValueError as error:
        raise ConfigError(f"{where} with input shape {shape}: {error}") from None
    if any(size < 1 for size in out):
        raise ConfigError(
            f"{where} turns input shape {shape} into {out}, which is empty; use a smaller "
            "kernel or stride, or padding"
        )
    total = params_before + count
    before = f", {total:,} with the layers before it" if params_before else ""
    try:
        within_memory("training them", total * TRAIN_BYTES_PER_PARAM)
    except ValueError as error:
        raise ConfigError(
            f"{where} has {count:,} parameters{before}: {error}; {layer.shrink_hint}"
        ) from None
    layer.build(shape, rng, init)
    return out


@dataclass
class LayerReport:
    """One layer of a draft model: its spec, and its output shape and parameter count, or
    the problem that stops it (then `output_shape` is None)."""

    index: int
    type: str
    spec: dict[str, Any] = field(default_factory=dict)
    output_shape: Shape | None = None
    params: int = 0
    problem: str = ""


def report_layers(
    specs: list[dict[str, Any]], input_shape: Shape | None, init: InitSpec = "he"
) -> list[LayerReport]:
    """Each layer of a draft built in turn, as far as it goes (the build screen's table).

    A spec that makes no layer (unknown type or key) or a shape that does not fit gets its
    message, as `Sequential.from_config` and `build` would raise it; the layers after a shape
    problem, and all of them without an `input_shape` (data not loaded), get no shape.
    """
    rng = np.random.default_rng(0)
    try:
        check_init(init)
    except ValueError:  # a bad init is the model's problem, reported as such
        init = "he"
    shape = None if input_shape is None else tuple(input_shape)
    reports = []
    params = 0
    for index, spec in enumerate(specs):
        report = LayerReport(index, str(spec.get("type", "?")), dict(spec))
        reports.append(report)
        try:
            layer = make_layer(spec, index)
            if shape is not None:
                shape = build_layer(layer, index, shape, rng, init, params)
        except ConfigError as error:
            report.problem = str(error)
            shape = None
            continue
        if shape is not None:
            report.output_shape = shape
            report.params = int(sum(value.size for value in layer.params.values()))
            params += report.params
    return reports


def batch_problem(model: Sequential, batch_size: int, train_samples: int) -> str:
    """Why training a built model `batch_size` samples at a time would not fit in memory
    beside its parameters ('' when it does). A batch is at most the whole training split."""
    batch = min(batch_size, train_samples)
    what = f"training {batch:,} samples at a time"
    if batch < batch_size:
        what += " (the whole training split)"
    per_sample = model.activation_floats() * FLOAT_BYTES
    params = model.count_params() * TRAIN_BYTES_PER_PARAM
    try:
        within_memory(what, params + batch * per_sample)
    except ValueError as error:
        fits = int((memory_to_spare() - params) // per_sample)
        if fits < 1:
            return (
                f"{error}, with {size_text(per_sample)} of activations per sample; make the "
                "layers' outputs smaller (fewer filters or units, a stride or pooling)"
            )
        return f"{error}; use train.batch_size = {fits:,} or less"
    return ""


def output_problem(shape: Shape, dataset, loss: str | None = None) -> str:
    """Why a model's output `shape` (and its `loss`, when given) does not fit the dataset's
    targets ('' when it does)."""
    if loss == "value":  # it reads no targets
        return ""
    labels = np.issubdtype(dataset.y_train.dtype, np.integer)
    if loss is not None:
        problem = _loss_problem(shape, dataset, loss, labels)
        if problem:
            return problem
    if dataset.task in ("classification", "sequence") and labels:
        if shape[-1] != dataset.num_outputs:
            return (
                f"the last layer gives shape {shape} but {dataset.name} has "
                f"{dataset.num_outputs} classes; make the last dense layer units = "
                f"{dataset.num_outputs}"
            )
    elif shape != dataset.y_train.shape[1:]:
        return (
            f"the last layer gives shape {shape} but {dataset.name}'s targets have shape "
            f"{dataset.y_train.shape[1:]}; make the last layer match"
        )
    return ""


def _loss_problem(shape: Shape, dataset, loss: str, labels: bool) -> str:
    """Why `loss` cannot compare the model's outputs with the dataset's targets ('' if it can).

    Class labels (integers) need softmax_cross_entropy, or mse (which compares them as one-hot
    rows): binary_cross_entropy reads targets of the output's shape. Regression targets need a
    loss that reads them as values, binary_cross_entropy only those in [0, 1].
    """
    if labels and loss == "binary_cross_entropy":
        return (
            f'loss = "{loss}" needs targets of the output\'s shape {shape}, but {dataset.name} '
            'has class labels; use loss = "softmax_cross_entropy" for class labels'
        )
    if not labels and loss == "softmax_cross_entropy":
        classes = ' (or [data] task = "classification")' if dataset.name.startswith("csv:") else ""
        return (
            f'loss = "softmax_cross_entropy" needs class labels, but {dataset.name} has '
            f'regression targets of shape {dataset.y_train.shape[1:]}; use loss = "mse"{classes}'
        )
    if not labels and loss == "binary_cross_entropy" and len(dataset.y_train):
        low, high = float(dataset.y_train.min()), float(dataset.y_train.max())
        if low < 0 or high > 1:
            return (
                f'loss = "binary_cross_entropy" needs targets in [0, 1], but {dataset.name}\'s '
                f'run from {low:g} to {high:g}; use loss = "mse"'
            )
    return ""
