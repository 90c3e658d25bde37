"""Sequential: building from a [model] table, shape and size errors, whole-model gradchecks,
checkpoints, and whether the output and loss fit the data."""

import numpy as np
import pytest
from layertools import assert_model_gradcheck, built_model

from tuidl import validate
from tuidl.checkpoint import load_checkpoint, save_checkpoint
from tuidl.datasets import load_dataset
from tuidl.errors import ConfigError
from tuidl.model import Sequential, batch_problem, output_problem, report_layers

MLP = {
    "loss": "softmax_cross_entropy",
    "init": "xavier",
    "layers": [
        {"type": "dense", "units": 8},
        {"type": "batchnorm"},
        {"type": "tanh"},
        {"type": "dropout", "rate": 0.3},
        {"type": "dense", "units": 6},
        {"type": "maxout", "pieces": 2},
        {"type": "dense", "units": 3},
    ],
}


def test_build_names_layers_and_counts_parameters():
    model = built_model(MLP, (5,))
    assert [name for name, _ in model.named_layers()] == [
        "dense_0",
        "batchnorm_0",
        "tanh_0",
        "dropout_0",
        "dense_1",
        "maxout_0",
        "dense_2",
    ]
    # dense 5*8+8, batchnorm 2*8, dense 8*6+6, dense 3*3+3
    assert [count for _, _, count in model.summary()] == [48, 16, 0, 0, 54, 0, 12]
    assert model.count_params() == 130
    assert model.output_shape == (3,)
    assert model.get_config() == {
        **MLP,
        "layers": [
            {**spec, **({"rate": 0.3} if spec["type"] == "dropout" else {})}
            | ({"momentum": 0.9, "eps": 1e-5} if spec["type"] == "batchnorm" else {})
            | ({"pieces": 2} if spec["type"] == "maxout" else {})
            for spec in MLP["layers"]
        ],
    }


def test_whole_model_gradcheck_with_batchnorm_and_dropout(seed):
    model = built_model(MLP, (5,), seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((6, 5))
    errors = assert_model_gradcheck(model, x, rng.integers(0, 3, 6), seed)
    assert set(errors) == {"input", *model.params}


@pytest.mark.parametrize(
    "layers, input_shape, message",
    [
        (
            [{"type": "dense", "units": 4}],
            (1, 8, 8),
            "layer 0 (dense) with input shape (1, 8, 8): dense takes (features,)",
        ),
        (
            [{"type": "dense", "units": 5}, {"type": "maxout", "pieces": 2}],
            (3,),
            "layer 1 (maxout) with input shape (5,): maxout with pieces=2",
        ),
    ],
)
def test_shape_mismatch_names_layer_and_shapes(layers, input_shape, message):
    model = Sequential.from_config({"layers": layers})
    with pytest.raises(ConfigError) as error:
        model.build(input_shape, np.random.default_rng(0))
    assert message in str(error.value)


@pytest.mark.parametrize(
    "config, message",
    [
        ({"layers": []}, "no layers"),
        ({"layers": [{"type": "relu"}], "loss": "hinge"}, "unknown loss 'hinge'"),
        ({"layers": [{"type": "relu"}], "init": "hee"}, "did you mean 'he'"),
        ({"layers": [{"type": "relu"}], "lyers": []}, "unknown key 'lyers'; did you mean 'layers'"),
        ({"layers": {"type": "relu"}}, "must be a list"),
    ],
)
def test_bad_model_tables(config, message):
    with pytest.raises(ConfigError, match=message):
        Sequential.from_config(config)


def test_same_seed_gives_identical_weights_and_losses():
    runs = []
    for _ in range(2):
        model = built_model(MLP, (5,), seed=42)
        x = np.random.default_rng(1).standard_normal((16, 5)).astype(np.float32)
        loss = model.loss_and_grads(x, np.arange(16) % 3)
        runs.append((loss, b"".join(v.tobytes() for v in model.grads.values())))
    assert runs[0] == runs[1]


def test_checkpoint_round_trip_restores_weights_state_and_dropout_stream(tmp_path, seed):
    model = built_model(MLP, (5,), seed)
    x = np.random.default_rng(seed).standard_normal((4, 5)).astype(np.float32)
    model.loss_and_grads(x, np.array([0, 1, 2, 0]))  # moves running stats and the dropout stream
    path = tmp_path / "checkpoint.npz"
    save_checkpoint(path, model, extra={"step": np.array(7)})
    saved_state = {key: value.copy() for key, value in model.state().items()}
    expected_next = model.forward(x, train=True)

    fresh = built_model(MLP, (5,), seed + 1)
    extra = load_checkpoint(path, fresh)
    assert extra["step"] == 7
    for key, value in model.params.items():
        np.testing.assert_array_equal(fresh.params[key], value)
    for key, value in saved_state.items():
        np.testing.assert_array_equal(fresh.state()[key], value)
    np.testing.assert_array_equal(fresh.forward(x, train=True), expected_next)
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]  # no temp file left


def test_checkpoint_from_another_model_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, built_model(MLP, (5,)))
    with pytest.raises(ConfigError, match="shape"):
        load_checkpoint(path, built_model(MLP, (4,)))
    other = {"layers": [{"type": "dense", "units": 3}]}
    with pytest.raises(ConfigError, match="does not match the model"):
        load_checkpoint(path, built_model(other, (5,)))


def test_damaged_or_foreign_checkpoints_give_config_errors(tmp_path):
    model = built_model(MLP, (5,))
    with pytest.raises(ConfigError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.npz", model)
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(ConfigError, match="damaged"):
        load_checkpoint(tmp_path / "junk.npz", model)
    np.savez(tmp_path / "foreign.npz", weights=np.zeros(3))
    with pytest.raises(ConfigError, match="not a tuidl checkpoint"):
        load_checkpoint(tmp_path / "foreign.npz", model)
    good = tmp_path / "good.npz"
    save_checkpoint(good, model)
    good.write_bytes(good.read_bytes()[:200])  # truncated
    with pytest.raises(ConfigError, match="damaged"):
        load_checkpoint(good, model)


def test_checkpoint_never_unpickles(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(
        path, format=np.array("tuidl-checkpoint-1"), payload=np.array([object()], dtype=object)
    )
    with pytest.raises(ConfigError, match="damaged"):
        load_checkpoint(path, built_model(MLP, (5,)))


@pytest.fixture
def one_gib(monkeypatch):
    """A machine with 1 GiB of memory: 512 MiB to spare for a model or a dataset."""
    monkeypatch.setattr(validate, "memory_bytes", lambda: 2**30)


def test_a_model_too_big_to_train_is_refused_before_allocating(one_gib):
    # 10 * 10**7 + 10**7 parameters, 24 bytes each in training: 2.5 GiB > 0.5 GiB
    model = Sequential.from_config({"layers": [{"type": "dense", "units": 10**7}]})
    with pytest.raises(ConfigError) as error:
        model.build((10,), np.random.default_rng(0))
    message = str(error.value)
    assert message.startswith("layer 0 (dense) has 110,000,000 parameters: training them")
    assert "the 512.0 MiB this machine can spare (half of its 1.0 GiB)" in message
    assert message.endswith("use fewer units (or pool before flatten, so fewer features reach it)")
    assert model.layers[0].params == {}


def test_the_parameters_of_all_layers_count_together(one_gib):
    # each layer fits (10**7 parameters or fewer, 229 MiB to train); the first three do not
    layers = [{"type": "dense", "units": 10**6}, {"type": "dense", "units": 9}] * 2
    with pytest.raises(ConfigError, match=r"layer 2 \(dense\) has 10,000,000 parameters, "):
        Sequential.from_config({"layers": layers}).build((9,), np.random.default_rng(0))
    (report,) = [r for r in report_layers(layers, (9,)) if r.problem]
    assert report.index == 2 and "with the layers before it" in report.problem


@pytest.mark.parametrize(
    "layer, fix",
    [
        (
            {"type": "conv2d", "filters": 10**8, "kernel": 3},
            "use fewer filters or a smaller kernel",
        ),
        ({"type": "lstm", "units": 10**5}, "use fewer units"),
    ],
)
def test_huge_conv_and_lstm_layers_name_their_fix(one_gib, layer, fix):
    shape = (1, 8, 8) if layer["type"] == "conv2d" else (8, 8)
    (report,) = report_layers([layer], shape)
    assert report.problem.startswith(f"layer 0 ({layer['type']}) has ") and report.problem.endswith(
        fix
    )


def test_batch_problem_names_a_batch_size_that_fits(one_gib):
    # 10**6 inputs per sample: ~8 MB of activations each (input, output and its gradient)
    model = built_model({"layers": [{"type": "dense", "units": 1}]}, (10**6,))
    problem = batch_problem(model, 1000, train_samples=500)
    assert problem.startswith("training 500 samples at a time (the whole training split) needs")
    fits = int(problem.rsplit("batch_size = ", 1)[1].split()[0].replace(",", ""))
    assert 0 < fits < 500
    assert batch_problem(model, fits, 500) == "" and batch_problem(model, fits + 1, 500)


@pytest.mark.parametrize(
    "dataset, shape, loss, message",
    [
        ("spiral", (1,), "binary_cross_entropy", "spiral has class labels; use loss ="),
        ("spiral", (3,), "mse", "spiral has 2 classes"),
        ("adding", (1,), "softmax_cross_entropy", "adding has regression targets of shape (1,)"),
        ("adding", (1,), "binary_cross_entropy", "needs targets in [0, 1], but adding's run"),
        ("spiral", (3,), "softmax_cross_entropy", "spiral has 2 classes"),
        ("adding", (1,), "mse", ""),
        ("spiral", (2,), "mse", ""),  # class labels, compared as one-hot rows
        ("spiral", (2,), "softmax_cross_entropy", ""),
    ],
)
def test_output_problem_checks_the_loss_against_the_targets(dataset, shape, loss, message):
    data = load_dataset(dataset, n=40)
    problem = output_problem(shape, data, loss)
    assert message in problem and bool(problem) == bool(message)


def test_output_problem_without_a_loss_checks_shapes_only():
    assert output_problem((2,), load_dataset("spiral", n=40)) == ""
