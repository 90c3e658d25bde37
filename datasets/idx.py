"""Reader for IDX files (the MNIST format), gzip-compressed or raw.

Format (LeCun, "THE MNIST DATABASE"): two zero bytes, a type code, the number of dimensions,
then one big-endian int32 size per dimension, then the data in C order.

The header is read first and its sizes checked (against the file's size when it is raw, and
against the memory always) before the data is: a damaged header that claims 2**31 items must
cost one line, not a MemoryError, and a compressed file is never inflated past what its header
promised.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..validate import file_size, within_memory

DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# what one stored value costs once loaded: its float32 (or int64 label) copy, and the split
# and normalized copies of the dataset made from it
BYTES_PER_VALUE = 16


class IdxError(ConfigError):
    """A file that is not a valid IDX file; the message names the file and what is wrong.

    A `ConfigError` (so a `ValueError`): the CLI prints it as one line and exits with 2.
    """


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (`.gz` decompressed on the fly) into an array of its stored shape.

    Raises:
        IdxError: not a regular file, wrong magic, unknown type code, a size that disagrees
            with the header, or more data than the memory holds.
    """
    path = Path(path)
    try:
        size = file_size(path)
    except ValueError as error:
        raise IdxError(f"{path}: {error}; IDX data must be a file") from None
    compressed = path.suffix == ".gz"
    try:
        with (gzip.open if compressed else open)(path, "rb") as file:
            shape, dtype, header = _read_header(path, file)
            count = math.prod(shape)
            expected = count * dtype.itemsize
            if not compressed and size - header != expected:
                _raise_size(path, shape, expected, f"{size - header:,} bytes of")
            try:
                within_memory(f"loading its {count:,} values", count * BYTES_PER_VALUE)
            except ValueError as error:
                raise IdxError(
                    f"{path}: header says shape {shape}: {error}; is it the right file?"
                ) from None
            data = file.read(expected + 1)  # one byte more tells a longer file
    except (OSError, EOFError, zlib.error) as error:  # gzip's for truncated or non-gzip files
        raise IdxError(f"{path}: cannot read it ({error}); download it again") from None
    if len(data) != expected:
        _raise_size(
            path, shape, expected, "more" if len(data) > expected else f"{len(data):,} bytes of"
        )
    return np.frombuffer(data, dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _read_header(path: Path, file) -> tuple[tuple[int, ...], np.dtype, int]:
    """The stored shape, the dtype and the header's length in bytes, read from `file`."""
    magic = file.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0:
        raise IdxError(f"{path}: not an IDX file (bad magic number); is it the right file?")
    code, ndim = magic[2], magic[3]
    if code not in DTYPES:
        raise IdxError(f"{path}: unknown IDX type code 0x{code:02x}")
    sizes = file.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise IdxError(f"{path}: header cut short; download it again")
    shape = tuple(int(n) for n in np.frombuffer(sizes, ">i4"))
    if any(n < 0 for n in shape):
        raise IdxError(f"{path}: negative size in header {shape}; is it the right file?")
    return shape, DTYPES[code], 4 + 4 * ndim


def _raise_size(path: Path, shape: tuple[int, ...], expected: int, held: str) -> None:
    raise IdxError(
        f"{path}: header says shape {shape} ({expected:,} bytes) but the file holds {held} "
        "data; download it again"
    )
