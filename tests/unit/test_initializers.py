"""Initializers: the spread each scheme promises, orthogonality, determinism, float32; scaled
inits, the svd alias and the table form as the experiment file gives them."""

import re

import numpy as np
import pytest

from tuidl.errors import ConfigError
from tuidl.experiment import Experiment
from tuidl.initializers import INITIALIZERS, initialize
from tuidl.model import Sequential
from tuidl.presets import preset

FAN_IN, FAN_OUT = 300, 200
EXPECTED_STD = {
    "uniform": 0.05 / np.sqrt(3),
    "gaussian": 0.01,
    "xavier": np.sqrt(2 / (FAN_IN + FAN_OUT)),
    "xavier_uniform": np.sqrt(6 / (FAN_IN + FAN_OUT)) / np.sqrt(3),
    "he": np.sqrt(2 / FAN_IN),
    "he_uniform": np.sqrt(6 / FAN_IN) / np.sqrt(3),
    "lecun": np.sqrt(1 / FAN_IN),
}


@pytest.mark.parametrize("name", list(EXPECTED_STD))
def test_spread_matches_the_scheme(name, seed):
    w = initialize(name, (FAN_IN, FAN_OUT), FAN_IN, FAN_OUT, np.random.default_rng(seed))
    assert w.dtype == np.float32 and w.shape == (FAN_IN, FAN_OUT)
    # 60,000 draws: the sample std is within 2% of the true one with overwhelming probability
    assert w.std() == pytest.approx(EXPECTED_STD[name], rel=0.02), f"seed={seed}"
    assert abs(w.mean()) < 0.02 * EXPECTED_STD[name] * 10


@pytest.mark.parametrize("shape", [(8, 5), (5, 8), (6, 6), (4, 2, 3, 3)])
def test_orthogonal_has_orthonormal_rows_or_columns(shape, seed):
    w = initialize("orthogonal", shape, 1, 1, np.random.default_rng(seed), np.float64)
    m = w.reshape(shape[0], -1)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-12, err_msg=f"seed={seed}")


@pytest.mark.parametrize("name", list(INITIALIZERS))
def test_same_seed_same_bytes(name):
    a, b = (initialize(name, (7, 9), 7, 9, np.random.default_rng(11)) for _ in range(2))
    assert a.tobytes() == b.tobytes()


def test_unknown_initializer_lists_the_choices():
    with pytest.raises(ValueError, match="unknown init 'glorot'; choose one of uniform"):
        initialize("glorot", (2, 2), 2, 2, np.random.default_rng(0))


# ---- scaled inits, aliases and the table form, through the model as the experiment gives them
UNITS = 400  # a dense 400x400 layer: 160,000 draws put the sample std within 2% of the true one


def dense_weights(init, layer_init=None, seed=0) -> np.ndarray:
    """W of a dense 400x400 layer built from `[model] init` (and the layer's own `init`)."""
    layer = {"type": "dense", "units": UNITS}
    if layer_init is not None:
        layer["init"] = layer_init
    model = Sequential.from_config({"init": init, "layers": [layer]})
    model.build((UNITS,), np.random.default_rng(seed))
    return model.params["dense_0.W"]


@pytest.mark.parametrize("model_init, layer_init", [("gaussian:0.5", None), ("he", "gaussian:0.5")])
def test_a_scaled_gaussian_has_that_std(model_init, layer_init, seed):
    w = dense_weights(model_init, layer_init, seed)
    assert w.std() == pytest.approx(0.5, rel=0.02), f"seed={seed}"


@pytest.mark.parametrize("init", ["uniform:0.1", {"name": "uniform", "limit": 0.1}])
def test_a_scaled_uniform_fills_its_limit(init, seed):
    w = np.abs(dense_weights(init, seed=seed))
    # a draw just under 0.1 may round up to float32(0.1), a hair above the float64 0.1
    assert 0.099 < w.max() <= np.float32(0.1), f"seed={seed}"


@pytest.mark.parametrize(
    "a, b",
    [
        ("svd", "orthogonal"),
        ("gaussian:0.5", {"name": "gaussian", "std": 0.5}),
        ("uniform:0.1", {"name": "uniform", "limit": 0.1}),
        ("gaussian", "gaussian:0.01"),  # the defaults did not change
        ("uniform", "uniform:0.05"),
        ("gaussian", {"name": "gaussian"}),
    ],
)
def test_two_spellings_draw_the_same_bytes(a, b, seed):
    assert dense_weights(a, seed=seed).tobytes() == dense_weights(b, seed=seed).tobytes()


BAD_INITS = [
    ("gaussian:abc", "init 'gaussian:abc' needs a positive number after ':', e.g. gaussian:0.01"),
    ("uniform:-0.1", "init 'uniform:-0.1' needs a positive number after ':', e.g. uniform:0.05"),
    ("gaussian:nan", "init 'gaussian:nan' needs a positive number after ':'"),
    ("he:0.1", "init 'he:0.1': he takes no scale (only gaussian and uniform take one); write init"),
    ("svd:1", "init 'svd:1': svd takes no scale"),
    ("gausian:0.1", "unknown init 'gausian:0.1'; did you mean 'gaussian'?"),
    ("glorot", "unknown init 'glorot'; choose one of uniform"),
    (0.01, 'init must be a name like "he" or "gaussian:0.01", or a table'),
    ({"std": 0.01}, 'init table needs a name, e.g. { name = "gaussian", std = 0.01 }'),
    ({"name": "uniform", "std": 0.1}, "init table: unknown key 'std'; uniform takes only limit"),
    ({"name": "he", "std": 0.1}, "init table: unknown key 'std'; he takes no scale"),
    ({"name": "gaussian", "std": 0}, "init std must be a number > 0, got 0"),
]


@pytest.mark.parametrize("init, message", BAD_INITS)
def test_a_bad_init_says_how_to_write_it(init, message):
    with pytest.raises(ConfigError, match=re.escape(f"[model] {message}")):
        Sequential.from_config({"init": init, "layers": [{"type": "dense", "units": 1}]})
    layer = {"type": "dense", "units": 1, "init": init}
    with pytest.raises(ConfigError, match=re.escape(f"layer 0 (dense): {message}")):
        Sequential.from_config({"layers": [layer]})


def test_set_takes_a_scaled_init_as_a_string():
    experiment = preset("spiral-mlp").with_overrides(["model.init=gaussian:1"])
    assert experiment.model["init"] == "gaussian:1"
    table = preset("spiral-mlp").with_overrides(['model.init={ name = "uniform", limit = 0.1 }'])
    assert table.model["init"] == {"name": "uniform", "limit": 0.1}


def test_both_forms_survive_saves_of_a_file(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(
        '[data]\nname = "xor"\n[model]\ninit = "gaussian:0.5"  # wide\n'
        'layers = [{ type = "dense", units = 2, init = { name = "uniform", limit = 0.1 } }]\n'
    )
    loaded = Experiment.load(path)
    loaded.save(path)
    assert Experiment.load(path) == loaded
    assert 'init = "gaussian:0.5"  # wide' in path.read_text()
    table = loaded.with_overrides(['model.init={ name = "gaussian", std = 0.5 }'])
    table.save(path)
    assert Experiment.load(path).model["init"] == {"name": "gaussian", "std": 0.5}
    assert "# wide" in path.read_text()
    table.with_overrides(["model.init=svd"]).save(path)
    assert Experiment.load(path).model["init"] == "svd"
