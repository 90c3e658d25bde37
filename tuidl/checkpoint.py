"""Save and load model weights, optimizer state and random streams as `.npz`, without pickle.

A checkpoint holds only numeric and string arrays (`np.load(allow_pickle=False)`), so opening
one can never run code. Keys: `param/<layer>.<key>`, `state/<layer>.<key>` (batchnorm running
statistics), `rng/<layer>` (a generator's state as JSON), `optim/<key>` (the state of an optimizer
stepping `model.trainable()`, as the trainer does) and `extra/<key>`.
Files are written to a temporary name and renamed, so a crash never leaves half a checkpoint.
"""

from __future__ import annotations

import json
import math
import os
import stat
import zipfile
from pathlib import Path

import numpy as np

from .atomic import atomic_write
from .errors import ConfigError
from .model import Sequential
from .statecheck import DAMAGED, restore_generator

FORMAT = "tuidl-checkpoint-1"


def save_checkpoint(
    path: str | os.PathLike,
    model: Sequential,
    optimizer=None,
    extra: dict[str, np.ndarray] | None = None,
) -> None:
    """Write `model` (and `optimizer.state_dict()`, and `extra` arrays) to `path` atomically."""
    arrays: dict[str, np.ndarray] = {"format": np.array(FORMAT)}
    arrays |= {f"param/{k}": v for k, v in model.params.items()}
    arrays |= {f"state/{k}": v for k, v in model.state().items()}
    for layer in model.layers:
        if hasattr(layer, "rng"):
            arrays[f"rng/{layer.name}"] = np.array(json.dumps(layer.rng.bit_generator.state))
    if optimizer is not None:
        arrays |= {f"optim/{k}": np.asarray(v) for k, v in optimizer.state_dict().items()}
    arrays |= {f"extra/{k}": np.asarray(v) for k, v in (extra or {}).items()}
    with atomic_write(path) as file:
        np.savez(file, **arrays)


def load_checkpoint(
    path: str | os.PathLike, model: Sequential, optimizer=None
) -> dict[str, np.ndarray]:
    """Copy a checkpoint into a built `model` (and `optimizer`) in place; return its extras.

    Raises:
        ConfigError: the file is missing, not a tuidl checkpoint, from a different model, or
            holds values no run saves (edited or damaged).
    """
    path = Path(path)
    arrays = _read_arrays(path)
    marker = arrays.get("format", np.array(""))
    if marker.shape != () or marker.dtype.kind != "U" or marker.item() != FORMAT:
        raise ConfigError(f"{path} is not a tuidl checkpoint (no {FORMAT!r} marker)")
    _copy_into(path, "param", model.params, arrays)
    _copy_into(path, "state", model.state(), arrays)
    for layer in model.layers:
        if hasattr(layer, "rng"):
            key = f"rng/{layer.name}"
            if key not in arrays:
                raise ConfigError(f"checkpoint {path} lacks {key}; it was saved from another model")
            try:
                restore_generator(layer.rng, arrays, key)
            except ConfigError as error:
                raise ConfigError(f"{path}: {error}") from None
    if optimizer is not None:
        state = {k.removeprefix("optim/"): v for k, v in arrays.items() if k.startswith("optim/")}
        try:
            optimizer.load_state_dict(state, model.trainable()[0])
        except ValueError as error:
            raise ConfigError(
                f"checkpoint {path}: optimizer state does not fit ({error})"
            ) from None
    return {k.removeprefix("extra/"): v for k, v in arrays.items() if k.startswith("extra/")}


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of the `.npz` at `path`. Each member's header is read first: numpy
    allocates what a header claims before it reads the data, and a damaged or forged one can
    claim 10^16 elements."""
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            raise ConfigError(f"checkpoint {path} is not a file")
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                _check_member(path, archive, info, status.st_size)
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except FileNotFoundError:
        raise ConfigError(f"checkpoint {path} does not exist") from None
    except ConfigError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ConfigError(f"checkpoint {path} is damaged or not an .npz file ({error})") from None


def _check_member(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, size: int) -> None:
    """One member of a checkpoint: a stored (uncompressed, as `np.savez` writes) `.npy` array
    of numbers or text whose header claims no more bytes than the member holds."""
    name = info.filename.removesuffix(".npy")
    if not info.filename.endswith(".npy") or info.compress_type != zipfile.ZIP_STORED:
        raise ConfigError(f"{path} is not a tuidl checkpoint ({info.filename!r} is no plain array)")
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read_header(member)
    if dtype.hasobject:
        raise ConfigError(
            f"{path}: {name} holds Python objects, which tuidl never saves; {DAMAGED}"
        )
    claimed = math.prod(shape) * dtype.itemsize
    if claimed > info.file_size or info.file_size > size:
        raise ConfigError(
            f"{path}: {name} claims {math.prod(shape)} {dtype} values but holds "
            f"{min(info.file_size, size)} bytes; {DAMAGED}"
        )


def _copy_into(path: Path, prefix: str, live: dict[str, np.ndarray], arrays: dict) -> None:
    saved = {k.removeprefix(f"{prefix}/") for k in arrays if k.startswith(f"{prefix}/")}
    if saved != set(live):
        diff = sorted(saved ^ set(live))
        raise ConfigError(
            f"checkpoint {path} does not match the model ({prefix} {diff[0]!r} is in only one "
            "of them); load it with the experiment it was saved from"
        )
    for key, target in live.items():
        value = arrays[f"{prefix}/{key}"]
        if value.shape != target.shape:
            raise ConfigError(
                f"checkpoint {path}: {key} has shape {value.shape} but the model has "
                f"{target.shape}; load it with the experiment it was saved from"
            )
        if value.dtype.kind not in "fiu" or not np.isfinite(value).all():
            raise ConfigError(
                f"{path}: {prefix}/{key} holds values that are not finite numbers; {DAMAGED}"
            )
        target[...] = value
