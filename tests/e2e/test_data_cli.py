"""`tuidl data list | show | fetch` run as real processes: output, exit codes, one-line errors."""

import gzip
import hashlib
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from clitools import CONTROL, assert_one_line_error, run_tuidl

REAL_DATA = Path(os.environ.get("TUIDL_DATA", "/nonexistent"))
needs_real_mnist = pytest.mark.skipif(
    not (REAL_DATA / "mnist" / "t10k-images-idx3-ubyte.gz").exists(),
    reason="MNIST test files not found: set TUIDL_DATA to a folder with mnist/t10k-*.gz",
)
NAMES = [
    "spiral", "circles", "xor", "gauss", "moons", "digits", "mnist", "fashion-mnist",
    "sine", "adding", "reber", "noise", "point", "csv:PATH", "idx:DIR", "text:PATH",
]  # fmt: skip


def tuidl(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    return run_tuidl(*args, tmp_path=tmp_path, timeout=60, **env)


def write_idx(path: Path, array: np.ndarray, code: int = 0x08, cut: int = 0) -> Path:
    data = (
        bytes([0, 0, code, array.ndim]) + np.array(array.shape, ">i4").tobytes() + array.tobytes()
    )
    if cut:
        data = data[:-cut]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, compresslevel=1) if path.suffix == ".gz" else data)
    return path


def fake_mnist(folder: Path, n: int = 40) -> Path:
    """t10k files only: a bright square whose column encodes the label."""
    labels = (np.arange(n) % 10).astype(np.uint8)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        images[i, 8:20, 2 + 2 * label : 8 + 2 * label] = 255
    write_idx(folder / "t10k-images-idx3-ubyte.gz", images)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels)
    return folder


def test_list_names_every_dataset(tmp_path):
    result = tuidl("data", "list", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    table, notes = result.stdout.split("\n\n")
    assert [line.split()[0] for line in table.splitlines()[1:]] == NAMES
    assert not CONTROL.search(result.stdout)
    assert "mnist: not found; run 'tuidl data fetch mnist'" in notes  # says how to get it


def test_show_spiral_draws_a_scatter(tmp_path):
    result = tuidl("data", "show", "spiral", "--set", "classes=3", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "spiral: 2d, classification" in out and "3 classes" in out
    assert "┌" in out and "┘" in out and not CONTROL.search(out)
    plot = [line for line in out.splitlines() if line.startswith("│")]
    assert len(plot) == 22 and all(m in "".join(plot) for m in "ox+")
    assert "o arm 0 (107)  x arm 1 (106)  + arm 2 (106)" in out  # legend with train counts


def test_show_mnist_from_a_data_dir(tmp_path):
    fake_mnist(tmp_path / "data" / "mnist")
    result = tuidl("data", "show", "mnist", "--data-dir", str(tmp_path / "data"), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "only the t10k test files" in result.stderr and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["0", "1", "2"]  # labels over the first three images
    image_rows = lines[2:16]
    assert all(set(row) <= set(" .:-=+*#%@") for row in image_rows)
    assert image_rows[5][2:8] == "@@@@@@" and image_rows[5][34:40] == "@@@@@@"  # tiles 30 apart
    assert not CONTROL.search(result.stdout)


@needs_real_mnist
def test_show_real_mnist(tmp_path):
    result = tuidl("data", "show", "mnist", "-n", "3", tmp_path=tmp_path, TUIDL_DATA=str(REAL_DATA))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "8,000 train, 2,000 val" in lines[0]
    assert lines[1].split() == ["7", "2", "1"]
    assert sum(row.count("@") for row in lines[2:16]) > 50  # ink on the shade ramp


@pytest.mark.parametrize(
    "name, expected",
    [
        ("sine", "next value = "),
        ("adding", "sum of the marked values = "),
        ("reber", "input  B"),
        ("digits", "input (1, 8, 8)"),
    ],
)
def test_show_sequences_and_digits(tmp_path, name, expected):
    result = tuidl("data", "show", name, "-n", "2", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout and not CONTROL.search(result.stdout)


def damaged(tmp_path: Path, kind: str) -> list[str]:
    """Write one kind of broken data; return the `tuidl data show` arguments that read it."""
    folder = tmp_path / "d"
    images = np.zeros((10, 28, 28), dtype=np.uint8)
    labels = np.arange(10, dtype=np.uint8)
    if kind == "truncated gzip":
        fake_mnist(folder / "mnist", n=10)
        path = folder / "mnist" / "t10k-images-idx3-ubyte.gz"
        path.write_bytes(path.read_bytes()[:-20])
        return ["mnist", "--data-dir", str(folder)]
    if kind == "truncated raw":
        write_idx(folder / "t10k-images-idx3-ubyte", images, cut=100)
        write_idx(folder / "t10k-labels-idx1-ubyte", labels)
        return [f"idx:{folder}"]
    if kind == "wrong magic":
        write_idx(folder / "t10k-images-idx3-ubyte", images)
        (folder / "t10k-labels-idx1-ubyte").write_bytes(b"PK\x03\x04" + bytes(20))
        return [f"idx:{folder}"]
    if kind == "counts disagree":
        write_idx(folder / "mnist" / "t10k-images-idx3-ubyte.gz", images)
        write_idx(folder / "mnist" / "t10k-labels-idx1-ubyte.gz", labels[:9])
        return ["mnist", "--data-dir", str(folder)]
    if kind == "empty csv":
        (tmp_path / "e.csv").write_text("")
        return [f"csv:{tmp_path / 'e.csv'}"]
    if kind == "non-numeric csv cell":
        (tmp_path / "n.csv").write_text("a,b,label\n1,2,0\n3,four,1\n")
        return [f"csv:{tmp_path / 'n.csv'}"]
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind, needles",
    [
        ("truncated gzip", ["t10k-images-idx3-ubyte.gz", "cannot read it", "download it again"]),
        ("truncated raw", ["t10k-images-idx3-ubyte", "header says shape (10, 28, 28)"]),
        ("wrong magic", ["t10k-labels-idx1-ubyte", "bad magic"]),
        ("counts disagree", ["holds 10 images but", "holds 9 labels"]),
        ("empty csv", ["e.csv", "empty"]),
        ("non-numeric csv cell", ["n.csv line 3, column 2 ('b'): 'four' is not a number"]),
    ],
)
def test_damaged_files_exit_2_with_one_line(tmp_path, kind, needles):
    result = tuidl("data", "show", *damaged(tmp_path, kind), tmp_path=tmp_path)
    assert_one_line_error(result, *needles)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["data", "show", "sprial"], "did you mean 'spiral'?"),
        (["data", "show", "spiral", "--set", "nosie=0.1"], "did you mean 'noise'?"),
        (["data", "fetch", "spiral"], "nothing to fetch for 'spiral'"),
    ],
)
def test_bad_names_exit_2_with_one_line(tmp_path, args, needle):
    assert_one_line_error(tuidl(*args, tmp_path=tmp_path), needle)


def test_fetch_offline_fails_in_one_line_and_leaves_nothing(tmp_path):
    data = tmp_path / "data"
    result = tuidl(
        "data", "fetch", "mnist", "--data-dir", str(data),
        tmp_path=tmp_path, TUIDL_MIRROR="http://127.0.0.1:9/",
    )  # fmt: skip
    assert_one_line_error(result, "Connection refused", str(data / "mnist"))
    assert not data.exists()


def test_fetch_bad_checksum_leaves_nothing(tmp_path):
    mirror = tmp_path / "mirror" / "fashion-mnist"
    mirror.mkdir(parents=True)
    (mirror / "train-images-idx3-ubyte.gz").write_bytes(b"not the real file")
    data = tmp_path / "data"
    data.mkdir()
    result = tuidl(
        "data", "fetch", "fashion-mnist",
        tmp_path=tmp_path, TUIDL_DATA=str(data), TUIDL_MIRROR=(tmp_path / "mirror").as_uri(),
    )  # fmt: skip
    bad = hashlib.md5(b"not the real file").hexdigest()
    assert_one_line_error(result, f"has md5 {bad}", str(data / "fashion-mnist"))
    assert list(data.iterdir()) == []
