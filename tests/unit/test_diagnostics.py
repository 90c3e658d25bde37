"""Per-step diagnostics against plain numpy: gradient norms and update ratios per layer."""

import numpy as np
import pytest

from tuidl.diagnostics import StepNorms, gradient_alerts
from tuidl.experiment import Experiment
from tuidl.model import Sequential
from tuidl.trainer import Trainer


def small_model(seed: int) -> Sequential:
    layers = [{"type": "conv2d", "filters": 3, "kernel": 3}, {"type": "relu"},
              {"type": "flatten"}, {"type": "dense", "units": 5}, {"type": "tanh"},
              {"type": "dense", "units": 1}]  # fmt: skip
    model = Sequential.from_config({"loss": "mse", "layers": layers})
    model.build((2, 7, 5), np.random.default_rng(seed))
    return model


@pytest.mark.parametrize("seed", [0, int(np.random.SeedSequence().entropy % 2**31)])
def test_step_norms_match_numpy(seed):
    rng = np.random.default_rng(seed)
    model = small_model(seed)
    model.flat_grads[...] = rng.standard_normal(model.flat_grads.size)
    norms = StepNorms(model)
    grad_norm = norms.before()
    before = {name: model.flat_params[part].copy() for name, part in model.layer_slices.items()}
    model.flat_params -= 0.01 * model.flat_grads  # any in-place update, as an optimizer does
    ratios = norms.after()
    assert list(grad_norm) == list(ratios) == ["conv2d_0", "dense_0", "dense_1"]
    for name, part in model.layer_slices.items():
        g = model.flat_grads[part].astype(np.float64)
        assert grad_norm[name] == pytest.approx(np.linalg.norm(g), rel=1e-6), seed
        w = before[name].astype(np.float64)
        change = model.flat_params[part].astype(np.float64) - w
        assert ratios[name] == pytest.approx(np.linalg.norm(change) / np.linalg.norm(w), rel=1e-5)


def test_zero_weights_give_a_zero_ratio_and_huge_gradients_stay_finite():
    model = small_model(1)
    model.flat_params[...] = 0.0
    model.flat_grads[...] = 3e30  # its float32 square overflows; the float64 sum does not
    norms = StepNorms(model)
    grad_norm = norms.before()
    assert all(np.isfinite(v) and v > 3e30 for v in grad_norm.values())
    assert set(norms.after().values()) == {0.0}
    assert {a["kind"] for a in gradient_alerts(grad_norm)} == {"exploding"}


def test_trainer_steps_the_flat_buffer_once():
    experiment = Experiment.from_dict({
        "data": {"name": "xor"},
        "model": {"loss": "softmax_cross_entropy",
                  "layers": [{"type": "dense", "units": 4}, {"type": "tanh"},
                             {"type": "dense", "units": 2}]},
        "optimizer": {"name": "adam", "lr": 0.01},
        "train": {"epochs": 1, "batch_size": 8},
    })  # fmt: skip
    trainer = Trainer(experiment)
    trainer.step()
    assert set(trainer.optimizer.state_dict()) == {"t", "lr", "m/model", "v/model"}
