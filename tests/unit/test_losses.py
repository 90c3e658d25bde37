"""Losses against plain formulas, and their gradients against central differences (float64)."""

import numpy as np
import pytest

from tuidl.gradcheck import numerical_grad, rel_error
from tuidl.losses import LOSSES, MSE, BinaryCrossEntropy, SoftmaxCrossEntropy, mean

GRADCHECK_TOL = 1e-6


def targets(loss_name: str, y_shape: tuple[int, ...], rng, onehot: bool = False) -> np.ndarray:
    if loss_name == "mse":
        return rng.standard_normal(y_shape)
    if loss_name == "binary_cross_entropy":
        return rng.integers(0, 2, y_shape).astype(np.float64)
    labels = rng.integers(0, y_shape[-1], y_shape[:-1])
    return np.eye(y_shape[-1])[labels] if onehot else labels


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("y_shape", [(1, 3), (5, 4), (3, 6, 5)])
def test_loss_gradient_matches_central_differences(name, y_shape, seed):
    rng = np.random.default_rng(seed)
    loss = LOSSES[name]()
    y = rng.standard_normal(y_shape) * 3
    t = targets(name, y_shape, rng)
    loss.forward(y, t)
    analytic = loss.backward()
    numeric = numerical_grad(lambda: loss.forward(y, t), y)
    assert rel_error(analytic, numeric) < GRADCHECK_TOL, f"seed={seed}"


def test_softmax_cross_entropy_matches_formula(seed):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((6, 4))
    labels = rng.integers(0, 4, 6)
    p = np.exp(y) / np.exp(y).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(p[np.arange(6), labels]))
    loss = SoftmaxCrossEntropy()
    assert loss.forward(y, labels) == pytest.approx(expected, rel=1e-12)
    assert loss.forward(y, np.eye(4)[labels]) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(loss.backward(), (p - np.eye(4)[labels]) / 6, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_losses_mean_has_np_means_bits(dtype, seed):
    """A run's losses are the numbers np.mean gave them (a resumed or repeated run compares
    them bit for bit)."""
    rng = np.random.default_rng(seed)
    for size in (1, 7, 64, 640, 3200, 20_001):
        a = (rng.standard_normal(size) * 10.0 ** rng.uniform(-4, 4)).astype(dtype)
        assert mean(a) == float(np.mean(a)) and mean(a.reshape(1, -1)) == mean(a), size


def test_softmax_cross_entropy_takes_labels_of_any_integer_dtype_and_leading_axes(seed):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((3, 6, 5)).astype(np.float32)
    labels = rng.integers(0, 5, (3, 6))
    loss = SoftmaxCrossEntropy()
    value, dy = loss.forward(y, labels), loss.backward()
    for other in (labels.astype(np.uint8), labels.astype(np.int32)):
        assert loss.forward(y, other) == value
        np.testing.assert_array_equal(loss.backward(), dy)
    log_p = y - np.log(np.exp(y).sum(-1, keepdims=True))
    expected = -np.take_along_axis(log_p, labels[..., None], -1).mean()
    assert value == pytest.approx(float(expected), rel=1e-5)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    loss = SoftmaxCrossEntropy()
    y = np.array([[1000.0, 0.0], [-1000.0, 0.0]], np.float32)
    value = loss.forward(y, np.array([0, 0]))
    assert np.isfinite(value) and value == pytest.approx(500.0)
    assert np.all(np.isfinite(loss.backward()))


def test_binary_cross_entropy_matches_formula_and_is_stable(seed):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((7, 1)) * 4
    t = rng.integers(0, 2, (7, 1)).astype(np.float64)
    p = 1 / (1 + np.exp(-y))
    expected = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    assert BinaryCrossEntropy().forward(y, t) == pytest.approx(expected, rel=1e-10)
    assert np.isfinite(BinaryCrossEntropy().forward(np.array([[800.0]]), np.array([[0.0]])))


def test_mse_is_mean_of_squares_and_keeps_float32():
    loss = MSE()
    y = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    assert loss.forward(y, np.zeros((2, 2))) == pytest.approx(7.5)
    assert loss.backward().dtype == np.float32


def test_mse_compares_class_labels_as_one_hot_rows(seed):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((5, 3, 4)).astype(np.float32)
    labels = rng.integers(0, 4, (5, 3))
    one_hot, on_labels = MSE(), MSE()
    assert on_labels.forward(y, labels) == one_hot.forward(y, np.eye(4)[labels]), f"seed={seed}"
    np.testing.assert_array_equal(on_labels.backward(), one_hot.backward())
