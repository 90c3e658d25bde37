"""Surface experiments: the layer's gradients, the value loss, the checks that keep a surface
alone, and the presets' lessons against the textbook's update rules (Deep Learning from
Scratch, ch. 6), written here again in plain float64 numpy."""

from __future__ import annotations

import numpy as np
import pytest
from layertools import assert_gradcheck, assert_model_gradcheck, built

from tuidl.errors import ConfigError
from tuidl.experiment import Experiment
from tuidl.layers import Surface, make_layer
from tuidl.layers.surface import FUNCTIONS, LESSON_RATES, surface_function
from tuidl.losses import Value
from tuidl.presets import PRESETS, preset
from tuidl.trainer import Callback, Trainer

# tuidl trains in float32; after 29 updates its positions are within 1e-6 of the float64
# recurrences for sgd, momentum and adagrad (measured), and Adam's eps sits elsewhere (below)
TEXTBOOK_TOL = 1e-4
ADAM_TOL = 1e-3  # measured 7.6e-6: tuidl adds eps 1e-8 to sqrt(v_hat), DLFS 1e-7 to sqrt(v)
MINIMUM_TOL = 0.1  # how near a minimum a run that settled in it ends


class Steps(Callback):
    """The step and alert records of a run."""

    def __init__(self) -> None:
        self.steps: list[dict] = []
        self.alerts: list[dict] = []

    def on_step_end(self, trainer, logs) -> None:
        self.steps.append(logs)

    def on_alert(self, trainer, logs) -> None:
        self.alerts.append(logs)


def race(function: str) -> dict[str, Steps]:
    """The surface preset of `function` run once per optimizer at its lesson rate."""
    runs = {}
    for name, lr in LESSON_RATES[function].items():
        experiment = preset(f"surface-{function}").with_overrides(
            [f"optimizer.name={name}", f"optimizer.lr={lr}"]
        )
        runs[name] = Steps()
        assert Trainer(experiment, callbacks=[runs[name]]).fit()["status"] == "finished"
    return runs


def end(run: Steps) -> np.ndarray:
    return np.array(run.steps[-1]["position"])


@pytest.mark.parametrize("function", list(FUNCTIONS))
def test_surface_gradients_match_central_differences(function, seed):
    rng = np.random.default_rng(seed)
    x0, x1, y0, y1 = FUNCTIONS[function].extent
    for _ in range(5):
        layer = built(Surface(function), (3,), dtype=np.float64)
        layer.params["p"][...] = rng.uniform((x0, y0), (x1, y1))
        assert_gradcheck([layer], rng.standard_normal((4, 3)), seed)


def test_surface_outputs_its_value_for_every_sample_and_ignores_the_input():
    layer = built(Surface("bowl", start=[-7, 2]), (1,))
    y = layer.forward(np.arange(3.0, dtype=np.float32)[:, None], train=True)
    np.testing.assert_allclose(y, np.full((3, 1), 49 / 20 + 4), rtol=1e-6)
    assert y.dtype == np.float32 and layer.params["p"].dtype == np.float32
    layer.needs_input_grad = False  # a model's first layer
    assert layer.backward(np.full((3, 1), 1 / 3, np.float32)) is None
    np.testing.assert_allclose(layer.grads["p"], [-0.7, 4.0], rtol=1e-6)


def test_value_loss_is_the_mean_output_whatever_the_targets(seed):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((4, 1))
    loss = Value()
    assert loss.forward(y, rng.integers(0, 3, 4)) == pytest.approx(y.mean(), rel=1e-12)
    np.testing.assert_array_equal(loss.backward(), np.full((4, 1), 0.25))


def test_surface_keys_are_checked_and_round_trip():
    spec = {"type": "surface", "function": "saddle", "start": [0.5, -1.0]}
    layer = make_layer(spec, 0)
    assert {"type": layer.type, **layer.get_config()} == spec
    assert make_layer({"type": "surface", "function": "bowl"}, 0).start == [-7.0, 2.0]
    for bad, message in [
        ({"function": "bowll"}, "did you mean 'bowl'"),
        (
            {"function": "bowl", "start": [1.0]},
            "start must be two finite numbers [x, y], got [1.0]",
        ),
        ({"function": "bowl", "start": [1, float("nan")]}, "two finite numbers"),
        ({"function": "bowl", "start": "1, 2"}, "two finite numbers"),
    ]:
        with pytest.raises(ConfigError) as error:
            make_layer({"type": "surface", **bad}, 2)
        assert str(error.value).startswith("layer 2 (surface)") and message in str(error.value)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"loss": "value", "layers": [{"type": "surface", "function": "bowl"},
                                      {"type": "dense", "units": 1}]},
         "layer 0 (surface) is a whole model (a point on a 2-D function), but [model] has 2 "
         "layers; keep the surface layer alone"),
        ({"loss": "mse", "layers": [{"type": "surface", "function": "bowl"}]},
         'use loss = "value", not "mse"'),
    ],
)  # fmt: skip
def test_a_surface_is_a_model_of_its_own_with_the_value_loss(model, message):
    document = {"name": "x", "data": {"name": "point"}, "model": model}
    with pytest.raises(ConfigError) as error:
        Experiment.from_dict(document)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_surface_presets_pass_the_gradient_check():
    for name in PRESETS:
        if name.startswith("surface-"):
            trainer = Trainer(preset(name))
            x = np.zeros((2, 1))
            assert_model_gradcheck(trainer.model, x, x, seed=0)


def test_a_step_record_holds_the_position_its_loss_was_taken_at():
    run = Steps()
    trainer = Trainer(preset("surface-bowl"), callbacks=[run])
    trainer.fit()
    first, last = run.steps[0], run.steps[-1]
    assert first["position"] == [-7.0, 2.0] and first["surface"] == "bowl"
    assert first["loss"] == pytest.approx(49 / 20 + 4, rel=1e-6)
    x, y = last["position"]
    assert last["loss"] == pytest.approx(x * x / 20 + y * y, rel=1e-5)
    assert [record["step"] for record in run.steps] == list(range(1, 31))


def textbook_positions(optimizer: str, lr: float, updates: int) -> np.ndarray:
    """DLFS's `common/optimizer.py` rules from (-7, 2) on x²/20 + y², in float64."""
    p = np.array([-7.0, 2.0])
    v, h, m = np.zeros(2), np.zeros(2), np.zeros(2)
    for t in range(1, updates + 1):
        g = np.array([p[0] / 10, 2 * p[1]])
        if optimizer == "sgd":
            p -= lr * g
        elif optimizer == "momentum":
            v = 0.9 * v - lr * g
            p += v
        elif optimizer == "adagrad":
            h += g * g
            p -= lr * g / (np.sqrt(h) + 1e-7)
        else:  # adam, beta1 0.9, beta2 0.999, the bias correction folded into the rate
            lr_t = lr * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
            m += (1 - 0.9) * (g - m)
            h += (1 - 0.999) * (g * g - h)
            p -= lr_t * m / (np.sqrt(h) + 1e-7)
    return p


def test_the_bowl_race_matches_the_textbook_after_29_updates():
    runs = race("bowl")
    for optimizer, tol in [("sgd", TEXTBOOK_TOL), ("momentum", TEXTBOOK_TOL),
                           ("adagrad", TEXTBOOK_TOL), ("adam", ADAM_TOL)]:  # fmt: skip
        expected = textbook_positions(optimizer, LESSON_RATES["bowl"][optimizer], 29)
        # the 30th record's position is where the 30th update started: after 29
        np.testing.assert_allclose(end(runs[optimizer]), expected, atol=tol, err_msg=optimizer)
    assert all(not run.alerts for run in runs.values())


def test_on_two_wells_some_optimizers_end_in_each_minimum():
    runs = race("local-minimum")
    deep, shallow = FUNCTIONS["local-minimum"].minima
    ends = {name: end(run) for name, run in runs.items()}
    in_deep = [n for n, p in ends.items() if np.linalg.norm(p - deep) < MINIMUM_TOL]
    in_shallow = [n for n, p in ends.items() if np.linalg.norm(p - shallow) < MINIMUM_TOL]
    assert "sgd" in in_shallow and "momentum" in in_deep, ends
    assert len(in_deep) + len(in_shallow) == len(ends), ends  # each settled in one
    assert all(not run.alerts for run in runs.values())


def test_sgd_lingers_at_the_saddle_while_the_others_roll_off():
    runs = race("saddle")
    ends = {name: end(run) for name, run in runs.items()}
    assert np.linalg.norm(ends.pop("sgd")) < 0.2, "sgd near (0, 0)"
    f = FUNCTIONS["saddle"].value
    # momentum still swings about its valley's floor (f = -0.5 at the bottom, 0 at the saddle)
    assert all(abs(y) > 0.8 and f(x, y) < -0.45 for x, y in ends.values()), ends
    assert all(not run.alerts for run in runs.values())


def test_momentum_runs_along_rosenbrocks_valley_while_sgd_crawls():
    runs = race("rosenbrock")
    distance = {name: np.linalg.norm(end(run) - (1, 1)) for name, run in runs.items()}
    assert distance["sgd"] > 2, distance
    assert max(distance[n] for n in ("momentum", "nesterov", "adam")) < 0.25, distance
    assert all(not run.alerts for run in runs.values())


def test_surface_function_names_a_surface_model_only():
    assert surface_function(preset("surface-saddle").model) == "saddle"
    assert surface_function(preset("spiral-mlp").model) is None
