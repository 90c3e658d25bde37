"""The catalog: every dataset name, its `[data]` keys, and `load_dataset`.

Names: spiral circles xor gauss moons (2D classification), sine adding reber (sequences),
digits (bundled images), mnist fashion-mnist (IDX files), point (one sample, for surface
models), noise (N(0, 1) inputs, for looking at a network's initial activations), and the user
forms csv:PATH, idx:DIR, text:PATH. `DATASETS` maps each name (the user forms under
`csv:PATH` ...) to a `DatasetInfo` that `tuidl data list` and the app's picker show. A
relative PATH is taken from the current directory; `~` is expanded.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..suggest import did_you_mean
from ..validate import within_memory
from . import sequences, synthetic
from .csvdata import load_csv
from .dataset import LOAD_COPIES, Dataset, Raw, finish
from .digits import SOURCE as DIGITS_SOURCE
from .digits import digits_file, load_digits_arrays
from .mnist import load_idx_dir, load_mnist, locate
from .normalize import METHODS
from .params import Param, resolve_params
from .text import load_text

# (params, rng, data_dir, path) -> Raw; path is set for the user forms only
Loader = Callable[..., Raw]


@dataclass(frozen=True)
class DatasetInfo:
    """What the catalog knows about a dataset before loading it.

    Attributes:
        name: the catalog name; user forms read `csv:PATH`, `idx:DIR`, `text:PATH`.
        kind: `2d`, `sequence`, `image`, `table` or `text`.
        task: `classification`, `regression` or `sequence` (see `Dataset`).
        shape: one sample's input shape with the defaults, as text: `(2,)`, `(1, 28, 28)`.
        size: sample count with the defaults, as text.
        source: where the data comes from.
        summary: one line saying what it is.
        params: the `[data]` keys it takes beyond name, val_split, normalize.
    """

    name: str
    kind: str
    task: str
    shape: str
    size: str
    source: str
    summary: str
    params: dict[str, Param] = field(default_factory=dict)
    loader: Loader | None = field(default=None, repr=False)

    @property
    def prefix(self) -> str | None:
        """`csv`, `idx` or `text` for the user forms, else None."""
        return self.name.split(":")[0] if ":" in self.name else None


def _n(default: int) -> Param:
    return Param("int", default, "number of samples", low=2, high=10_000_000)


def _noise(default: float, help: str = "standard deviation of Gaussian noise") -> Param:
    return Param("float", default, help, low=0.0, high=10.0)


def _classes(default: int) -> Param:
    return Param("int", default, "number of classes", low=2, high=12, aliases=("arms",))


_N_TRAIN = Param("int", None, "training images kept: the first of the training split (all)",
                 low=1, high=10_000_000)  # fmt: skip


def _check_n(name: str, n: int, classes: int) -> None:
    if n < 2 * classes:
        raise ConfigError(f"[data] n = {n} is too small for {name}: use n >= {2 * classes}")


def _planar(name: str, make: Callable, names: Callable[[int], list[str]]) -> Loader:
    def load(p: dict, rng: np.random.Generator, data_dir: str | None, path: Path | None) -> Raw:
        classes = p.get("classes", 2)
        _check_n(name, p["n"], classes)
        args = (p["n"], classes, p["noise"]) if "classes" in p else (p["n"], p["noise"])
        x, y = make(*args, rng)
        source = f"generated ({name}, seeded)"
        return Raw(x, y, "classification", classes, "flat", source, class_names=names(classes))

    return load


def _check_generated(name: str, n: int, steps: int, bytes_per_step: int) -> None:
    """A ConfigError when `n` sequences of `steps` steps would not fit in memory."""
    try:
        within_memory(f"generating {n:,} sequences of {steps:,} steps", n * steps * bytes_per_step)
    except ValueError as error:
        raise ConfigError(f"[data] {name}: {error}; use a smaller n or sequence length") from None


# bytes per step while generating (float64 draws, their float32 copy) and then splitting and
# normalizing (LOAD_COPIES float32 copies): sine 1 channel, adding 2, reber 7 one-hot and a label
def _sine(p, rng, data_dir, path) -> Raw:
    _check_generated("sine", p["n"], p["window"], 28 + 4 * LOAD_COPIES)
    x, y = sequences.sine(p["n"], p["window"], p["noise"], rng)
    return Raw(x, y, "regression", 1, "sequence", "generated (sine, seeded)")


def _adding(p, rng, data_dir, path) -> Raw:
    _check_generated("adding", p["n"], p["T"], 40 + 8 * LOAD_COPIES)
    x, y = sequences.adding(p["n"], p["T"], rng)
    return Raw(x, y, "regression", 1, "sequence", "generated (adding problem, seeded)")


def _reber(p, rng, data_dir, path) -> Raw:
    _check_generated("reber", p["n"], p["T"], 8 + 28 * LOAD_COPIES)
    x, y = sequences.reber(p["n"], p["T"], rng)
    symbols = list(sequences.REBER_SYMBOLS)
    return Raw(
        x,
        y,
        "sequence",
        len(symbols),
        "onehot",
        "generated (embedded Reber, seeded)",
        class_names=symbols,
    )


def _point(p, rng, data_dir, path) -> Raw:
    # a surface model ignores its input and the value loss its target: one sample of each
    # makes every epoch one update (batch_size 1) and leaves nothing to validate on
    return Raw(np.zeros((1, 1)), np.zeros((1, 1)), "regression", 1, "flat", "generated (one point)")


def _gaussian_noise(p, rng, data_dir, path) -> Raw:
    # inputs for measuring what a network does to N(0, 1) before it learns (DLFS ch. 6's
    # weight-init histograms); labels take the classes in turn, balanced and unrelated to x,
    # only so a classifier has targets and every class is present
    _check_n("noise", p["n"], p["classes"])
    try:
        within_memory(f"{p['n']:,} samples of {p['features']:,} features",
                      p["n"] * p["features"] * 4 * (1 + LOAD_COPIES))  # fmt: skip
    except ValueError as error:
        raise ConfigError(f"[data] noise: {error}; use a smaller n or fewer features") from None
    x = rng.standard_normal((p["n"], p["features"]), dtype=np.float32)
    y = rng.permutation(np.arange(p["n"]) % p["classes"])
    names = [str(c) for c in range(p["classes"])]
    return Raw(x, y, "classification", p["classes"], "flat", "generated (N(0, 1), seeded)", names)


def _digits(p, rng, data_dir, path) -> Raw:
    x, y = load_digits_arrays()
    return Raw(
        x, y, "classification", 10, "image", DIGITS_SOURCE, class_names=[str(i) for i in range(10)]
    )


def _mnist(name: str) -> Loader:
    def load(p, rng, data_dir, path) -> Raw:
        return load_mnist(name, data_dir, p["n_train"])

    return load


def _csv(p, rng, data_dir, path) -> Raw:
    return load_csv(path, p["label_column"], p["task"])


def _idx(p, rng, data_dir, path) -> Raw:
    return load_idx_dir(path)


def _text(p, rng, data_dir, path) -> Raw:
    return load_text(path, p["T"], p["stride"], p["n"])


def _info(*args: Any, **kwargs: Any) -> tuple[str, DatasetInfo]:
    info = DatasetInfo(*args, **kwargs)
    return info.name, info


_FASHION = "Zalando Fashion-MNIST: 70,000 28x28 clothing images, 10 classes"
DATASETS: dict[str, DatasetInfo] = dict(
    [
        _info("spiral", "2d", "classification", "(2,)", "400", "generated",
              "interleaved spiral arms (Playground)",
              {"n": _n(400), "classes": _classes(2), "noise": _noise(0.05)},
              _planar("spiral", synthetic.spiral, lambda k: [f"arm {c}" for c in range(k)])),
        _info("circles", "2d", "classification", "(2,)", "400", "generated",
              "a disk inside a ring (Playground)", {"n": _n(400), "noise": _noise(0.05)},
              _planar("circles", synthetic.circles, lambda k: ["inner", "outer"])),
        _info("xor", "2d", "classification", "(2,)", "400", "generated",
              "quadrants: label 1 where x1*x2 > 0 (Playground)",
              {"n": _n(400), "noise": _noise(0.05)},
              _planar("xor", synthetic.xor, lambda k: ["x1*x2<0", "x1*x2>0"])),
        _info("gauss", "2d", "classification", "(2,)", "400", "generated",
              "Gaussian blobs (Playground)",
              {"n": _n(400), "classes": _classes(2),
               "noise": _noise(0.2, "standard deviation of each blob")},
              _planar("gauss", synthetic.gauss, lambda k: [f"blob {c}" for c in range(k)])),
        _info("moons", "2d", "classification", "(2,)", "400", "generated",
              "two interleaved half circles", {"n": _n(400), "noise": _noise(0.1)},
              _planar("moons", synthetic.moons, lambda k: ["upper", "lower"])),
        _info("digits", "image", "classification", "(1, 8, 8)", "1,797", "bundled",
              "8x8 handwritten digits (UCI, via scikit-learn)", {}, _digits),
        _info("mnist", "image", "classification", "(1, 28, 28)", "70,000", "download",
              "LeCun's handwritten digits, 28x28", {"n_train": _N_TRAIN}, _mnist("mnist")),
        _info("fashion-mnist", "image", "classification", "(1, 28, 28)", "70,000",
              "download", _FASHION, {"n_train": _N_TRAIN}, _mnist("fashion-mnist")),
        _info("sine", "sequence", "regression", "(20, 1)", "1,000", "generated",
              "predict the next value of a sine wave from a window",
              {"n": _n(1000), "window": Param("int", 20, "steps in a window", low=2,
                                              high=100_000, aliases=("T", "length")),
               "noise": _noise(0.0)}, _sine),
        _info("adding", "sequence", "regression", "(50, 2)", "1,000", "generated",
              "sum the two marked numbers of a long sequence (long-range memory)",
              {"n": _n(1000), "T": Param("int", 50, "sequence length", low=4, high=100_000,
                                         aliases=("length",))}, _adding),
        _info("reber", "sequence", "sequence", "(24, 7)", "1,000", "generated",
              "embedded Reber grammar: predict the next symbol",
              {"n": _n(1000), "T": Param("int", 24, "padded string length", low=9,
                                         high=10_000, aliases=("length",))}, _reber),
        _info("noise", "table", "classification", "(100,)", "1,000", "generated",
              "N(0, 1) inputs with balanced dummy labels: a network's initial activations",
              {"n": _n(1000), "features": Param("int", 100, "inputs per sample", low=1,
                                                high=100_000), "classes": _classes(2)},
              _gaussian_noise),
        _info("point", "table", "regression", "(1,)", "1", "generated",
              "one blank sample, for surface models (each epoch one update)", {}, _point),
        _info("csv:PATH", "table", "classification", "(F,)", "rows", "your file",
              "numeric CSV with a label column (header detected)",
              {"label_column": Param("column", -1, "label column index or header name"),
               "task": Param("str", "auto", "auto, classification or regression",
                             choices=("auto", "classification", "regression"))}, _csv),
        _info("idx:DIR", "image", "classification", "(1, H, W)", "files", "your folder",
              "a folder of IDX image/label files", {}, _idx),
        _info("text:PATH", "text", "sequence", "(T, V)", "windows", "your file",
              "character-level next-character prediction",
              {"T": Param("int", 32, "characters per window", low=2, high=100_000,
                          aliases=("length", "window")),
               "stride": Param("int", None, "characters between windows (default T)", low=1),
               "n": Param("int", 10_000, "most windows", low=1, high=10_000_000)}, _text),
    ]
)  # fmt: skip
USER_FORMS = {info.prefix: info for info in DATASETS.values() if info.prefix}


def lookup(name: Any) -> tuple[DatasetInfo, Path | None]:
    """The catalog entry for a name (and the path of a user form), or a ConfigError."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"[data] name must be a dataset name, got {name!r}; see tuidl data list")
    prefix, sep, rest = name.partition(":")
    if sep and prefix in USER_FORMS:
        if not rest:
            raise ConfigError(f"[data] name {name!r} needs a path after '{prefix}:'")
        return USER_FORMS[prefix], Path(os.path.expanduser(rest))
    if name in DATASETS and DATASETS[name].prefix is None:
        return DATASETS[name], None
    raise ConfigError(f"unknown dataset {name!r}{did_you_mean(name, DATASETS)}")


def load_dataset(
    name: str,
    *,
    data_dir: str | None = None,
    val_split: float = 0.2,
    normalize: str = "standard",
    seed: int = 0,
    **params: Any,
) -> Dataset:
    """Load a dataset by catalog name, split and normalized.

    Args:
        name: a catalog name (`spiral`, `mnist` ...) or `csv:PATH`, `idx:DIR`, `text:PATH`.
        data_dir: a folder with downloaded data (mnist ...), searched before `$TUIDL_DATA`.
        val_split: fraction of the samples held out for validation, seeded (stratified for
            classification); sets that come split (mnist test files only) ignore it.
        normalize: `none`, `standard`, `minmax` or `pca-whiten`, fitted on the training split
            (what each means per layout: `tuidl.datasets.normalize`).
        seed: seeds generation and the split; the same seed gives the same bytes.
        **params: the dataset's own `[data]` keys (`DATASETS[name].params`).

    Raises:
        ConfigError: unknown name or key, a bad value, missing or damaged files; one line.
    """
    info, path = lookup(name)
    if isinstance(val_split, bool) or not isinstance(val_split, int | float):
        raise ConfigError(f"[data] val_split must be a number in [0, 1), got {val_split!r}")
    if not 0 <= val_split < 1:
        raise ConfigError(f"[data] val_split must be in [0, 1), e.g. 0.2, got {val_split!r}")
    if normalize not in METHODS:
        raise ConfigError(f"[data] normalize is {normalize!r}{did_you_mean(normalize, METHODS)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    values = resolve_params(name, info.params, params)
    make_seed, split_seed = np.random.SeedSequence(seed).spawn(2)
    raw = info.loader(values, np.random.default_rng(make_seed), data_dir, path)
    return finish(
        name,
        raw,
        val_split=float(val_split),
        normalize=normalize,
        rng=np.random.default_rng(split_seed),
    )


def presence(info: DatasetInfo, data_dir: str | None = None) -> tuple[bool | None, str]:
    """Whether the data is available here: (True/False, or None for user forms; a note)."""
    if info.source == "generated":
        return True, "built in"
    if info.name == "digits":
        if digits_file() is not None:
            return True, "scikit-learn"
        import importlib.util

        found = importlib.util.find_spec("sklearn") is not None
        return found, "scikit-learn" if found else "pip install scikit-learn"
    if info.prefix is not None:
        return None, "-"
    try:
        found = locate(info.name, data_dir)
    except ConfigError as error:
        return False, str(error)
    if found is None:
        return False, f"not found; run 'tuidl data fetch {info.name}' or pass --data-dir"
    folder, pairs = found
    return True, f"found in {folder}" + ("" if "train" in pairs else " (t10k files only)")
