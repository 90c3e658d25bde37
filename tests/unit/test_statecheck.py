"""A checkpoint's trainer state is checked before a resumed run trusts it: early stopping,
pretraining, schedule and alerts entries out of place give one ConfigError naming them."""

import numpy as np
import pytest
from test_pretrain import dbn
from test_trainer import experiment

from tuidl import statecheck
from tuidl.errors import ConfigError
from tuidl.trainer import Trainer

EARLY = {"epochs": 3, "batch_size": 16, "early_stopping": {"patience": 1, "restore_best": True}}
SCHEDULE = {"name": "sgd", "lr": 0.1, "schedule": {"type": "step", "step_size": 1}}


def trained(exp, steps: int) -> tuple[Trainer, dict[str, np.ndarray]]:
    """A trainer of `exp` after `steps` steps, and its state."""
    trainer = Trainer(exp)
    for _ in range(steps):
        trainer.step()
    return trainer, trainer.state_dict()


def loads(exp, state: dict) -> None:
    Trainer(exp).load_state_dict(state)


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("early/wait", -1, "early stopping's wait must be a whole number >= 0, got -1"),
        ("early/best", np.nan, "early stopping's best must be a finite number, got nan"),
        ("early/stopped", 2, "early stopping's stopped must be true or false, got 2"),
        ("early/best/dense_0.W", np.zeros(3), r"best/dense_0.W must be \(2, 16\) floats"),
        ("early/best/dense_9.W", np.zeros(3), "best/dense_9.W is in only one of"),
    ],
)
def test_early_stopping_state_out_of_place(key, value, message):
    exp = experiment(train=EARLY)
    _, state = trained(exp, 2 * 10)  # two epochs: best weights kept
    assert "early/best/dense_0.W" in state
    state[key] = np.asarray(value)
    with pytest.raises(ConfigError, match=message):
        loads(exp, state)


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("pretrain/stage", 7, "pretrain/stage must be a whole number from 0 to 2, got 7"),
        ("pretrain/epoch", 2, "pretrain/epoch must be a whole number from 0 to 1, got 2"),
        ("pretrain/batch", 23, "pretrain/batch must be a whole number from 0 to 22, got 23"),
        ("pretrain/order", np.arange(5), "pretrain/order orders 5 samples but the data has"),
        ("pretrain/error", -1.0, "pretrain/error must be a finite number >= 0"),
        ("pretrain/velocity/W", np.zeros((2, 2)), r"pretrain/velocity/W must be \(64, 16\)"),
    ],
)
def test_pretraining_state_out_of_place(key, value, message):
    exp = dbn()
    _, state = trained(exp, 5)
    assert "pretrain/velocity/W" in state
    state[key] = np.asarray(value)
    with pytest.raises(ConfigError, match=message):
        loads(exp, state)


def test_schedule_and_alert_state_out_of_place():
    exp = experiment(optimizer=SCHEDULE)
    _, state = trained(exp, 3)
    broken = {**state, "schedule/base_lr": np.array("fast")}
    with pytest.raises(ConfigError, match="its schedule state does not fit .*edited or damaged"):
        loads(exp, broken)
    alerts = [key for key in state if key.startswith("alerts/") and state[key].ndim]
    broken = {**state, alerts[0]: np.zeros(1000)}
    with pytest.raises(ConfigError, match="its alerts state does not fit"):
        loads(exp, broken)


def test_a_good_state_loads_exactly():
    exp = experiment(train=EARLY, optimizer=SCHEDULE)
    trainer, state = trained(exp, 13)
    resumed = Trainer(exp)
    resumed.load_state_dict(state)
    assert (resumed.step_count, resumed.epoch, resumed.batch) == (13, 1, 3)
    assert np.array_equal(resumed.order, trainer.order)


@pytest.mark.parametrize(
    "value, ok",
    [(True, True), (0, True), (1, True), (2, False), (0.0, False), ("true", False)],
)
def test_flags(value, ok):
    state = {"f": np.asarray(value)}
    if ok:
        assert statecheck.flag(state, "f") == bool(value)
    else:
        with pytest.raises(ConfigError, match="f must be true or false"):
            statecheck.flag(state, "f")
