"""Experiment files: parsing, validation messages, --set overrides, save/load round trip."""

import math
import re

import pytest

from tuidl.errors import ConfigError
from tuidl.experiment import Experiment
from tuidl.presets import PRESETS, preset

GOOD = """
name = "tiny"
seed = 3
[data]
name = "xor"
n = 200
[model]
loss = "softmax_cross_entropy"
init = "xavier"
layers = [
  { type = "dense", units = 8 },
  { type = "tanh" },
  { type = "dense", units = 2 },
]
[optimizer]
name = "adam"
lr = 0.01
schedule = { type = "step", step_size = 5, gamma = 0.5 }
[train]
epochs = 4
batch_size = 16
early_stopping = { patience = 2 }
"""


def write(tmp_path, text, name="exp.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_loads_and_fills_defaults(tmp_path):
    experiment = Experiment.load(write(tmp_path, GOOD))
    assert experiment.name == "tiny" and experiment.seed == 3
    assert experiment.train["epochs"] == 4 and experiment.train["shuffle"] is True
    assert experiment.train["early_stopping"]["patience"] == 2
    assert experiment.train["early_stopping"]["restore_best"] is True
    assert experiment.make_optimizer().lr == 0.01
    assert experiment.make_schedule() is not None


def test_save_then_load_gives_the_same_experiment(tmp_path):
    experiment = Experiment.load(write(tmp_path, GOOD))
    experiment.save(tmp_path / "saved.toml")
    again = Experiment.load(tmp_path / "saved.toml")
    assert again == experiment
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# every [train] key is written: saving writes the resolved experiment, defaults included
HAND_WRITTEN = """\
# A small xor run, written by hand.
name = "hand"
seed = 7

[data]
name = "xor"    # four corners
n = 200

[model]
loss = "softmax_cross_entropy"
layers = [
    {type = "dense", units = 8},  # hidden
    {type = "tanh"},
    {type = "dense", units = 2},
]

[optimizer]
name = "adam"
lr = 0.01  # 0.1 diverges
# weight_decay = 1e-4

[train]
epochs = 4
batch_size = 16
log_every = 1
shuffle = true
"""


def test_saving_a_changed_file_keeps_its_comments_and_layout(tmp_path):
    experiment = Experiment.load(write(tmp_path, HAND_WRITTEN))
    experiment.with_overrides(["optimizer.lr=0.05"]).save(tmp_path / "saved.toml")
    saved = (tmp_path / "saved.toml").read_text()
    assert saved == HAND_WRITTEN.replace("lr = 0.01", "lr = 0.05")


def test_an_edited_copy_of_a_file_keeps_its_comments(tmp_path):
    loaded = Experiment.load(write(tmp_path, HAND_WRITTEN))
    document = loaded.to_dict()  # what the build screen edits
    document["model"]["layers"][0]["units"] = 16
    del document["data"]["n"]
    Experiment.from_dict(document, template=loaded).save(tmp_path / "saved.toml")
    expected = HAND_WRITTEN.replace("units = 8", "units = 16").replace("n = 200\n", "")
    assert (tmp_path / "saved.toml").read_text() == expected


@pytest.mark.parametrize("name", PRESETS)
def test_a_saved_preset_loads_back_the_same(tmp_path, name):
    experiment = preset(name)
    experiment.save(tmp_path / "preset.toml")
    assert Experiment.load(tmp_path / "preset.toml") == experiment


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_nan_and_inf_survive_a_save(tmp_path, value):
    loaded = Experiment.load(write(tmp_path, HAND_WRITTEN))
    for experiment in (preset("xor-mlp"), loaded):  # a new document, and a user's document updated
        # [data] values are checked when the data loads, so nan gets this far
        changed = experiment.with_overrides([f"data.noise={value}"])
        changed.save(tmp_path / "saved.toml")
        again = Experiment.load(tmp_path / "saved.toml").data["noise"]
        assert again == value or (math.isnan(again) and math.isnan(value))


def test_overrides_are_typed_and_validated(tmp_path):
    experiment = Experiment.load(write(tmp_path, GOOD))
    changed = experiment.with_overrides(
        [
            "optimizer.lr=0.5",
            "train.epochs=7",
            "model.layers.0.units=32",
            "optimizer.name=sgd",
            "data.noise=0.2",
            "train.shuffle=false",
        ]
    )
    assert changed.optimizer["lr"] == 0.5 and changed.optimizer["name"] == "sgd"
    assert changed.train["epochs"] == 7 and changed.train["shuffle"] is False
    assert changed.model["layers"][0]["units"] == 32
    assert changed.data["noise"] == 0.2
    assert experiment.train["epochs"] == 4  # the original is untouched


BAD = [
    ("[data\nname = 1", "TOML syntax error"),
    ("nme = 'x'\n[data]\nname='xor'", "unknown top-level key 'nme'; did you mean 'name'"),
    ("seed = -1\n[data]\nname='xor'", "seed must be a non-negative integer, got -1"),
    ("[model]\nlayers=[]", "[data] needs a name"),
    ("data = 3", "data must be a table"),
    ("[data]\nname='xor'\n[train]\nepochs = -1", "[train] epochs must be a non-negative integer"),
    ("[data]\nname='xor'\n[train]\nbatch_size = -5", "batch_size must be a positive integer"),
    ("[data]\nname='xor'\n[train]\nepoch = 5", "unknown key 'epoch'; did you mean 'epochs'"),
    ("[data]\nname='xor'\n[train]\nepochs = 2.5", "got 2.5"),
    ("[data]\nname='xor'\n[train]\nearly_stopping = { patience = -1 }", "patience must be"),
    ("[data]\nname='xor'\n[train]\nearly_stopping = { monitor = 'val_los' }", "did you mean"),
    (
        "[data]\nname='xor'\n[model]\nlayers = [{ type = 'dense', unit = 3 }]",
        "layer 0 (dense): unknown key 'unit'; did you mean 'units'",
    ),
    (
        "[data]\nname='xor'\n[model]\nlayers = [{ type = 'dense', units = 3 }]\nloss = 'hinge'",
        "unknown loss 'hinge'",
    ),
    ("[data]\nname='xor'\n[optimizer]\nname = 'adamw'", "adamw"),
    ("[data]\nname='xor'\n[optimizer]\nname = 'sgd'\nlr = -1", "lr must be"),
    ("[data]\nname='xor'\n[optimizer]\nname = 'sgd'\nlr = 0", "lr must be"),
    ("[data]\nname='xor'\n[optimizer]\nname = 'sgd'\nschedule = { type = 'stepp' }", "step"),
]


@pytest.mark.parametrize("text, message", BAD)
def test_bad_files_say_what_and_where(tmp_path, text, message):
    if "[model]" not in text and "data = 3" not in text:
        text += "\n[model]\nlayers = [{ type = 'dense', units = 2 }]"
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        Experiment.load(path)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_file():
    with pytest.raises(ConfigError, match="does not exist"):
        Experiment.load("/nonexistent/exp.toml")


@pytest.mark.parametrize(
    "assignment, message",
    [
        ("train.epochs", "write key=value"),
        ("model.layers.9.units=3", "model.layers.9 must be an index from 0 to 2"),
        ("seed.x=3", "seed is a value, not a table"),
        ("train.epochs=abc", "[train] epochs must be a non-negative integer, got 'abc'"),
    ],
)
def test_bad_overrides(tmp_path, assignment, message):
    experiment = Experiment.load(write(tmp_path, GOOD))
    with pytest.raises(ConfigError, match=re.escape(message)):
        experiment.with_overrides([assignment])
