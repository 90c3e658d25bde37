"""Initializers: the spread each scheme promises, orthogonality, determinism, float32."""

import numpy as np
import pytest

from tuidl.initializers import INITIALIZERS, initialize

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
