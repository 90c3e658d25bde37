"""`tuidl export`, `predict` and `diff` as a user runs them: the real executable.

Small run directories are shared by the module: spiral-mlp twice (learning rates apart, for
diff) and one epoch of bn-scale on MNIST (its validation split: the last 2,000 t10k images).
"""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np
import pytest
from clitools import assert_one_line_error, run_tuidl
from realdata import DATA, needs_mnist

from tuidl.datasets.idx import read_idx

MNIST_VAL = slice(8000, 10000)  # the validation split of the t10k-only MNIST folder


def ok(result):
    assert result.returncode == 0, result.stderr
    return result.stdout


def rows(csv_text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(csv_text)))


@pytest.fixture(scope="module")
def spiral(tmp_path_factory):
    """Two spiral-mlp runs that differ in their learning rate."""
    root = tmp_path_factory.mktemp("spiral")
    for lr in ("0.01", "0.03"):
        ok(run_tuidl("run", "spiral-mlp", "--epochs", "2", "--set", f"optimizer.lr={lr}",
                     "--set", "data.n=200", "--out", "runs", tmp_path=root))  # fmt: skip
    return root, sorted((root / "runs").iterdir())


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    """bn-scale (dense layers with batch norm) on 512 MNIST images for one epoch."""
    root = tmp_path_factory.mktemp("mnist")
    ok(run_tuidl("run", "bn-scale", "--epochs", "1", "--set", "data.n_train=512",
                 "--out", "runs", tmp_path=root, TUIDL_DATA=str(DATA)))  # fmt: skip
    (run_dir,) = (root / "runs").iterdir()
    return root, run_dir


@needs_mnist
def test_predict_on_the_idx_files_gives_the_reported_accuracy(mnist):
    root, run_dir = mnist
    images = DATA / "mnist" / "t10k-images-idx3-ubyte.gz"
    out = ok(run_tuidl("predict", str(run_dir), str(images), tmp_path=root, TUIDL_DATA=str(DATA)))
    table = rows(out)
    assert table[0] == ["sample", "class", *(f"p_{k}" for k in range(10))]
    assert len(table) == 1 + 10000
    labels = read_idx(DATA / "mnist" / "t10k-labels-idx1-ubyte.gz")[MNIST_VAL]
    predicted = np.array([int(row[1]) for row in table[1:]])[MNIST_VAL]
    accuracy = float(np.mean(predicted == labels))
    reported = json.loads((run_dir / "summary.json").read_text())["final"]["val_acc"]
    assert accuracy == pytest.approx(reported, abs=1e-9)


@needs_mnist
def test_png_folder_predictions_match_onnxruntime(mnist):
    ort = pytest.importorskip("onnxruntime")
    image = pytest.importorskip("PIL.Image")
    root, run_dir = mnist
    ok(run_tuidl("export", str(run_dir), "-o", "mnist.onnx", tmp_path=root, TUIDL_DATA=str(DATA)))
    pixels = read_idx(DATA / "mnist" / "t10k-images-idx3-ubyte.gz")[8000:8005]
    folder = root / "pngs"
    folder.mkdir()
    for k, picture in enumerate(pixels):
        image.fromarray(picture).save(folder / f"digit-{k}.png")
    table = rows(ok(run_tuidl("predict", str(run_dir), "pngs", tmp_path=root,
                              TUIDL_DATA=str(DATA))))  # fmt: skip
    assert [row[0] for row in table[1:]] == [f"digit-{k}.png" for k in range(5)]
    session = ort.InferenceSession(str(root / "mnist.onnx"), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {"input": (pixels / 255.0).astype(np.float32)[:, None]})[0]
    ours = np.array([[float(v) for v in row[2:]] for row in table[1:]])
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4)
    assert [int(row[1]) for row in table[1:]] == theirs.argmax(axis=1).tolist()


def test_npz_is_read_with_numpy_alone(spiral):
    root, (run_dir, _) = spiral
    ok(run_tuidl("export", str(run_dir), "--format", "npz", "-o", "model.npz", tmp_path=root))
    with np.load(root / "model.npz", allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    spec = json.loads(str(arrays["spec"]))
    assert spec["format"] == "tuidl-model-1" and spec["output"] == "softmax"
    assert [layer["type"] for layer in spec["layers"]] == [
        "dense",
        "tanh",
        "dense",
        "tanh",
        "dense",
    ]
    with np.load(run_dir / "checkpoint.npz", allow_pickle=False) as checkpoint:
        np.testing.assert_array_equal(arrays["dense_0.W"], checkpoint["param/dense_0.W"])
    # the spec is enough to run the network in numpy: normalize, the layers, the softmax
    x = np.random.default_rng(0).normal(0, 1, (7, 2)).astype(np.float32)
    np.save(root / "points.npy", x)
    norm = spec["normalize"]
    h = (x - arrays[norm["shift"]]) * arrays[norm["scale"]]
    for layer in spec["layers"]:
        if layer["type"] == "dense":
            h = h @ arrays[layer["params"]["W"]] + arrays[layer["params"]["b"]]
        else:
            h = np.tanh(h)
    p = np.exp(h - h.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    table = rows(ok(run_tuidl("predict", str(run_dir), "points.npy", tmp_path=root)))
    np.testing.assert_allclose([[float(v) for v in r[2:]] for r in table[1:]], p, atol=1e-5)


def test_predict_reads_csv_and_gives_the_top_classes(spiral):
    root, (run_dir, _) = spiral
    x = np.random.default_rng(1).normal(0, 1, (4, 2)).astype(np.float32)
    np.save(root / "four.npy", x)
    (root / "four.csv").write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in x.tolist()))
    every = rows(ok(run_tuidl("predict", str(run_dir), "four.csv", tmp_path=root)))
    top = rows(ok(run_tuidl("predict", str(run_dir), "four.npy", "--top", "1", tmp_path=root)))
    assert every[0] == ["sample", "class", "p_arm 0", "p_arm 1"]
    assert top[0] == ["sample", "class", "top1", "p1"]
    for full, best in zip(every[1:], top[1:], strict=True):
        assert best[1] == best[2] == full[1]
        assert float(best[3]) == max(float(p) for p in full[2:])


def test_predict_refuses_samples_of_another_shape(spiral):
    root, (run_dir, _) = spiral
    np.save(root / "wrong.npy", np.zeros((3, 5), np.float32))
    result = run_tuidl("predict", str(run_dir), "wrong.npy", tmp_path=root)
    assert_one_line_error(result, "wrong.npy", "(5,)", "the model takes (2,)")


def test_export_refuses_to_overwrite_and_without_onnx_says_how_to_install(spiral):
    root, (run_dir, _) = spiral
    (root / "taken.onnx").write_bytes(b"mine")
    again = run_tuidl("export", str(run_dir), "-o", "taken.onnx", tmp_path=root)
    assert_one_line_error(again, "taken.onnx exists", "--force")
    assert (root / "taken.onnx").read_bytes() == b"mine"
    shadow = root / "no-onnx" / "onnx"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('onnx is not installed here')\n")
    hidden = os.pathsep.join([str(root / "no-onnx"), os.environ.get("PYTHONPATH", "")])
    result = run_tuidl("export", str(run_dir), "-o", "none.onnx", tmp_path=root, PYTHONPATH=hidden)
    assert_one_line_error(result, 'pip install "tuidl[export]"')
    assert not (root / "none.onnx").exists()


def test_a_surface_run_cannot_be_exported(tmp_path):
    ok(run_tuidl("run", "surface-bowl", "--epochs", "1", "--out", "runs", tmp_path=tmp_path))
    (run_dir,) = (tmp_path / "runs").iterdir()
    for fmt in ("onnx", "npz"):
        result = run_tuidl("export", str(run_dir), "--format", fmt, tmp_path=tmp_path)
        assert_one_line_error(result, "layer 0 (surface_0) cannot be exported")
    assert not list(run_dir.glob("model.*"))


def test_diff_shows_config_changes_metrics_and_both_curves(spiral):
    root, (run_a, run_b) = spiral
    out = ok(run_tuidl("diff", str(run_a), str(run_b), tmp_path=root))
    lines = out.splitlines()
    changed = [line for line in lines if "optimizer.lr" in line]
    assert changed and "0.01" in changed[0] and "0.03" in changed[0]
    assert not any("train.epochs" in line for line in lines)  # the same in both
    for row in ("steps/s", "val_acc", "train_loss", "status"):
        assert any(row in line for line in lines), row
    assert "training loss per step" in out and "A spiral-mlp" in out and "B spiral-mlp" in out
    assert "\x1b" not in out  # plain text on a pipe
