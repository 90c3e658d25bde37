"""Learning-rate schedules: values at known epochs, plateau logic, state round trips."""

import math
import re

import numpy as np
import pytest

from tuidl.errors import ConfigError
from tuidl.optimizers import SGD
from tuidl.schedules import (
    SCHEDULES,
    Cosine,
    Exponential,
    ReduceOnPlateau,
    Step,
    make_schedule,
)


def test_step_values():
    s = Step(step_size=3, gamma=0.5)
    assert [s.lr_at(e, 0.1) for e in range(7)] == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]
    assert Step(step_size=2).lr_at(4, 1.0) == pytest.approx(0.01, rel=1e-15)


def test_exponential_values():
    s = Exponential(gamma=0.9)
    assert s.lr_at(0, 0.1) == 0.1
    assert s.lr_at(1, 0.1) == pytest.approx(0.09, rel=1e-15)
    assert s.lr_at(3, 0.1) == pytest.approx(0.0729, rel=1e-15)


def test_cosine_values():
    s = Cosine(t_max=10, lr_min=0.01)
    assert s.lr_at(0, 0.1) == pytest.approx(0.1, rel=1e-15)
    assert s.lr_at(5, 0.1) == pytest.approx(0.055, rel=1e-15)  # half way
    # cos(pi/5) = (1 + sqrt 5) / 4
    assert s.lr_at(2, 0.1) == pytest.approx(0.01 + 0.09 * (1 + (1 + 5**0.5) / 4) / 2, rel=1e-15)
    assert s.lr_at(10, 0.1) == pytest.approx(0.01, rel=1e-15)
    assert s.lr_at(25, 0.1) == pytest.approx(0.01, rel=1e-15)  # stays at lr_min, no restart
    assert Cosine(t_max=4).lr_at(4, 0.1) == pytest.approx(0.0, abs=1e-18)


def test_on_epoch_end_sets_next_epochs_rate():
    opt = SGD(lr=0.1)
    s = Step(step_size=2, gamma=0.5)
    seen = []
    for epoch in range(5):
        seen.append(opt.lr)  # the rate used during `epoch`
        s.on_epoch_end(epoch, None, opt)
    assert seen == [0.1, 0.1, 0.05, 0.05, 0.025]
    assert s.base_lr == 0.1
    assert type(opt.lr) is float


def test_cosine_to_zero_is_allowed_on_the_optimizer():
    opt = SGD(lr=0.1)
    s = Cosine(t_max=2)
    for epoch in range(3):
        s.on_epoch_end(epoch, None, opt)
    assert opt.lr == pytest.approx(0.0, abs=1e-18)


def plateau_run(schedule, values, lr=1.0):
    schedule.lr = lr
    reduced = [schedule.update(v) for v in values]
    return reduced, schedule.lr


def test_plateau_patience():
    s = ReduceOnPlateau(factor=0.5, patience=2, min_delta=0.0)
    reduced, lr = plateau_run(s, [1.0, 0.9, 0.95, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8])
    # bad epochs: 0.95 (1), 0.9 == best (2) -> reduce; 0.8 improves; then 0.8 x4: reduce at 2, 4
    assert reduced == [False, False, False, True, False, False, True, False, True]
    assert lr == 0.125


def test_plateau_min_delta():
    s = ReduceOnPlateau(factor=0.1, patience=1, min_delta=0.01)
    reduced, lr = plateau_run(s, [1.0, 0.995, 0.98])
    assert reduced == [False, True, False]  # 0.995 is not 0.01 better; 0.98 is (vs 1.0)
    assert lr == pytest.approx(0.1)
    assert s.best == 0.98


def test_plateau_patience_zero_reduces_on_every_bad_epoch():
    s = ReduceOnPlateau(factor=0.5, patience=0)
    assert plateau_run(s, [1.0, 1.0, 1.0]) == ([False, True, True], 0.25)


def test_plateau_cooldown():
    s = ReduceOnPlateau(factor=0.5, patience=1, cooldown=2, min_delta=0.0)
    reduced, lr = plateau_run(s, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    # reduce at epoch 1; epochs 2-3 cool down (no bad epochs counted); epoch 4 is bad -> reduce
    assert reduced == [False, True, False, False, True, False]
    assert lr == 0.25


def test_plateau_min_lr():
    s = ReduceOnPlateau(factor=0.1, patience=1, min_lr=0.05, min_delta=0.0)
    reduced, lr = plateau_run(s, [1.0, 1.0, 1.0, 1.0], lr=1.0)
    assert reduced == [False, True, True, False]
    assert lr == 0.05


def test_plateau_nan_is_not_an_improvement():
    s = ReduceOnPlateau(factor=0.5, patience=1)
    assert plateau_run(s, [1.0, math.nan]) == ([False, True], 0.5)


def test_plateau_on_epoch_end_follows_live_lr():
    opt = SGD(lr=0.1)
    s = ReduceOnPlateau(factor=0.5, patience=1, min_delta=0.0)
    s.on_epoch_end(0, 1.0, opt)
    opt.lr = 0.4  # changed in the app
    s.on_epoch_end(1, 1.0, opt)
    assert opt.lr == 0.2
    with pytest.raises(ValueError, match="monitored"):
        s.on_epoch_end(2, None, opt)


def test_plateau_update_needs_lr():
    with pytest.raises(RuntimeError):
        ReduceOnPlateau().update(1.0)


# --- state ---------------------------------------------------------------------------------


def losses(seed, n):
    rng = np.random.default_rng(seed)
    return list(1.0 / np.arange(1, n + 1) + rng.uniform(0, 0.3, n))


@pytest.mark.parametrize(
    "config",
    [
        {"type": "step", "step_size": 2, "gamma": 0.5},
        {"type": "exponential", "gamma": 0.8},
        {"type": "cosine", "t_max": 7, "lr_min": 0.001},
        {"type": "reduce_on_plateau", "factor": 0.5, "patience": 2, "cooldown": 1},
    ],
)
def test_state_round_trip(config, seed, tmp_path):
    values = losses(seed, 12)
    opt = SGD(lr=0.1)
    schedule = make_schedule(config)
    straight = []
    for epoch, value in enumerate(values):
        schedule.on_epoch_end(epoch, value, opt)
        straight.append(opt.lr)

    opt = SGD(lr=0.1)
    first = make_schedule(config)
    resumed = []
    for epoch, value in enumerate(values[:6]):
        first.on_epoch_end(epoch, value, opt)
        resumed.append(opt.lr)
    np.savez(tmp_path / "s.npz", **first.state_dict())
    with np.load(tmp_path / "s.npz", allow_pickle=False) as npz:
        state = dict(npz)
    opt = SGD(lr=resumed[-1])  # the optimizer's own state brings back its lr
    second = make_schedule(config)
    second.load_state_dict(state)
    for epoch, value in enumerate(values[6:], start=6):
        second.on_epoch_end(epoch, value, opt)
        resumed.append(opt.lr)
    assert resumed == straight, f"seed={seed}"


def test_state_of_fresh_schedules():
    assert np.isnan(Step(step_size=1).state_dict()["base_lr"])
    state = ReduceOnPlateau().state_dict()
    assert set(state) == {"lr", "best", "wait", "cooldown_left"}
    assert all(v.dtype == np.float64 and v.shape == () for v in state.values())
    fresh = ReduceOnPlateau()
    fresh.load_state_dict(state)
    assert fresh.lr is None and fresh.best == math.inf and fresh.wait == 0


@pytest.mark.parametrize(
    ("state", "key"),
    [
        ({"lr": 1.0, "best": 1.0, "wait": 0}, "cooldown_left"),
        ({"lr": 1.0, "best": 1.0, "wait": 0, "cooldown_left": 0, "epoch": 3}, "epoch"),
        ({"lr": np.ones(2), "best": 1.0, "wait": 0, "cooldown_left": 0}, "lr"),
    ],
)
def test_load_state_rejects_bad_keys(state, key):
    with pytest.raises(ValueError, match=re.escape(repr(key))):
        ReduceOnPlateau().load_state_dict(state)


# --- config --------------------------------------------------------------------------------


def test_make_schedule():
    assert make_schedule(None) is None
    s = make_schedule({"type": "cosine", "t_max": 5})
    assert isinstance(s, Cosine) and s.get_config() == {"type": "cosine", "t_max": 5, "lr_min": 0.0}
    for kind, cls in SCHEDULES.items():
        assert cls.type == kind
    config = {"type": "reduce_on_plateau", "factor": 0.2, "patience": 3, "min_delta": 0.0,
              "min_lr": 1e-5, "cooldown": 2}  # fmt: skip
    assert make_schedule(config).get_config() == config


def test_make_schedule_errors():
    with pytest.raises(ConfigError, match="did you mean 'cosine'"):
        make_schedule({"type": "cosin", "t_max": 3})
    with pytest.raises(ConfigError, match="type"):
        make_schedule({"step_size": 3})
    with pytest.raises(ConfigError, match="missing key 'step_size'"):
        make_schedule({"type": "step"})
    with pytest.raises(ConfigError, match="'tmax'.*did you mean 't_max'"):
        make_schedule({"type": "cosine", "tmax": 3})
    with pytest.raises(ConfigError, match=re.escape("gamma must be a number in (0, 1], got 1.5")):
        make_schedule({"type": "exponential", "gamma": 1.5})


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (Step, {"step_size": 0}),
        (Step, {"step_size": 2.5}),
        (Step, {"step_size": 2, "gamma": 0.0}),
        (Exponential, {"gamma": -0.5}),
        (Cosine, {"t_max": 0}),
        (Cosine, {"t_max": 5, "lr_min": -1e-3}),
        (ReduceOnPlateau, {"factor": 1.0}),
        (ReduceOnPlateau, {"patience": -1}),
        (ReduceOnPlateau, {"min_delta": -0.1}),
        (ReduceOnPlateau, {"min_lr": -1.0}),
        (ReduceOnPlateau, {"cooldown": True}),
    ],
)
def test_bad_values_are_quoted(cls, kwargs):
    key, value = list(kwargs.items())[-1]
    with pytest.raises(ValueError, match=re.escape(f"{key} must be")) as info:
        cls(**kwargs)
    assert f"got {value!r}" in str(info.value)
