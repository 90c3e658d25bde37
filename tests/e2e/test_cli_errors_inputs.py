"""Bad inputs, data and sizes through the real `tuidl run`: one line, exit 2, no run directory.

Every case is an experiment, and the files it names, that `tuidl run` must refuse before it
creates a run directory in `--out`: sizes that would not fit in memory, a loss that cannot
read the data's targets, data files that are damaged, endless or enormous. Sizes are far beyond
any machine (10**12 units, 2**40-byte sparse files), so the cases hold wherever they run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
        files: files to write first, by name: bytes, or an int for a sparse file that size.
        argument: the EXPERIMENT argument (another file than bad.toml, /dev/zero).
        extra: more arguments for `tuidl run`.
    """

    id: str
    text: str
    needles: list[str]
    files: dict[str, bytes | int] = field(default_factory=dict)
    argument: str = "bad.toml"
    extra: list[str] = field(default_factory=list)


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
    Case("mse on class labels", experiment(loss="mse"),
         ['loss = "mse" needs targets of the output\'s shape (2,)', "spiral has class labels",
          'use loss = "softmax_cross_entropy"']),
    Case("binary_cross_entropy on class labels", experiment(
        layers=MLP.replace("units = 2 }", "units = 1 }"), loss="binary_cross_entropy"),
         ['loss = "binary_cross_entropy" needs targets', "softmax_cross_entropy"]),
    Case("mse on per-step labels", experiment('name = "reber"\nn = 50', REBER_LSTM, "mse"),
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
]  # fmt: skip


def write_files(folder, files: dict[str, bytes | int]) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, int):
            with open(path, "wb") as file:
                file.truncate(content)  # sparse: no disk used, nothing to write
        else:
            path.write_bytes(content)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_line_before_any_run_directory(tmp_path, case):
    write_files(tmp_path, case.files)
    (tmp_path / "bad.toml").write_text(case.text)
    result = run_tuidl(
        "run", case.argument, "--epochs", "1", "--out", "out", *case.extra, tmp_path=tmp_path
    )
    assert_one_line_error(result, *case.needles)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
