"""`Surface`: a model that is one point on a 2-D function, to watch optimizers find their way.

No network here: the layer's one parameter `p` is a position (x, y), its output is f(x, y) for
every sample (the input is ignored) and the `value` loss is that output itself, so a training
step is the optimizer's step downhill on f from where the point stands, taken by the same
`Trainer` and optimizers as any run (Deep Learning from Scratch, ch. 6, `optimizer_compare_naive`).
Every logged step record gets the point's `position` (`step_fields`).

`FUNCTIONS` holds the surfaces by name (value, gradient, the region drawn, the minima) and
`LESSON_RATES` the learning rate of each optimizer on each, the rates the surface presets use
and `tuidl compare` races them at.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..suggest import did_you_mean
from .base import Layer, Shape


@dataclass(frozen=True)
class Function:
    """One surface: f and its gradient (numpy arrays or scalars in, the same out).

    Attributes:
        formula: f as text, for titles and `about` lines.
        start: where the surface presets start.
        extent: (x0, x1, y0, y1), the region drawn.
        minima: the minima, the global one first.
        lowest: f at the global minimum (contour levels are spaced on f - lowest).
    """

    formula: str
    value: Callable[[Any, Any], Any]
    gradient: Callable[[Any, Any], tuple[Any, Any]]
    start: tuple[float, float]
    extent: tuple[float, float, float, float]
    minima: tuple[tuple[float, float], ...]
    lowest: float


# the local-minimum surface: a double well along x, tilted so the well at x < 0 is the deeper
TILT = 0.3


def _well_minimum(side: float) -> float:
    """The x of the tilted double well's minimum on `side` (+1, -1): Newton on f'(x) = 0."""
    x = side
    for _ in range(50):
        x -= (4 * x**3 - 4 * x + TILT) / (12 * x**2 - 4)
    return x


_GLOBAL_X, _LOCAL_X = _well_minimum(-1.0), _well_minimum(1.0)

FUNCTIONS: dict[str, Function] = {
    # DLFS's f = x²/20 + y²: 20 times steeper across (y) than along (x)
    "bowl": Function(
        "x²/20 + y²",
        lambda x, y: x * x / 20 + y * y,
        lambda x, y: (x / 10, 2 * y),
        (-7.0, 2.0), (-10.0, 10.0, -3.0, 3.0), ((0.0, 0.0),), 0.0,
    ),
    "rosenbrock": Function(
        "(1 - x)² + 100 (y - x²)²",
        lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2,
        lambda x, y: (-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)),
        (-1.5, 2.0), (-2.0, 2.0, -1.0, 3.0), ((1.0, 1.0),), 0.0,
    ),
    # x² - y² near (0, 0); y⁴/2 bounds it below (minima at y = ±1), so no run falls forever
    "saddle": Function(
        "x² - y² + y⁴/2",
        lambda x, y: x * x - y * y + y**4 / 2,
        lambda x, y: (2 * x, 2 * y**3 - 2 * y),
        (-1.5, 0.001), (-2.0, 2.0, -2.0, 2.0), ((0.0, 1.0), (0.0, -1.0)), -0.5,
    ),
    "local-minimum": Function(
        f"(x² - 1)² + {TILT} x + y²",
        lambda x, y: (x * x - 1) ** 2 + TILT * x + y * y,
        lambda x, y: (4 * x * (x * x - 1) + TILT, 2 * y),
        (2.0, 1.0), (-2.0, 2.5, -1.5, 1.5), ((_GLOBAL_X, 0.0), (_LOCAL_X, 0.0)),
        (_GLOBAL_X**2 - 1) ** 2 + TILT * _GLOBAL_X,
    ),
}  # fmt: skip

# Learning rate of each optimizer per surface (its other keys at their defaults). The bowl's
# sgd, momentum, adagrad and adam are DLFS's (fig. 6-8); the rest were chosen here from runs of
# each preset's length: the largest round rate that stays stable and shows the optimizer's
# way. Adadelta scales steps that start at sqrt(eps) = 1e-3 (its lr of 1 hardly moves in 30
# updates), hence its large rates.
LESSON_RATES: dict[str, dict[str, float]] = {
    "bowl": {"sgd": 0.95, "momentum": 0.1, "nesterov": 0.1, "adagrad": 1.5, "rmsprop": 0.3,
             "adadelta": 100.0, "adam": 0.3},
    "rosenbrock": {"sgd": 0.001, "momentum": 0.001, "nesterov": 0.001, "adagrad": 0.5,
                   "rmsprop": 0.02, "adadelta": 5.0, "adam": 0.1},
    "saddle": {"sgd": 0.05, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.3,
               "rmsprop": 0.05, "adadelta": 30.0, "adam": 0.1},
    "local-minimum": {"sgd": 0.05, "momentum": 0.02, "nesterov": 0.02, "adagrad": 0.5,
                      "rmsprop": 0.05, "adadelta": 30.0, "adam": 0.2},
}  # fmt: skip


# each surface preset's updates (epochs) and what to watch in it (its `about` line)
LESSONS: dict[str, tuple[int, str]] = {
    "bowl": (30, "DLFS's bowl x²/20 + y² from (-7, 2): SGD zig-zags across the steep y, "
                 "crawls along x"),
    "rosenbrock": (500, "Rosenbrock's curved valley: SGD, at the most its steep walls allow, "
                        "crawls along the floor toward (1, 1)"),
    "saddle": (50, "a saddle at (0, 0): SGD's steps shrink with the gradient, so it lingers "
                   "there; momentum and the adaptive optimizers roll off"),
    "local-minimum": (80, "two wells: SGD settles in the shallow one at x = 0.96; momentum "
                          "carries over the hump into the deeper one at x = -1.04"),
}  # fmt: skip


def surface_presets() -> dict[str, tuple[str, dict[str, Any]]]:
    """The presets `surface-<function>`, as `tuidl.presets.PRESETS` holds them: (about line,
    experiment tables); `tuidl compare` races the seven optimizers on each."""
    return {
        f"surface-{function}": (about, surface_experiment(function, epochs))
        for function, (epochs, about) in LESSONS.items()
    }


def surface_experiment(function: str, epochs: int, optimizer: str = "sgd") -> dict[str, Any]:
    """The experiment tables (no name, no seed) of a point starting at `function`'s start,
    trained with `optimizer` at its lesson rate: `point` data and batch size 1 make each
    epoch one update, and every step is logged, so the path has every position. `[compare]`
    races the seven optimizers at their lesson rates."""
    start = list(FUNCTIONS[function].start)
    rates = LESSON_RATES[function]
    return {
        "data": {"name": "point"},
        "model": {"loss": "value", "layers": [
            {"type": "surface", "function": function, "start": start}]},
        "optimizer": {"name": optimizer, "lr": rates[optimizer]},
        "train": {"epochs": epochs, "batch_size": 1, "log_every": 1},
        "compare": {"optimizers": ",".join(f"{name}:{lr:g}" for name, lr in rates.items())},
    }  # fmt: skip


def surface_function(model: dict[str, Any]) -> str | None:
    """The function of a `[model]` table whose model is a surface (None for any other)."""
    layers = model.get("layers", [])
    if len(layers) == 1 and isinstance(layers[0], dict) and layers[0].get("type") == "surface":
        return layers[0].get("function")
    return None


def surface_problem(layers: list[Layer], loss: str) -> str:
    """Why these layers and loss make no model ('' when they do): a surface layer is a whole
    model on its own, trained with the `value` loss. The value loss is not refused to a
    network (it pushes the output down without bound): the build screen checks a loss on its
    own, on a stand-in network."""
    surfaces = [index for index, layer in enumerate(layers) if isinstance(layer, Surface)]
    if surfaces and len(layers) > 1:
        return (
            f"layer {surfaces[0]} (surface) is a whole model (a point on a 2-D function), "
            f"but [model] has {len(layers)} layers; keep the surface layer alone"
        )
    if surfaces and loss != "value":
        return f'a surface layer outputs its function\'s value; use loss = "value", not "{loss}"'
    return ""


class Surface(Layer):
    """A point `p = (x, y)` on the function `function`, starting at `start`.

    Shapes: input (N, *any) (ignored), output (N, 1), every row f(x, y); `p` (2,). Backward
    sets `grads["p"] = sum(dy) * ∇f` at the point of the last training forward pass, and
    gives the input no gradient (zeros).

    Args:
        function: one of FUNCTIONS (bowl, rosenbrock, saddle, local-minimum).
        start: [x, y] to start at; the function's own start when None.
    """

    type = "surface"
    shrink_hint = "a surface has two parameters"

    def __init__(self, function: str, start: list[float] | None = None) -> None:
        super().__init__()
        if function not in FUNCTIONS:
            raise ValueError(f"unknown function {function!r}{did_you_mean(function, FUNCTIONS)}")
        if start is None:
            start = list(FUNCTIONS[function].start)
        if (
            not isinstance(start, list | tuple)
            or len(start) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in start)
            or not all(math.isfinite(v) for v in start)
        ):
            raise ValueError(f"start must be two finite numbers [x, y], got {start!r}")
        self.function = function
        self.start = [float(v) for v in start]
        self._f = FUNCTIONS[function]
        self._at: np.ndarray | None = None  # the point of the last training forward pass

    def get_config(self) -> dict[str, Any]:
        return {"function": self.function, "start": list(self.start)}

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (1,)

    def param_count(self, input_shape: Shape) -> int:
        return 2

    def build(self, input_shape: Shape, rng: np.random.Generator, init: str | None = None) -> Shape:
        """The start is the initial value: no initializer, no randomness."""
        shape = super().build(input_shape, rng, init)
        self.params = {"p": np.array(self.start, np.float32)}
        self.grads = {"p": np.zeros(2, np.float32)}
        self._at = None
        return shape

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        p = self.params["p"]
        if train:  # backward and the step record need the point the loss was taken at
            self._at = p.copy()
            self._input_shape = x.shape
        value = self._f.value(p[0], p[1])
        return np.full((len(x), 1), value, dtype=p.dtype)

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        gx, gy = self._f.gradient(self._at[0], self._at[1])
        grad = self.grads["p"]
        grad[0], grad[1] = gx, gy
        grad *= dy.sum(dtype=grad.dtype)
        if not self.needs_input_grad:
            return None
        return np.zeros(self._input_shape, dy.dtype)

    def step_fields(self) -> dict[str, Any]:
        """`position`: where the step's loss and gradient were taken, before its update (the
        start at step 1); `surface`: the function's name, so a view can draw it."""
        at = self.params["p"] if self._at is None else self._at
        return {"position": [float(at[0]), float(at[1])], "surface": self.function}
