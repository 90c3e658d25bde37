"""Per-step diagnostics against plain numpy: gradient norms and update ratios per layer; the
alert tracker's criteria, windows, clearing and resumable state on made-up logs (the presets'
alerts, from whole runs, are in e2e/test_alert_calibration.py)."""

import numpy as np
import pytest

from tuidl.diagnostics import (
    DEAD_FRACTION,
    EXPLODING_GROWTH,
    EXPLODING_WINDOW,
    VANISHING_RATIO,
    WINDOW,
    AlertTracker,
    StepNorms,
)
from tuidl.experiment import Experiment
from tuidl.model import Sequential
from tuidl.presets import preset
from tuidl.runs import RunWriter, open_for_resume, read_metrics
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


def small_experiment() -> Experiment:
    return Experiment.from_dict({
        "data": {"name": "xor"},
        "model": {"loss": "softmax_cross_entropy",
                  "layers": [{"type": "dense", "units": 4}, {"type": "tanh"},
                             {"type": "dense", "units": 2}]},
        "optimizer": {"name": "adam", "lr": 0.01},
        "train": {"epochs": 1, "batch_size": 8},
    })  # fmt: skip


def test_trainer_steps_the_flat_buffer_once():
    trainer = Trainer(small_experiment())
    trainer.step()
    assert set(trainer.optimizer.state_dict()) == {"t", "lr", "m/model", "v/model"}


LAYERS = ["dense_0", "dense_1", "dense_2"]  # dense_2 is the output layer


def logged(step: int, norms: list[float], updates: list[float] | None = None) -> dict:
    """A step record as the trainer logs it (update ratios a healthy 1e-3 unless given)."""
    updates = updates or [1e-3] * len(norms)
    return {"kind": "step", "step": step, "epoch": step / 100,
            "grad_norm": dict(zip(LAYERS, norms, strict=True)),
            "update_ratio": dict(zip(LAYERS, updates, strict=True))}  # fmt: skip


def feed(tracker: AlertTracker, records: list[dict]) -> list[tuple[int, str, str, bool]]:
    """Every alert the records raise: (step, alert, layer, cleared)."""
    return [
        (a["step"], a["alert"], a["layer"], a.get("cleared", False))
        for r in records
        for a in tracker.observe_step(r)
    ]


def starved(step: int) -> dict:
    """dense_0 gets 1e-5 of the output layer's gradient and barely moves."""
    return logged(step, [1e-5, 0.5, 1.0], [1e-7, 1e-3, 1e-3])


def test_vanishing_is_raised_once_a_whole_window_agrees_and_once_only():
    tracker = AlertTracker(LAYERS)
    assert feed(tracker, [starved(s) for s in range(1, WINDOW)]) == []  # window not full
    (alert,) = tracker.observe_step(starved(WINDOW))
    assert alert["alert"] == "vanishing" and alert["layer"] == "dense_0"
    assert alert["value"] == pytest.approx(1e-5) and alert["threshold"] == VANISHING_RATIO
    assert alert["step"] == WINDOW and "relu" in alert["message"]  # what to try
    assert "cleared" not in alert
    assert feed(tracker, [starved(s) for s in range(WINDOW + 1, 3 * WINDOW)]) == []


def test_one_noisy_step_or_a_layer_that_still_moves_is_not_vanishing():
    tracker = AlertTracker(LAYERS)
    steps = [logged(s, [0.3, 0.5, 1.0]) for s in range(1, 2 * WINDOW)]
    steps[WINDOW] = starved(WINDOW + 1)  # a single step of a starved gradient
    assert feed(tracker, steps) == []
    # a tiny gradient that Adam still turns into full-sized steps: it learns
    adam = [logged(s, [1e-5, 0.5, 1.0], [1e-3] * 3) for s in range(1, 2 * WINDOW)]
    assert feed(AlertTracker(LAYERS), adam) == []


def test_vanishing_clears_only_once_clearly_back_so_a_hovering_layer_raises_once():
    tracker = AlertTracker(LAYERS)
    feed(tracker, [starved(s) for s in range(1, WINDOW + 1)])
    # hovering between the threshold and twice it: neither raised again nor cleared (nor
    # taken for an exploding gradient: grown 150x, but to the scale of the other layers)
    hovering = [logged(s, [1.5e-3, 0.5, 1.0], [5e-5] * 3) for s in range(WINDOW + 1, 80)]
    assert feed(tracker, hovering) == []
    back = [logged(s, [3e-3, 0.5, 1.0], [5e-5] * 3) for s in range(80, 80 + WINDOW)]
    # cleared when the (upper) median turns: once half the window's steps are back
    assert feed(tracker, back) == [(80 + WINDOW // 2 - 1, "vanishing", "dense_0", True)]


def test_exploding_is_growth_over_the_starting_scale_or_a_non_finite_norm():
    tracker = AlertTracker(LAYERS)
    start = [logged(s, [1.0, 1.0, 1.0]) for s in range(1, EXPLODING_WINDOW + 1)]
    calm = [logged(s, [50.0, 1.0, 1.0]) for s in range(6, 20)]  # 50x: within bounds
    assert feed(tracker, start + calm) == []
    blowing = [logged(s, [1e3, 1.0, 1.0]) for s in range(20, 30)]
    alerts = [a for r in blowing for a in tracker.observe_step(r)]
    assert [(a["step"], a["layer"]) for a in alerts] == [(22, "dense_0")]  # 3 of the last 5
    assert alerts[0]["value"] > EXPLODING_GROWTH and "clip" in alerts[0]["message"]
    # a non-finite norm is raised at once, even before the starting scale is known
    fresh = AlertTracker(LAYERS)
    (alert,) = fresh.observe_step(logged(1, [1.0, float("inf"), 1.0]))
    assert alert["layer"] == "dense_1" and alert["value"] == float("inf")


def test_exploding_clears_when_back_under_half_its_bound():
    tracker = AlertTracker(LAYERS)
    norms = [1.0] * 5 + [1e3] * 3 + [80.0] * 3 + [30.0] * 3
    raised = feed(tracker, [logged(s, [n, 1.0, 1.0]) for s, n in enumerate(norms, 1)])
    assert raised == [(8, "exploding", "dense_0", False), (14, "exploding", "dense_0", True)]


def test_dead_relu_at_an_epoch_end_raises_and_clears_once():
    tracker = AlertTracker(LAYERS)

    def epoch(dead: float) -> list[tuple[str, str, bool]]:
        stats = {"relu_0": {"mean": 0.1, "std": 0.2, "dead": dead}, "tanh_0": {"mean": 0.0}}
        alerts = tracker.observe_activations(stats, step=10, epoch=1)
        return [(a["layer"], a["message"], a.get("cleared", False)) for a in alerts]

    assert epoch(DEAD_FRACTION) == []  # more than the fraction
    ((layer, message, cleared),) = epoch(0.9)
    assert layer == "relu_0" and "90%" in message and "learning rate" in message and not cleared
    assert epoch(0.5) == []  # still raised: not yet under half the fraction
    assert [c for *_, c in epoch(0.3)] == [True]
    assert epoch(0.3) == []


def test_a_resumed_tracker_raises_what_the_whole_run_would(tmp_path):
    rng = np.random.default_rng(3)
    # noisy phases: dense_0 starved, then healthy; dense_1 explodes, then calms down
    scales = [[1e-5, 0.5]] * 40 + [[0.3, 0.5]] * 40 + [[0.3, 1e4]] * 10 + [[0.3, 0.5]] * 30
    records = [
        logged(s, [*(np.array(scale) * rng.uniform(0.5, 2, 2)), 1.0], [1e-7, 1e-3, 1e-3])
        for s, scale in enumerate(scales, 1)
    ]
    whole = AlertTracker(LAYERS)
    expected = feed(whole, records)
    assert [(alert, cleared) for _, alert, _, cleared in expected] == [
        ("vanishing", False), ("vanishing", True), ("exploding", False), ("exploding", True)
    ]  # fmt: skip
    first = AlertTracker(LAYERS)
    before = feed(first, records[:45])  # mid-window, the vanishing alert about to clear
    first.observe_activations({"relu_0": {"dead": 0.9}}, 45, 1)
    np.savez(tmp_path / "t.npz", **first.state_dict())
    second = AlertTracker(LAYERS)
    with np.load(tmp_path / "t.npz", allow_pickle=False) as state:
        second.load_state_dict(dict(state))
    assert before + feed(second, records[45:]) == expected
    assert second.dead == ["relu_0"]
    assert second.observe_activations({"relu_0": {"dead": 0.9}}, 46, 2) == []


def test_the_shortcut_raises_and_clears_what_checking_every_step_would():
    """`observe_step` takes the medians only at steps where they can cross a threshold; a
    twin given the same windows takes them at every step."""
    rng = np.random.default_rng(0)
    seen = 0
    for _ in range(40):
        fast, every = AlertTracker(LAYERS), AlertTracker(LAYERS)
        scale = np.ones(3)
        for step in range(1, 300):
            if rng.random() < 0.05:  # a new phase: each layer's scale anywhere in 1e-7..1e4
                scale = 10.0 ** rng.uniform(-7, 4, 3)
            norms = scale * rng.uniform(0.3, 3, 3)
            if rng.random() < 0.01:
                norms[rng.integers(3)] = rng.choice([np.inf, np.nan, 0.0])
            record = logged(step, norms.tolist(), (10.0 ** rng.uniform(-6, -2, 3)).tolist())
            got = fast.observe_step(record)
            every.seen, every.start = fast.seen, fast.start
            for ring in ("relative", "updates", "norms"):
                getattr(every, ring)[:] = getattr(fast, ring)
            expected = every._check_vanishing(record) if every.seen >= WINDOW else []
            expected += every._check_exploding(record, norms)
            pairs = [[(a["layer"], a["message"]) for a in alerts] for alerts in (got, expected)]
            assert pairs[0] == pairs[1], step  # by message, which holds the value: NaN != NaN
            seen += len(got)
    assert seen > 1000  # the phases raise and clear alerts of both kinds throughout


def test_trainer_state_holds_the_tracker_and_old_checkpoints_start_it_afresh():
    trainer = Trainer(small_experiment())
    for _ in range(3):
        trainer.step()
    state = trainer.state_dict()
    assert int(state["alerts/seen"]) == 3
    resumed = Trainer(small_experiment())
    resumed.load_state_dict(state)
    assert resumed.alerts.seen == 3
    old = Trainer(small_experiment())
    old.load_state_dict({k: v for k, v in state.items() if not k.startswith("alerts/")})
    assert old.alerts.seen == 0


def test_a_run_cut_between_two_alerts_and_resumed_writes_the_whole_runs_lines(tmp_path):
    experiment = preset("deep-sigmoid").with_overrides(["train.epochs=2"])
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    for run_dir in (whole, cut):
        run_dir.mkdir()
    Trainer(experiment, callbacks=[RunWriter(whole)]).fit()
    trainer = Trainer(experiment, callbacks=[RunWriter(cut)])
    trainer.begin()
    for _ in range(27):  # dense_0-4 raised at step 20, dense_5 at 33: cut between
        trainer.step()
    trainer.finish("interrupted")
    resumed, _ = open_for_resume(cut)
    resumed.fit()

    def lines(run_dir):
        return [{k: v for k, v in r.items() if k != "time"} for r in read_metrics(run_dir)]

    alerts = [r["layer"] for r in lines(whole) if r["kind"] == "alert"]
    assert alerts == [f"dense_{k}" for k in range(6)]
    assert lines(cut) == lines(whole)
