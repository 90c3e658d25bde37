"""Every preset trained briefly, exported to ONNX and asked for predictions: onnxruntime's
outputs on 64 validation samples match `tuidl predict`'s CSV within 1e-4.

The commands run in this process through `tuidl.cli.main` (the same code as the executable,
without a process start per call: 22 presets x 3 commands would add a minute). The raw
validation samples come from the dataset loaded without normalization: same seed, same split.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from realdata import DATA, needs_mnist

from tuidl.cli import main
from tuidl.datasets import load_dataset
from tuidl.presets import PRESETS, resolve_experiment

ort = pytest.importorskip("onnxruntime")

PREDICT_ATOL = 1e-4  # the bound, on probabilities or outputs
SAMPLES = 64
# overrides that make one epoch of each preset take well under a second
SHRINK = {
    "spiral-mlp": ["data.n=160"],
    "xor-mlp": ["data.n=160"],
    "space-warp": ["data.n=160"],
    "digits-dbn": ["model.layers.1.pretrain_epochs=1", "model.layers.2.pretrain_epochs=1"],
    "adding-rnn": ["data.n=200", "data.T=12"],
    "exploding-rnn": ["data.n=200", "data.T=12", "optimizer.clip_norm=1"],
    "adding-lstm": ["data.n=200", "data.T=12"],
    "init-mnist": ["data.n_train=256"],
    "optimizers-mnist": ["data.n_train=256"],
    "bn-scale": ["data.n_train=256"],
    "bn-scale-plain": ["data.n_train=256"],
    "mnist-lenet": ["data.n_train=128"],
}
NEEDS_MNIST = {name for name in PRESETS if resolve_experiment(name).data["name"] == "mnist"}
EXPORTABLE = [name for name in PRESETS if not name.startswith("surface-")]


def cli(capsys, *args: str) -> str:
    """stdout of `tuidl ARGS`, which must succeed."""
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def raw_validation(experiment) -> np.ndarray:
    """The first SAMPLES validation inputs (training inputs without a validation split) in
    the dataset's own units, as a user has them."""
    params = dict(experiment.data) | {"normalize": "none"}
    dataset = load_dataset(params.pop("name"), data_dir=None, seed=experiment.seed, **params)
    x = dataset.x_val if len(dataset.x_val) else dataset.x_train
    return x[:SAMPLES]


def predicted(csv_text: str) -> np.ndarray:
    """The numbers of `tuidl predict`'s CSV: probabilities (after sample, class) or outputs."""
    rows = list(csv.reader(io.StringIO(csv_text)))
    first = 2 if rows[0][1] == "class" else 1
    return np.array([[float(v) for v in row[first:]] for row in rows[1:]], np.float32)


@pytest.mark.slow
@pytest.mark.parametrize(
    "preset",
    [pytest.param(p, marks=needs_mnist) if p in NEEDS_MNIST else p for p in EXPORTABLE],
)
def test_onnxruntime_matches_tuidl_predict(preset, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TUIDL_DATA", str(DATA))
    overrides = [arg for o in SHRINK.get(preset, []) for arg in ("--set", o)]
    cli(capsys, "run", preset, "--epochs", "1", "--out", str(tmp_path), *overrides)
    (run_dir,) = tmp_path.iterdir()
    cli(capsys, "export", str(run_dir))
    experiment = resolve_experiment(str(run_dir / "config.toml"))
    x = raw_validation(experiment)
    np.save(tmp_path / "x.npy", x)
    ours = predicted(cli(capsys, "predict", str(run_dir), str(tmp_path / "x.npy")))
    session = ort.InferenceSession(str(run_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {"input": x})[0].reshape(len(x), -1)
    if ours.shape[1] == 2 * theirs.shape[1]:  # a single sigmoid unit is printed as (1 - p, p)
        ours = ours[:, 1:]
    assert ours.shape == theirs.shape
    difference = float(np.abs(ours - theirs).max())
    print(f"{preset}: largest |onnxruntime - tuidl predict| = {difference:.2e}")
    assert difference <= PREDICT_ATOL
