"""The epoch records' histograms against numpy.histogram: fresh random values and fixed edge
cases (zeros, values on the edges, outside the range, the float32 extremes, NaN); the fixed
ranges; and the gradient pass leaving the model as it found it."""

import copy

import numpy as np
import pytest

from tuidl.histograms import (
    BINS,
    BINS_PER_DECADE,
    activation_range,
    histogram,
    histogram_problem,
    log_histogram,
    measure,
    nice_ceil,
    weight_limits,
)
from tuidl.kernels.histogram import histogram_counts
from tuidl.layers import RBM, Dense, ReLU, Sigmoid, Softmax, Tanh
from tuidl.model import Sequential
from tuidl.render.charts import GRADIENT_DECADES

F32_MAX = float(np.finfo(np.float32).max)


def expected(values: np.ndarray, lo: float, hi: float, bins: int) -> dict:
    """The record the obvious way: numpy.histogram, and comparisons for the rest."""
    finite = values[~np.isnan(values)]
    counts, _ = np.histogram(finite, bins, (lo, hi))
    return {"scale": "linear", "edges": [lo, hi], "bins": bins, "counts": counts.tolist(),
            "below": int((finite < lo).sum()), "above": int((finite > hi).sum())}  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("lo", "hi", "bins"), [(-5.0, 5.0, 40), (0.0, 1.0, 40), (-1.0, 1.0, 7),
                                                (-0.3, 2.5, 1), (-7.0, 2.0, 36)])  # fmt: skip
def test_linear_histogram_matches_numpy_on_fresh_values(seed, dtype, lo, hi, bins):
    rng = np.random.default_rng(seed)
    values = (rng.standard_normal((64, 3, 5)) * (hi - lo) / 2 + (lo + hi) / 2).astype(dtype)
    record = histogram(values, lo, hi, bins)
    assert record == expected(values.ravel(), lo, hi, bins), f"seed {seed}"
    assert sum(record["counts"]) + record["below"] + record["above"] == values.size


def test_edge_cases_match_numpy():
    edges = np.linspace(-5.0, 5.0, BINS + 1)
    cases = {
        "all zeros": np.zeros(1000, np.float32),
        "on every edge": edges.astype(np.float32),
        "on every edge, float64": edges,
        "just inside and outside": np.array(
            [
                -5,
                5,
                np.nextafter(-5, -6),
                np.nextafter(5, 6),
                np.nextafter(-5, 0),
                np.nextafter(5, 0),
            ]
        ),  # fmt: skip
        "float32 extremes": np.array([-F32_MAX, F32_MAX, 1e-45, -1e-45], np.float32),
        "one value": np.array([0.1], np.float32),
        "none": np.zeros(0, np.float32),
    }
    for name, values in cases.items():
        assert histogram(values, -5.0, 5.0, BINS) == expected(values, -5.0, 5.0, BINS), name
    assert histogram(np.zeros(1000, np.float32), -5, 5, BINS)["counts"][BINS // 2] == 1000


def test_infinities_count_outside_and_nan_apart():
    values = np.array([-np.inf, np.inf, np.nan, np.nan, 0.5], np.float32)
    record = histogram(values, 0.0, 1.0, 4)
    assert (record["below"], record["above"], record["nan"]) == (1, 1, 2)
    assert record["counts"] == [0, 0, 1, 0]
    assert "nan" not in histogram(values[-1:], 0.0, 1.0, 4)  # only when there are NaNs


def test_the_kernel_refuses_what_it_cannot_count():
    with pytest.raises(ValueError, match="float32 or float64"):
        histogram_counts(np.arange(5), 0.0, 1.0, 4)
    with pytest.raises(ValueError, match="finite lo < hi"):
        histogram_counts(np.zeros(3), 1.0, 1.0, 4)
    with pytest.raises(ValueError, match="bins >= 1"):
        histogram_counts(np.zeros(3), 0.0, 1.0, 0)


def test_log_histogram_is_numpy_on_log10_magnitudes_with_zeros_apart(seed):
    rng = np.random.default_rng(seed)
    g = (rng.standard_normal(5000) * 10.0 ** rng.uniform(-9, 4, 5000)).astype(np.float32)
    g[::7] = 0.0
    lo, hi = GRADIENT_DECADES
    bins = (hi - lo) * BINS_PER_DECADE
    record = log_histogram(g)
    logs = np.log10(np.abs(g[g != 0]))
    want = expected(logs, lo, hi, bins) | {"scale": "log10", "zeros": int((g == 0).sum())}
    assert record == want, f"seed {seed}"
    total = sum(record["counts"]) + record["below"] + record["above"] + record["zeros"]
    assert total == g.size


def test_log_histogram_decades_and_extremes():
    g = np.array([1e-7, 1e2, 1e-3, -1e-3, 0.0, -0.0, 1e-45, F32_MAX, np.inf], np.float32)
    record = log_histogram(g)
    assert record["zeros"] == 2
    assert record["below"] == 1  # 1e-45, a float32 subnormal: 10^-45
    assert record["above"] == 2  # the largest float32 and inf
    counts = record["counts"]
    assert counts[0] == 1 and counts[-1] == 1  # 1e-7 opens the first bin, 1e2 closes the last
    assert counts[4 * BINS_PER_DECADE] == 2  # |-1e-3| and 1e-3 open the fourth decade
    assert record["bins"] == 9 * BINS_PER_DECADE and record["edges"] == [-7.0, 2.0]


def test_activation_ranges_are_the_textbook_ones():
    assert activation_range(Sigmoid()) == activation_range(Softmax()) == (0.0, 1.0)
    assert activation_range(RBM(units=3)) == (0.0, 1.0)
    assert activation_range(Tanh()) == (-1.0, 1.0)
    assert activation_range(ReLU()) == activation_range(Dense(units=2)) == (-5.0, 5.0)


@pytest.mark.parametrize(("value", "ceil"), [(0.03, 0.05), (1.0, 1.0), (1.01, 2.0), (2.0, 2.0),
                                             (4.5, 5.0), (5.2, 10.0), (0.0012, 0.002)])  # fmt: skip
def test_nice_ceil_rounds_up_to_1_2_5(value, ceil):
    assert nice_ceil(value) == pytest.approx(ceil)


def test_weight_limits_come_from_the_initial_weights():
    layers = [{"type": "dense", "units": 50}, {"type": "batchnorm"}, {"type": "dense", "units": 1}]
    model = Sequential.from_config({"loss": "mse", "layers": layers})
    model.build((100,), np.random.default_rng(0))
    limits = weight_limits(model)
    assert list(limits) == ["dense_0", "batchnorm_0", "dense_1"]
    w = model.flat_params[model.layer_slices["dense_0"]]
    assert limits["dense_0"] == nice_ceil(4 * float(np.sqrt(np.mean(w.astype(float) ** 2))))
    assert limits["batchnorm_0"] == 5.0  # gamma 1, beta 0: RMS 0.71, 4x 2.8
    model.flat_params[...] = 0
    assert set(weight_limits(model).values()) == {1.0}


def probed_model() -> Sequential:
    layers = [{"type": "dense", "units": 16}, {"type": "batchnorm"}, {"type": "relu"},
              {"type": "dropout", "rate": 0.5}, {"type": "dense", "units": 3},
              {"type": "softmax"}]  # fmt: skip
    model = Sequential.from_config({"loss": "softmax_cross_entropy", "layers": layers})
    model.build((4,), np.random.default_rng(1))
    return model


def test_measure_leaves_weights_gradients_statistics_and_streams_as_they_were():
    model = probed_model()
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal((64, 4)).astype(np.float32), rng.integers(0, 3, 64)
    model.flat_grads[...] = rng.standard_normal(model.flat_grads.size)
    model.layers[1].running_mean[...] = 0.25
    before = (model.flat_params.copy(), model.flat_grads.copy(),
              {k: v.copy() for k, v in model.state().items()})  # fmt: skip
    dropout = model.layers[3].rng
    stream = dropout.bit_generator.state
    act, hist = measure(model, x, t, weight_limits(model))
    np.testing.assert_array_equal(model.flat_params, before[0])
    np.testing.assert_array_equal(model.flat_grads, before[1])
    for key, value in model.state().items():
        np.testing.assert_array_equal(value, before[2][key])
    assert dropout.bit_generator.state == stream
    assert list(act) == list(hist["act"]) == [layer.name for layer in model.layers]
    assert list(hist["grad"]) == list(hist["weight"]) == ["dense_0", "batchnorm_0", "dense_1"]
    assert hist["act"]["softmax_0"]["edges"] == [0.0, 1.0]
    assert (
        sum(hist["act"]["dense_1"]["counts"])
        + hist["act"]["dense_1"]["below"]
        + (hist["act"]["dense_1"]["above"])
        == 64 * 3
    )


def test_gradients_are_a_training_steps_on_the_probe_samples():
    model = probed_model()
    rng = np.random.default_rng(3)
    x, t = rng.standard_normal((64, 4)).astype(np.float32), rng.integers(0, 3, 64)
    twin = copy.deepcopy(model)  # its dropout stream stands where the model's does
    _, hist = measure(model, x, t, weight_limits(model))
    twin.loss_and_grads(x, t)
    for layer in twin.layers:  # (a copy's layers no longer share its flat buffers)
        if layer.grads:
            grads = np.concatenate([g.ravel() for g in layer.grads.values()])
            assert hist["grad"][layer.name] == log_histogram(grads), layer.name
    grad = hist["grad"]["dense_0"]
    assert sum(grad["counts"]) + grad["below"] + grad["above"] + grad["zeros"] == 4 * 16 + 16


def test_a_damaged_histogram_is_named():
    good = histogram(np.zeros(3, np.float32), -1.0, 1.0, 4)
    assert histogram_problem(good) is None
    assert histogram_problem(log_histogram(np.ones(3, np.float32))) is None
    damaged = {
        "a histogram must be an object": [1, 2],
        "edges must be two increasing": good | {"edges": [1.0, -1.0]},
        "bins must be a whole number": good | {"bins": 0},
        "counts must be bins whole numbers": good | {"counts": [1, 2, 3]},
        "below must be a whole number": good | {"below": -1},
    }
    for message, record in damaged.items():
        assert message in histogram_problem(record)
    assert "edges" in histogram_problem(good | {"edges": ["-inf", 1]})
