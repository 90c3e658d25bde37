"""The softmax layer: forward and backward against numpy, and its fusion with the loss.

Fused (last layer, softmax_cross_entropy) the model must train on exactly the numbers of the
same model without the layer; anywhere else it is a plain layer that gradchecks.
"""

import numpy as np
import pytest
from layertools import assert_gradcheck, assert_model_gradcheck, built, built_model
from records import Recorder

from tuidl.errors import ConfigError
from tuidl.experiment import Experiment
from tuidl.layers import Softmax
from tuidl.probe import Probe
from tuidl.trainer import Trainer

FLOAT32_TOL = 1e-6  # softmax in float32 against float64: a few ulps of values <= 1

HIDDEN = [{"type": "dense", "units": 6}, {"type": "tanh"}, {"type": "dense", "units": 3}]
SPIRAL_HIDDEN = [{"type": "dense", "units": 8}, {"type": "tanh"}, {"type": "dense", "units": 2}]
SOFTMAX = {"type": "softmax"}


def reference_softmax(x: np.ndarray) -> np.ndarray:
    """exp(x) / sum(exp(x)) in float64, for inputs small enough not to overflow."""
    e = np.exp(np.asarray(x, np.float64))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("shape", [(1, 2), (4, 3), (5, 7, 4), (3, 10)])
def test_forward_matches_numpy(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * 3
    y = built(Softmax(), shape[1:]).forward(x, train=True)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, reference_softmax(x), atol=FLOAT32_TOL, err_msg=f"seed={seed}")


def test_forward_is_stable_for_huge_and_zero_inputs():
    x = np.array([[1000.0, 1001.0, -1000.0], [0, 0, 0]], np.float32)
    y = built(Softmax(), (3,)).forward(x, False)
    np.testing.assert_allclose(y, [[1 / (1 + np.e), np.e / (1 + np.e), 0], [1 / 3] * 3], atol=1e-7)


@pytest.mark.parametrize("shape", [(1, 4), (4, 3), (3, 5, 2)])
def test_backward_is_the_jacobian_times_dy(shape, seed):
    rng = np.random.default_rng(seed)
    x, dy = rng.standard_normal(shape), rng.standard_normal(shape)
    layer = built(Softmax(), shape[1:])
    s = layer.forward(x, train=True)
    dx = layer.backward(dy)
    rows_s, rows_dy = s.reshape(-1, shape[-1]), dy.reshape(-1, shape[-1])
    expected = [(np.diag(r) - np.outer(r, r)) @ d for r, d in zip(rows_s, rows_dy, strict=True)]
    np.testing.assert_allclose(dx, np.reshape(expected, shape), atol=1e-12, err_msg=f"seed={seed}")


@pytest.mark.parametrize("shape", [(1, 2), (4, 5), (3, 2, 3)])
def test_gradients_match_central_differences(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    assert set(assert_gradcheck([built(Softmax(), shape[1:])], x, seed)) == {"input"}


def test_one_unit_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="at least 2 units"):
        built(Softmax(), (1,))


def model(layers, loss="softmax_cross_entropy", input_shape=(4,), seed=0):
    return built_model({"loss": loss, "init": "xavier", "layers": layers}, input_shape, seed)


def test_fused_model_trains_on_the_logits_models_numbers_and_predicts_probabilities(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((7, 4)).astype(np.float32)
    t = rng.integers(0, 3, 7)
    plain, fused = model(HIDDEN, seed=seed), model([*HIDDEN, SOFTMAX], seed=seed)
    assert fused.logit_layers == fused.layers[:-1] and plain.logit_layers == plain.layers
    assert plain.loss_and_grads(x, t) == fused.loss_and_grads(x, t), f"seed={seed}"
    assert plain.flat_grads.tobytes() == fused.flat_grads.tobytes(), f"seed={seed}"
    np.testing.assert_array_equal(fused.predict(x, logits=True), plain.predict(x))
    np.testing.assert_allclose(fused.predict(x), reference_softmax(plain.predict(x)), atol=1e-6)


def spiral(layers) -> Experiment:
    return Experiment.from_dict({
        "name": "s", "seed": 3, "data": {"name": "spiral", "n": 200},
        "model": {"loss": "softmax_cross_entropy", "layers": layers},
        "optimizer": {"name": "adam", "lr": 0.01}, "train": {"epochs": 2, "batch_size": 16},
    })  # fmt: skip


def fit(layers) -> tuple[Trainer, list[dict]]:
    """Train, and return the records without time and activation statistics and histograms
    (the softmax layer adds its own)."""
    recorder = Recorder()
    trainer = Trainer(spiral(layers), callbacks=[recorder])
    trainer.fit()
    records = [{k: v for k, v in r.items() if k not in ("time", "act")} for r in recorder.records]
    for record in records:
        if "hist" in record:
            record["hist"] = {**record["hist"], "act": None}
    return trainer, records


def test_fused_training_logs_the_same_losses_and_accuracies():
    plain, plain_records = fit(SPIRAL_HIDDEN)
    fused, fused_records = fit([*SPIRAL_HIDDEN, SOFTMAX])
    assert fused_records == plain_records
    assert "val_acc" in fused_records[-1]
    assert plain.model.flat_params.tobytes() == fused.model.flat_params.tobytes()


def test_decision_boundary_probe_applies_softmax_once():
    plain, fused = Trainer(spiral(SPIRAL_HIDDEN)), Trainer(spiral([*SPIRAL_HIDDEN, SOFTMAX]))
    a = Probe(plain.dataset).take(plain, "plain").boundary
    b = Probe(fused.dataset).take(fused, "fused").boundary
    np.testing.assert_allclose(a.conf, b.conf, atol=1e-6)
    np.testing.assert_array_equal(a.cls, b.cls)


@pytest.mark.parametrize(
    "layers, loss",
    [
        ([*HIDDEN, SOFTMAX], "mse"),  # not fused: mse of probabilities
        ([HIDDEN[0], SOFTMAX, {"type": "dense", "units": 3}], "softmax_cross_entropy"),
        ([*HIDDEN, SOFTMAX, SOFTMAX], "softmax_cross_entropy"),  # only the last is fused
    ],
)
def test_unfused_softmax_is_a_plain_layer_that_gradchecks(layers, loss, seed):
    m = model(layers, loss, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 4))
    t = rng.random((3, 3)) if loss == "mse" else rng.integers(0, 3, 3)
    assert_model_gradcheck(m, x, t, seed)
    assert sum(isinstance(layer, Softmax) for layer in m.logit_layers) == 1


def test_softmax_into_binary_cross_entropy_names_the_fix():
    with pytest.raises(ConfigError, match='layer 3 .softmax.*use loss = "softmax_cross_entropy"'):
        model([*HIDDEN, SOFTMAX], "binary_cross_entropy")
