"""IDX reader on the real MNIST test files and on damaged files."""

import gzip
import os
import re
from pathlib import Path

import numpy as np
import pytest

from tuidl import validate
from tuidl.datasets.idx import IdxError, read_idx

MNIST = Path(os.environ.get("TUIDL_DATA", "/nonexistent")) / "mnist"
needs_mnist = pytest.mark.skipif(
    not (MNIST / "t10k-images-idx3-ubyte.gz").exists(),
    reason="MNIST test files not found: set TUIDL_DATA to a folder with mnist/t10k-*.gz",
)


@needs_mnist
def test_reads_real_mnist_test_set():
    images = read_idx(MNIST / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(MNIST / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    counts = np.bincount(labels, minlength=10).tolist()
    assert counts == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def write_idx(path: Path, array: np.ndarray, code: int) -> None:
    header = bytes([0, 0, code, array.ndim]) + np.array(array.shape, ">i4").tobytes()
    path.write_bytes(header + array.tobytes())


def test_round_trip_raw_and_gzip(tmp_path):
    array = np.arange(24, dtype=">i4").reshape(2, 3, 4)
    write_idx(tmp_path / "a.idx", array, 0x0C)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), array)
    with gzip.open(tmp_path / "a.idx.gz", "wb") as f:
        f.write((tmp_path / "a.idx").read_bytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx.gz"), array)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x01\x02\x08\x01", "bad magic"),
        (b"\x00\x00\x42\x01" + b"\x00" * 8, "unknown IDX type code 0x42"),
        (b"\x00\x00\x08\x03\x00\x00", "header cut short"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05abc", "header says shape (5,)"),
        (b"\x00\x00\x08\x01\x7f\xff\xff\xffabc", "shape (2147483647,) (2,147,483,647 bytes) but"),
    ],
)
def test_damaged_files_say_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(content)
    with pytest.raises(IdxError, match=re.escape(message)):
        read_idx(path)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x04abcd")[:-6])
    with pytest.raises(IdxError, match="cannot read it"):
        read_idx(path)


def test_a_device_is_refused_unread():
    with pytest.raises(IdxError, match="/dev/zero: not a regular file"):
        read_idx("/dev/zero")


def test_a_header_beyond_memory_is_refused_before_the_data_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(validate, "memory_bytes", lambda: 2**30)
    path = tmp_path / "big.idx"
    with open(path, "wb") as file:
        file.write(b"\x00\x00\x08\x01" + (64 << 20).to_bytes(4, "big"))
        file.truncate(8 + (64 << 20))  # sparse: the data the header promises, unwritten
    with pytest.raises(IdxError, match="loading its 67,108,864 values needs about 1.0 GiB"):
        read_idx(path)
    gz = tmp_path / "big.idx.gz"
    gz.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x7f\xff\xff\xff"))
    with pytest.raises(IdxError, match="loading its 2,147,483,647 values"):
        read_idx(gz)


def test_gzip_is_inflated_no_further_than_the_header_says(tmp_path):
    path = tmp_path / "bomb.idx.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x04abcd" + bytes(64 << 20)))
    with pytest.raises(IdxError, match=re.escape("shape (4,) (4 bytes) but the file holds more")):
        read_idx(path)
