"""Bad inputs, data and sizes through the real `tuidl run`: one line, exit 2, no run directory.

Every case is an experiment, and the files it names, that `tuidl run` must refuse before it
creates a run directory in `--out`: sizes that would not fit in memory, a loss or early
stopping that cannot work with the data, data files that are damaged, endless or enormous,
experiment files that are none. Sizes are far beyond any machine (10**12 units, 2**40-byte
sparse files), so the cases hold wherever they run.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field

import numpy as np
import pytest
from clitools import assert_one_line_error, run_tuidl

SPIRAL = 'name = "spiral"\nn = 100'
MLP = '[{ type = "dense", units = 8 }, { type = "relu" }, { type = "dense", units = 2 }]'
DIGITS_CNN = """[
  { type = "conv2d", filters = 8, kernel = 3, padding = "same" },
  { type = "relu" },
  { type = "flatten" },
  { type = "dense", units = 10 },
]"""
# few parameters but 10**6 channels of 8x8 per sample: 0.5 GiB of activations each
WIDE_CONV = """[
  { type = "conv2d", filters = 1000000, kernel = 1 },
  { type = "avgpool2d", size = 8 },
  { type = "flatten" },
  { type = "dense", units = 10 },
]"""
ADDING_LSTM = '[{ type = "lstm", units = 8 }, { type = "dense", units = 1 }]'
REBER_LSTM = (
    '[{ type = "lstm", units = 8, return_sequences = true }, { type = "dense", units = 7 }]'
)
FLAT = '[{ type = "flatten" }, { type = "dense", units = 2 }]'
CHAR_LSTM = '[{ type = "lstm", units = 8, return_sequences = true }, { type = "dense", units = 2 }]'


def idx(code: int, shape: tuple[int, ...], data: bytes = b"") -> bytes:
    """An IDX file: magic, type `code`, the sizes of `shape`, then `data`."""
    return bytes([0, 0, code, len(shape)]) + np.array(shape, ">i4").tobytes() + data


def idx_pair(
    images: bytes | tuple[bytes, int] | None = None,
    labels: bytes | None = None,
    compressed: bool = False,
) -> dict[str, bytes | tuple[bytes, int]]:
    """The files of `idx:d`: 20 4x4 images and labels 0, 1, 0, ... unless given."""
    suffix = ".gz" if compressed else ""
    return {
        f"d/train-images-idx3-ubyte{suffix}": images or idx(0x08, (20, 4, 4), bytes(320)),
        "d/train-labels-idx1-ubyte": labels or idx(0x08, (20,), bytes([0, 1] * 10)),
    }


def experiment(
    data: str = SPIRAL,
    layers: str = MLP,
    loss: str = "softmax_cross_entropy",
    train: str = "",
) -> str:
    """An experiment file's text: `[data]` and `[train]` lines, the layer list and the loss."""
    return (
        f'name = "bad"\n[data]\n{data}\n[model]\nloss = "{loss}"\nlayers = {layers}\n'
        f'[optimizer]\nname = "sgd"\nlr = 0.1\n[train]\nepochs = 1\n{train}\n'
    )


@dataclass
class Case:
    """One bad input: the experiment's text, the files it reads, the words of the error.

    Attributes:
        id: the test id.
        text: the experiment file `bad.toml`.
        needles: what the one error line must hold.
        files: files to write first, by name: bytes, or (bytes, size) for a sparse file of
            that size that starts with them.
        argument: the EXPERIMENT argument (another file than bad.toml, /dev/zero).
    """

    id: str
    text: str
    needles: list[str]
    files: dict[str, bytes | tuple[bytes, int]] = field(default_factory=dict)
    argument: str = "bad.toml"


CASES = [
    # 1. sizes: checked against this machine's memory before anything is allocated
    Case("dense units 10**12", experiment(layers=MLP.replace("units = 8", "units = 1000000000000")),
         ["layer 0 (dense) has 3,000,000,000,000 parameters", "GiB this machine can spare",
          "use fewer units"]),
    Case("dense after a wide one", experiment(layers=MLP.replace("units = 8", "units = 10000000")
                                              .replace("units = 2 }", "units = 10000000 }")),
         ["layer 2 (dense) has 100,000,010,000,000 parameters", "with the layers before it"]),
    Case("conv2d filters 10**12", experiment('name = "digits"', DIGITS_CNN.replace(
        "filters = 8", "filters = 1000000000000")),
         ["layer 0 (conv2d) has 10,000,000,000,000 parameters", "use fewer filters"]),
    Case("conv2d kernel 10**6", experiment('name = "digits"', DIGITS_CNN.replace(
        "kernel = 3", "kernel = 1000000")), ["layer 0 (conv2d) has", "a smaller kernel"]),
    Case("lstm units 10**7", experiment('name = "adding"\nn = 100', ADDING_LSTM.replace(
        "units = 8", "units = 10000000"), "mse"), ["layer 0 (lstm) has", "use fewer units"]),
    Case("batch of huge activations", experiment('name = "digits"', WIDE_CONV,
                                                 train="batch_size = 1000000"),
         ["training 1,438 samples at a time (the whole training split) needs about"]),
    # 2. a loss or early stopping that cannot work with the data: before the run directory
    Case("binary_cross_entropy on class labels", experiment(
        layers=MLP.replace("units = 2 }", "units = 1 }"), loss="binary_cross_entropy"),
         ['loss = "binary_cross_entropy" needs targets', "softmax_cross_entropy"]),
    Case("binary_cross_entropy on per-step labels",
         experiment('name = "reber"\nn = 50', REBER_LSTM, "binary_cross_entropy"),
         ["(24, 7)", "reber has class labels"]),
    Case("softmax_cross_entropy on regression targets",
         experiment('name = "adding"\nn = 100', ADDING_LSTM),
         ["needs class labels, but adding has regression targets", 'use loss = "mse"']),
    Case("binary_cross_entropy on targets beyond 1",
         experiment('name = "adding"\nn = 100', ADDING_LSTM, "binary_cross_entropy"),
         ["needs targets in [0, 1], but adding's run from"]),
    Case("early stopping on val_loss, val_split 0",
         experiment(SPIRAL + "\nval_split = 0", train="early_stopping = { patience = 2 }"),
         ["early stopping monitors 'val_loss', but there are no validation samples",
          "val_split", 'monitor = "train_loss"']),
    Case("early stopping on val_loss, val_split rounding to none",
         experiment(SPIRAL + "\nval_split = 0.001", train="early_stopping = { patience = 2 }"),
         ["no validation samples"]),
    Case("early stopping on val_acc of a regression",
         experiment('name = "adding"\nn = 100', ADDING_LSTM, "mse",
                    'early_stopping = { monitor = "val_acc" }'),
         ["early stopping monitors 'val_acc', but this loss measures no accuracy"]),
    # 3. data sources: files checked (regular, sizes against the file and the memory) unread
    Case("csv of /dev/zero", experiment('name = "csv:/dev/zero"'),
         ["/dev/zero: not a regular file", "check the path after 'csv:'"]),
    Case("csv of a folder", experiment('name = "csv:data"'), ["data: a folder, not a file"],
         {"data/x.csv": b"1,2,0\n"}),
    Case("csv of 1 TiB", experiment('name = "csv:big.csv"'),
         ["big.csv: reading its 1.0 TiB needs about 24.0 TiB", "use a smaller file"],
         {"big.csv": (b"", 2**40)}),
    Case("csv of one class", experiment('name = "csv:one.csv"'),
         ["csv:one.csv has only one class, '1'", "a classifier needs at least two"],
         {"one.csv": b"x,y,label\n" + b"1,2,1\n3,4,1\n" * 10}),
    Case("csv not UTF-8", experiment('name = "csv:latin.csv"'),
         ["latin.csv: not UTF-8 text (byte 0xe9 at offset 2)", "save it as UTF-8"],
         {"latin.csv": b"x,\xe9,label\n1,2,0\n3,4,1\n"}),
    Case("csv number beyond float32", experiment('name = "csv:f.csv"'),
         ["f.csv line 2: a feature is inf or nan, or beyond float32"],
         {"f.csv": b"1,2,0\n3,1e39,1\n5,6,0\n"}),
    Case("csv label nan", experiment('name = "csv:n.csv"', loss="mse"),
         ["n.csv line 3: the label is inf or nan"], {"n.csv": b"1,2,0.5\n3,4,1.5\n5,6,nan\n"}),
    Case("csv nan feature", experiment('name = "csv:n.csv"'), ["line 1: a feature is inf or nan"],
         {"n.csv": b"nan,2,0\n3,4,1\n5,6,0\n"}),
    Case("csv ragged rows", experiment('name = "csv:r.csv"'), ["r.csv line 2: 2 cells, expected 3"],
         {"r.csv": b"1,2,0\n3,4\n5,6,0\n"}),
    Case("idx labels claiming 2**31-1 items", experiment('name = "idx:d"', FLAT),
         ["train-labels-idx1-ubyte: header says shape (2147483647,)", "download it again"],
         idx_pair(labels=idx(0x08, (2**31 - 1,), bytes(20)))),
    Case("idx images of 1 TiB", experiment('name = "idx:d"', FLAT),
         ["header says shape (65536, 4096, 4096): loading its 1,099,511,627,776 values"],
         idx_pair(images=(idx(0x08, (65536, 4096, 4096)), 16 + 2**40))),
    Case("idx gzip inflating past its header", experiment('name = "idx:d"', FLAT),
         ["header says shape (20, 4, 4) (320 bytes) but the file holds more data"],
         idx_pair(compressed=True, images=gzip.compress(idx(0x08, (20, 4, 4), bytes(1 << 24))))),
    Case("idx wrong magic", experiment('name = "idx:d"', FLAT), ["not an IDX file (bad magic"],
         idx_pair(images=b"\x01\x02\x08\x03" + bytes(320))),
    Case("idx of one class", experiment('name = "idx:d"', FLAT), ["idx:d has only one class, '0'"],
         idx_pair(labels=idx(0x08, (20,), bytes(20)))),
    Case("idx label beyond any class count", experiment('name = "idx:d"', FLAT),
         ["label 2000000000 is not a class number"],
         idx_pair(labels=idx(0x0C, (20,), np.full(20, 2 * 10**9, ">i4").tobytes()))),
    Case("idx nan pixels", experiment('name = "idx:d"', FLAT), ["holds inf or nan pixels"],
         idx_pair(images=idx(0x0D, (20, 4, 4), np.full(320, np.nan, ">f4").tobytes()))),
    Case("idx images without dimensions", experiment('name = "idx:d"', FLAT),
         ["images with shape () are not supported"], idx_pair(images=idx(0x08, (), b"\x05"))),
    Case("text of /dev/zero", experiment('name = "text:/dev/zero"', CHAR_LSTM),
         ["/dev/zero: not a regular file", "check the path after 'text:'"]),
    Case("text empty", experiment('name = "text:e.txt"', CHAR_LSTM),
         ["e.txt: 0 characters, too few"], {"e.txt": b""}),
    Case("text of one character", experiment('name = "text:a.txt"', CHAR_LSTM),
         ["text:a.txt has only one class, 'a'"], {"a.txt": b"a" * 100}),
    Case("text of 1 TiB", experiment('name = "text:t.txt"', CHAR_LSTM),
         ["t.txt: reading its 1.0 TiB needs about 40.0 TiB"], {"t.txt": (b"", 2**40)}),
    Case("adding problem of 10**12 steps", experiment('name = "adding"\nn = 10000000\nT = 100000',
                                                     ADDING_LSTM, "mse"),
         ["[data] adding: generating 10,000,000 sequences of 100,000 steps needs about"]),
    # 4. the experiment file itself, and values that are legal one by one but absurd
    Case("experiment is a folder", "", ["experiment file exp.toml: a folder, not a file"],
         {"exp.toml/x": b""}, argument="exp.toml"),
    Case("experiment is binary", "", ["experiment file bin.toml is not text (it holds NUL"],
         {"bin.toml": b"\x00\x01name = 1"}, argument="bin.toml"),
    Case("experiment of 1 GiB", "", ["experiment file big.toml holds 1.0 GiB, more than"],
         {"big.toml": (b"# ", 2**30)}, argument="big.toml"),
    Case("experiment is /dev/zero", "", ["experiment file /dev/zero: not a regular file"],
         argument="/dev/zero"),
    Case("experiment not UTF-8", "", ["latin.toml: not UTF-8 text (byte 0xe9 at offset 8)"],
         {"latin.toml": b'name = "\xe9"\n'}, argument="latin.toml"),
    Case("val_split 0.9999", experiment(SPIRAL + "\nval_split = 0.9999"),
         ["no training samples are left after val_split = 0.9999"]),
    Case("val_split nan", experiment(SPIRAL + "\nval_split = nan"), ["val_split", "got nan"]),
    Case("n = 0", experiment('name = "spiral"\nn = 0'), ["n for spiral must be at least 2"]),
    Case("noise negative", experiment(SPIRAL + "\nnoise = -1"), ["noise for spiral", "got -1"]),
    Case("adding T 10**9", experiment('name = "adding"\nT = 1000000000', ADDING_LSTM, "mse"),
         ["T for adding must be at most 100000"]),
    Case("text stride 0", experiment('name = "text:t.txt"\nstride = 0', CHAR_LSTM),
         ["stride for text:t.txt must be a positive integer, got 0"], {"t.txt": b"ab" * 50}),
    Case("csv of 200 label values under softmax", experiment('name = "csv:c.csv"'),
         ["regression targets of shape (1,)", '[data] task = "classification"'],
         {"c.csv": b"".join(b"%d,%d\n" % (i, i) for i in range(200))}),
    Case("conv2d padding 10**5", experiment('name = "digits"', DIGITS_CNN.replace(
        'padding = "same"', "padding = 100000")), ["layer 3 (dense) has", "pool before flatten"]),
]  # fmt: skip


def write_files(folder, files: dict[str, bytes | tuple[bytes, int]]) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, tuple):
            head, size = content
            with open(path, "wb") as file:
                file.write(head)
                file.truncate(size)  # sparse: no disk used, nothing to write
        else:
            path.write_bytes(content)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_line_before_any_run_directory(tmp_path, case):
    write_files(tmp_path, case.files)
    (tmp_path / "bad.toml").write_text(case.text)
    result = run_tuidl("run", case.argument, "--epochs", "1", "--out", "out", tmp_path=tmp_path)
    assert_one_line_error(result, *case.needles)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
