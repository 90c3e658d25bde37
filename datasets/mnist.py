"""MNIST, Fashion-MNIST and `idx:DIR`: image/label pairs of IDX files, found and split.

Where `mnist` (or `fashion-mnist`) is looked for, first match wins:
`data_dir/<name>/`, `data_dir/` itself, `$TUIDL_DATA/<name>/`, then the user cache
(`$XDG_CACHE_HOME/tuidl/<name>`, else `~/.cache/tuidl/<name>`, where `tuidl data fetch` puts
it). A folder counts when it holds a full pair: `train-images-idx3-ubyte` and
`train-labels-idx1-ubyte`, or the `t10k-` pair (each raw or `.gz`).

Splits:
- with the training pair: validation is a seeded, stratified `val_split` of it; the `t10k-`
  pair, when present, is the test split.
- with only the `t10k-` pair (the 10,000 test images, as in `../shared/datasets/mnist`):
  images [0:8000] train and [8000:10000] validate (the first 80% and the rest for other
  sizes), the benchmark split; `val_split` does not apply and there is no test split. A
  logging warning says so once per folder.

`n_train` keeps only the first n_train images of the training split (after the validation
split, which is unchanged): a small training set for quick lessons, such as overfitting 300
images while validating on all the others.

Images become (N, 1, H, W) float32 in [0, 1] (uint8 / 255); labels int64.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .dataset import Raw
from .idx import read_idx

log = logging.getLogger(__name__)

STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FILE_NAMES = [f"{stem}.gz" for pair in STEMS.values() for stem in pair]
MAX_CLASSES = 100_000  # a larger label is a damaged file, not a class (it sizes the output)
TEST_ONLY_TRAIN_FRACTION = 0.8  # 8,000 of MNIST's 10,000 test images train, 2,000 validate
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
CLASS_NAMES = {"mnist": [str(i) for i in range(10)], "fashion-mnist": FASHION_CLASSES}
_warned: set[Path] = set()


def cache_dir() -> Path:
    """`$XDG_CACHE_HOME/tuidl`, else `~/.cache/tuidl` (read now, not at import)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "tuidl"


def candidate_dirs(name: str, data_dir: str | os.PathLike | None) -> list[Path]:
    """Folders searched for `name`, in order (see the module docstring)."""
    dirs = []
    if data_dir:
        dirs += [Path(data_dir) / name, Path(data_dir)]
    if os.environ.get("TUIDL_DATA"):
        dirs.append(Path(os.environ["TUIDL_DATA"]) / name)
    dirs.append(cache_dir() / name)
    return dirs


def find_file(folder: Path, stem: str) -> Path | None:
    """`stem.gz` or `stem` in folder (also `t10k-images.idx3-ubyte`, as some mirrors name it)."""
    for candidate in (stem, stem.replace("-idx", ".idx")):
        for path in (folder / f"{candidate}.gz", folder / candidate):
            if path.is_file():
                return path
    return None


def find_pairs(folder: Path) -> dict[str, tuple[Path, Path]]:
    """The complete standard pairs in folder: {'train': (images, labels), 'test': ...}."""
    pairs = {}
    for split, (images, labels) in STEMS.items():
        found = find_file(folder, images), find_file(folder, labels)
        if found[0] and found[1]:
            pairs[split] = found
        elif found[0] or found[1]:
            have, missing = (found[0], labels) if found[0] else (found[1], images)
            raise ConfigError(
                f"{have} has no partner: put {missing}.gz beside it in {folder} "
                f"(or run tuidl data fetch)"
            )
    return pairs


def locate(name: str, data_dir: str | os.PathLike | None) -> tuple[Path, dict] | None:
    """The first searched folder holding a pair, with its pairs; None if none does."""
    for folder in candidate_dirs(name, data_dir):
        if folder.is_dir():
            pairs = find_pairs(folder)
            if pairs:
                return folder, pairs
    return None


def read_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """Images as float32 samples (N, C, H, W) or (N, F), labels int64 (N,), and the layout."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    x, layout = idx_samples(images, images_path)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ConfigError(
            f"{labels_path}: labels must be one integer per image, got {labels.dtype} "
            f"values of shape {labels.shape}"
        )
    if len(images) != len(labels):
        raise ConfigError(
            f"{images_path.name} holds {len(images)} images but {labels_path.name} holds "
            f"{len(labels)} labels; they must come from the same set (download them again)"
        )
    if len(images) == 0:
        raise ConfigError(f"{images_path}: holds no images")
    if labels.min() < 0:
        raise ConfigError(f"{labels_path}: negative label {labels.min()}")
    if labels.max() >= MAX_CLASSES:
        raise ConfigError(
            f"{labels_path}: label {labels.max()} is not a class number; labels must be "
            f"0, 1, ..., k-1 for k classes (k at most {MAX_CLASSES:,})"
        )
    return x, labels.astype(np.int64), layout


def idx_samples(images: np.ndarray, path: Path) -> tuple[np.ndarray, str]:
    """The images of an IDX file as float32 samples (N, C, H, W) or (N, F), and the layout:
    uint8 pixels scaled to [0, 1]. `tuidl predict` reads IDX inputs through it too, so they
    arrive in the units the training data had.

    Raises:
        ConfigError: a shape that is no set of images, or pixels that are not finite.
    """
    if images.ndim not in (2, 3, 4):
        raise ConfigError(
            f"{path}: images with shape {images.shape} are not supported; it needs "
            "(N, features), (N, height, width) or (N, channels, height, width)"
        )
    with np.errstate(over="ignore"):  # pixels beyond float32 are refused just below
        x = images.astype(np.float32)
    if images.dtype == np.uint8:
        x /= 255.0
    elif images.dtype.kind == "f" and not np.isfinite(x).all():
        raise ConfigError(
            f"{path}: holds inf or nan pixels (or values beyond float32); fix the file"
        )
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
        x = x.transpose(0, 3, 1, 2)  # NHWC -> NCHW
    layout = "flat" if x.ndim == 2 else "image"
    return np.ascontiguousarray(x), layout


def load_pairs(label: str, folder: Path, pairs: dict, class_names: list[str] | None) -> Raw:
    """A Raw from a folder's pairs, split as the module docstring says."""
    if "train" in pairs:
        x, y, layout = read_pair(*pairs["train"])
        x_test = y_test = None
        if "test" in pairs:
            x_test, y_test, _ = read_pair(*pairs["test"])
        source = f"{label} IDX files in {folder}"
        return Raw(
            x,
            y,
            "classification",
            _classes(class_names, y, y_test),
            layout,
            source,
            class_names or _names(y, y_test),
            x_test=x_test,
            y_test=y_test,
        )
    x, y, layout = read_pair(*pairs["test"])
    cut = int(round(TEST_ONLY_TRAIN_FRACTION * len(x)))
    if folder not in _warned:
        _warned.add(folder)
        log.warning(
            "%s: only the t10k test files are in %s; images [0:%d] train and [%d:%d] validate "
            "(val_split does not apply, no test split)",
            label,
            folder,
            cut,
            cut,
            len(x),
        )
    source = f"{label} t10k IDX files in {folder} (first {cut} train, last {len(x) - cut} val)"
    return Raw(
        x[:cut],
        y[:cut],
        "classification",
        _classes(class_names, y),
        layout,
        source,
        class_names or _names(y),
        x_val=x[cut:],
        y_val=y[cut:],
    )


def _classes(class_names: list[str] | None, *labels: np.ndarray | None) -> int:
    if class_names:
        return len(class_names)
    return int(max(int(y.max()) for y in labels if y is not None)) + 1


def _names(*labels: np.ndarray | None) -> list[str]:
    return [str(i) for i in range(_classes(None, *labels))]


def load_mnist(name: str, data_dir: str | os.PathLike | None, n_train: int | None = None) -> Raw:
    """mnist or fashion-mnist from the first folder that has it, its training split cut to
    the first `n_train` images when given (module docstring)."""
    found = locate(name, data_dir)
    if found is None:
        searched = ", ".join(str(d) for d in candidate_dirs(name, data_dir))
        raise ConfigError(
            f"{name} not found (looked in {searched}); run 'tuidl data fetch {name}', or put "
            f"{FILE_NAMES[2]} and {FILE_NAMES[3]} (or all four files) in {cache_dir() / name} "
            f"or pass --data-dir"
        )
    folder, pairs = found
    raw = load_pairs(name, folder, pairs, CLASS_NAMES[name])
    if raw.y.max() >= len(CLASS_NAMES[name]):
        raise ConfigError(f"{folder}: label {raw.y.max()} is not a {name} class (0-9)")
    raw.train_limit = n_train
    return raw


def load_idx_dir(path: Path) -> Raw:
    """`idx:DIR`: the standard pairs, else the one `*images*` / `*labels*` pair in DIR."""
    if not path.is_dir():
        raise ConfigError(f"{path}: no such folder; idx: needs a folder of IDX files")
    pairs = find_pairs(path)
    if not pairs:
        images = sorted(p for p in path.iterdir() if "images" in p.name and p.is_file())
        labels = sorted(p for p in path.iterdir() if "labels" in p.name and p.is_file())
        if len(images) != 1 or len(labels) != 1:
            raise ConfigError(
                f"{path}: expected train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz] "
                f"(or the t10k- pair, or one *images* and one *labels* file)"
            )
        pairs = {"train": (images[0], labels[0])}
    return load_pairs(f"idx:{path}", path, pairs, None)
