"""Inputs of `tuidl predict`: a CSV table, an IDX file, a `.npy` array or a folder of PNGs.

Every reader returns raw samples in the units of the run's dataset (IDX and PNG pixels scaled
to [0, 1], as the MNIST loader does) with a name per sample (its row number, or its file name),
and `fit_to_model` checks them against the model's input shape. Normalization comes after, in
`RunModel.predict`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..datasets.csvdata import has_header, read_rows
from ..datasets.idx import read_idx
from ..datasets.mnist import idx_samples
from ..errors import ConfigError
from ..validate import file_size

NPY_MAX_BYTES = 1 << 30  # a bigger array is not a batch to predict on a laptop
PNG_MODES = {1: "L", 3: "RGB", 4: "RGBA"}  # channels of the model's input -> Pillow's mode
INSTALL_HINT = 'pip install "tuidl[export]"'


def read_inputs(
    path: str | Path, features: int, label_column: int | str | None = None
) -> tuple[np.ndarray | list, list]:
    """Samples (N, ...) float32 (PIL images for a PNG folder) and a name per sample, from
    `path` by its kind.

    Args:
        features: the values one sample of the model's input holds.
        label_column: for a CSV, the run's `[data] label_column` when it trained on a CSV:
            rows one cell wider than `features` drop that cell.
    """
    path = Path(path)
    if path.is_dir():
        return read_png_folder(path)
    if not path.exists():
        raise ConfigError(f"{path} does not exist; pass a .csv, .npy, IDX file or PNG folder")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _numbered(read_npy(path))
    if suffix in (".csv", ".tsv", ".txt"):
        return _numbered(read_csv(path, features, label_column))
    if _is_idx(path):
        images = read_idx(path)
        return _numbered(idx_samples(images, path)[0])
    raise ConfigError(
        f"{path}: cannot tell what it holds; pass a .csv table, a .npy array, an IDX file "
        "(as MNIST's t10k-images-idx3-ubyte.gz) or a folder of .png images"
    )


def _numbered(x: np.ndarray) -> tuple[np.ndarray, list]:
    return x, list(range(len(x)))


def _is_idx(path: Path) -> bool:
    """An IDX file by name (MNIST's `-idx3-ubyte`), or by its magic: two zero bytes."""
    if "idx" in path.name or "ubyte" in path.name:
        return True
    with path.open("rb") as file:
        head = file.read(4)
    return len(head) == 4 and head[:2] == b"\0\0"


def read_npy(path: Path) -> np.ndarray:
    """A numeric `.npy` array, never unpickled."""
    try:
        size = file_size(path)
    except ValueError as error:
        raise ConfigError(f"{path}: {error}") from None
    if size > NPY_MAX_BYTES:
        raise ConfigError(f"{path} holds {size:,} bytes; predict on fewer samples at a time")
    try:
        x = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ConfigError(f"{path}: not a numeric .npy array ({error})") from None
    if x.dtype.kind not in "fiub":
        raise ConfigError(f"{path} holds {x.dtype} values; it needs numbers")
    return _finite(path, x.astype(np.float32))


def read_csv(path: Path, features: int, label_column: int | str | None) -> np.ndarray:
    """Rows of numbers (a header row is skipped); a run trained on a CSV may keep its label
    column in, which is dropped when the rows are one cell wider than the model takes."""
    rows = read_rows(path)
    header = rows[0][1] if has_header(rows) else None
    body = rows[1:] if header is not None else rows
    if not body:
        raise ConfigError(f"{path}: no data rows")
    width = len(body[0][1])
    drop = None
    if label_column is not None and width == features + 1:
        if isinstance(label_column, str):
            drop = header.index(label_column) if header and label_column in header else None
        elif -width <= label_column < width:
            drop = label_column % width
    x = np.empty((len(body), width), np.float64)
    for i, (line, cells) in enumerate(body):
        if len(cells) != width:
            raise ConfigError(f"{path} line {line}: {len(cells)} cells, expected {width}")
        for j, cell in enumerate(cells):
            try:
                x[i, j] = float(cell) if j != drop else 0.0
            except ValueError:
                raise ConfigError(
                    f"{path} line {line}, column {j + 1}: {cell!r} is not a number"
                ) from None
    if drop is not None:
        x = np.delete(x, drop, axis=1)
    with np.errstate(over="ignore"):
        return _finite(path, x.astype(np.float32))


def read_png_folder(folder: Path) -> tuple[np.ndarray, list]:
    """The `.png` files of `folder`, sorted by name, as Pillow images: `fit_to_model` converts
    them to the model's channels (gray, RGB or RGBA) and scales their 8-bit pixels to [0, 1]."""
    try:
        from PIL import Image
    except ImportError:
        raise ConfigError(f"reading PNG images needs Pillow: {INSTALL_HINT}") from None
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".png" and p.is_file())
    if not files:
        raise ConfigError(f"{folder} holds no .png files; predict reads a folder of PNG images")
    images = []
    for path in files:
        try:
            with Image.open(path) as image:
                image.load()
                images.append(image.copy())
        except (OSError, ValueError) as error:
            raise ConfigError(f"{path}: not a readable PNG image ({error})") from None
    return images, [p.name for p in files]


def fit_to_model(x, names: list, shape: tuple[int, ...], source: Path) -> np.ndarray:
    """`x` as (N, *shape) float32: PNG images converted to the model's channels; arrays of
    exactly that shape, of one sample of it, or of flat rows of its size.

    Raises:
        ConfigError: one line with the shape found and the shape the model takes.
    """
    if isinstance(x, list):
        return _images_to_model(x, names, shape, source)
    if tuple(x.shape) == tuple(shape):
        x = x[None]
    size = math.prod(shape)
    if x.ndim == 2 and x.shape[1] == size and len(shape) > 1:
        x = x.reshape(len(x), *shape)
    if tuple(x.shape[1:]) != tuple(shape):
        flat = f" (or rows of {size} values)" if len(shape) > 1 else ""
        raise ConfigError(
            f"{source} holds samples of shape {tuple(x.shape[1:])}, but the model takes "
            f"{tuple(shape)}{flat}"
        )
    return np.ascontiguousarray(x, dtype=np.float32)


def _images_to_model(images: list, names: list, shape: tuple[int, ...], source: Path) -> np.ndarray:
    if len(shape) != 3 or shape[0] not in PNG_MODES:
        raise ConfigError(
            f"{source}: the model takes samples of shape {tuple(shape)}, not images "
            "(channels, height, width) with 1, 3 or 4 channels"
        )
    channels, height, width = shape
    out = np.empty((len(images), *shape), np.float32)
    for i, (image, name) in enumerate(zip(images, names, strict=True)):
        if image.size != (width, height):
            raise ConfigError(
                f"{source / name} is {image.size[0]}x{image.size[1]} pixels, but the model "
                f"takes {width}x{height} (width x height)"
            )
        pixels = np.asarray(image.convert(PNG_MODES[channels]), dtype=np.float32)
        pixels = pixels.reshape(height, width, channels).transpose(2, 0, 1)
        out[i] = pixels / 255.0
    return out


def _finite(path: Path, x: np.ndarray) -> np.ndarray:
    if not np.isfinite(x).all():
        raise ConfigError(f"{path}: holds inf or nan (or numbers beyond float32); fix the file")
    return x
