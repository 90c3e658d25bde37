"""The pieces of export, predict and diff that need no onnx: the npz spec, predict's input
readers and shape checks, its CSV table, and the run diff's config comparison."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tuidl.errors import ConfigError
from tuidl.export.inputs import fit_to_model, read_inputs
from tuidl.export.npz import model_arrays
from tuidl.export.predict import table
from tuidl.export.runmodel import RunModel
from tuidl.model import Sequential
from tuidl.rundiff import MISSING, RunFacts, config_changes, flatten, read_run


class FakeDataset:
    """What a RunModel reads of a dataset."""

    def __init__(self, task="classification", class_names=None, normalizer=None):
        self.task, self.class_names, self.normalizer = task, class_names, normalizer
        self.name = "fake"


class FakeExperiment:
    name = "fake"
    data = {"name": "fake"}


def run_model(specs, input_shape, loss="softmax_cross_entropy", **dataset) -> RunModel:
    model = Sequential.from_config({"loss": loss, "layers": specs})
    model.build(input_shape, np.random.default_rng(0))
    return RunModel(Path("."), FakeExperiment(), model, FakeDataset(**dataset))


def test_npz_spec_names_every_array_and_the_conv_pads():
    run = run_model(
        [
            {"type": "conv2d", "filters": 2, "kernel": 4, "padding": "same", "stride": 2},
            {"type": "batchnorm"},
            {"type": "flatten"},
            {"type": "dense", "units": 3},
        ],
        (1, 7, 6),
    )
    arrays = model_arrays(run)
    spec = json.loads(str(arrays["spec"]))
    conv, norm = spec["layers"][0], spec["layers"][1]
    assert conv["pads"] == list(run.model.layers[0].pads(7, 6)) == [1, 2, 1, 1]
    assert norm["params"] == {
        key: f"batchnorm_0.{key}" for key in ("gamma", "beta", "running_mean", "running_var")
    }
    for layer in spec["layers"]:
        for name in layer["params"].values():
            assert arrays[name].dtype == np.float32
    assert spec["output"] == "softmax" and spec["normalize"] == {"method": "none"}
    assert arrays["spec"].dtype.kind == "U"  # text: np.load needs no pickle for it


def test_npz_refuses_a_surface_layer_in_one_line():
    from tuidl.presets import resolve_experiment

    experiment = resolve_experiment("surface-saddle")
    model = experiment.make_model()
    model.build((2,), np.random.default_rng(0))
    run = RunModel(Path("."), experiment, model, FakeDataset())
    with pytest.raises(ConfigError, match=r"^layer 0 \(surface_0\) cannot be exported"):
        model_arrays(run)


def test_csv_input_skips_the_header_and_drops_the_label_column(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("a,label,b\n1.5,cat,2\n-3,dog,4e-1\n")
    x, names = read_inputs(path, features=2, label_column="label")
    np.testing.assert_array_equal(x, np.array([[1.5, 2], [-3, 0.4]], np.float32))
    assert names == [0, 1]
    with pytest.raises(ConfigError, match="line 2, column 2: 'cat' is not a number"):
        read_inputs(path, features=3)


def test_npy_input_is_never_unpickled(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ConfigError, match="objects.npy"):
        read_inputs(path, features=1)


def test_unknown_input_kind_and_missing_file(tmp_path):
    (tmp_path / "notes.bin").write_bytes(b"hello")
    with pytest.raises(ConfigError, match="cannot tell what it holds"):
        read_inputs(tmp_path / "notes.bin", features=2)
    with pytest.raises(ConfigError, match="does not exist"):
        read_inputs(tmp_path / "nothing.npy", features=2)
    with pytest.raises(ConfigError, match="holds no .png files"):
        read_inputs(tmp_path, features=2)


@pytest.mark.parametrize(
    "shape,fits",
    [((4, 1, 3, 2), True), ((1, 3, 2), True), ((4, 6), True), ((4, 3, 2), False), ((4, 7), False)],
)
def test_fit_to_model_takes_samples_one_sample_or_flat_rows(shape, fits):
    x = np.zeros(shape, np.float32)
    if fits:
        assert fit_to_model(x, [], (1, 3, 2), Path("in.npy")).shape[1:] == (1, 3, 2)
    else:
        with pytest.raises(ConfigError, match=r"the model takes \(1, 3, 2\) \(or rows of 6"):
            fit_to_model(x, [], (1, 3, 2), Path("in.npy"))


def test_png_images_are_converted_and_sized(tmp_path):
    image = pytest.importorskip("PIL.Image")
    rgb = np.zeros((3, 4, 3), np.uint8)
    rgb[..., 0] = 255
    image.fromarray(rgb).save(tmp_path / "b.png")
    image.fromarray(np.full((3, 4), 51, np.uint8)).save(tmp_path / "a.png")
    images, names = read_inputs(tmp_path, features=12)
    assert names == ["a.png", "b.png"]
    x = fit_to_model(images, names, (1, 3, 4), tmp_path)
    np.testing.assert_allclose(x[0], 0.2)
    np.testing.assert_allclose(x[1], round(0.299 * 255) / 255, atol=1 / 255)  # gray of red
    assert fit_to_model(images, names, (3, 3, 4), tmp_path)[1, 0].min() == 1.0
    with pytest.raises(ConfigError, match=r"a.png is 4x3 pixels, but the model takes 5x3"):
        fit_to_model(images, names, (1, 3, 5), tmp_path)


def test_table_of_a_classifier_with_top_classes():
    run = run_model([{"type": "dense", "units": 3}], (2,), class_names=["a", "b", "c"])
    p = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]], np.float32)
    rows = list(table(run, p, [0, 1]))
    assert rows[0] == ["sample", "class", "p_a", "p_b", "p_c"]
    assert rows[1][:2] == ["0", "b"] and float(rows[2][2]) == pytest.approx(0.6)
    top = list(table(run, p, ["x", "y"], top=2))
    assert top[0] == ["sample", "class", "top1", "p1", "top2", "p2"]
    assert top[1][:4] == ["x", "b", "b", "0.5"] and top[2][4] == "c"


def test_table_of_a_regression_and_of_one_sigmoid_unit():
    run = run_model([{"type": "dense", "units": 2}], (2,), "mse", task="regression")
    rows = list(table(run, np.array([[1.5, -2.0]], np.float32), [0]))
    assert rows == [["sample", "y_0", "y_1"], ["0", "1.5", "-2"]]
    with pytest.raises(ConfigError, match="--top needs a classifier"):
        list(table(run, np.zeros((1, 2), np.float32), [0], top=1))
    run = run_model([{"type": "dense", "units": 1}], (2,), "binary_cross_entropy")
    rows = list(table(run, np.array([[0.75]], np.float32), [0]))
    assert rows == [["sample", "class", "p_0", "p_1"], ["0", "1", "0.25", "0.75"]]


def facts(config) -> RunFacts:
    return RunFacts(Path("r"), "r", "finished", 1, 10, 1.0, flatten(config))


def test_config_changes_by_dotted_key_and_layer_index():
    a = {"seed": 0, "optimizer": {"lr": 0.1}, "model": {"layers": [{"units": 3}, {"type": "relu"}]}}
    b = {"seed": 0, "optimizer": {"lr": 0.2, "momentum": 0.9}, "model": {"layers": [{"units": 4}]}}
    assert config_changes(facts(a), facts(b)) == [
        ("optimizer.lr", 0.1, 0.2),
        ("model.layers.0.units", 3, 4),
        ("model.layers.1.type", "relu", MISSING),
        ("optimizer.momentum", MISSING, 0.9),
    ]
    assert flatten({"x": [1, 2]}) == {"x": [1, 2]}  # lists of values stay values


def test_read_run_of_a_folder_that_is_no_run(tmp_path):
    with pytest.raises(ConfigError, match="is not a run directory"):
        read_run(tmp_path)
