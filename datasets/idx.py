"""Reader for IDX files (the MNIST format), gzip-compressed or raw.

Format (LeCun, "THE MNIST DATABASE"): two zero bytes, a type code, the number of dimensions,
then one big-endian int32 size per dimension, then the data in C order.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from ..errors import ConfigError

DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IdxError(ConfigError):
    """A file that is not a valid IDX file; the message names the file and what is wrong.

    A `ConfigError` (so a `ValueError`): the CLI prints it as one line and exits with 2.
    """


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (`.gz` decompressed on the fly) into an array of its stored shape.

    Raises:
        IdxError: wrong magic, unknown type code, or a size that disagrees with the header.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as file:
            data = file.read()
    except (OSError, EOFError) as error:  # gzip raises these for truncated or non-gzip files
        raise IdxError(f"{path}: cannot read it ({error}); download it again") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise IdxError(f"{path}: not an IDX file (bad magic number); is it the right file?")
    code, ndim = data[2], data[3]
    if code not in DTYPES:
        raise IdxError(f"{path}: unknown IDX type code 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(f"{path}: header cut short; download it again")
    shape = tuple(int(n) for n in np.frombuffer(data, ">i4", ndim, offset=4))
    if any(n < 0 for n in shape):
        raise IdxError(f"{path}: negative size in header {shape}; is it the right file?")
    dtype = DTYPES[code]
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise IdxError(
            f"{path}: header says shape {shape} ({expected} bytes) but the file holds "
            f"{len(data) - header} bytes of data; download it again"
        )
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))
