"""The alerts calibrated on the presets, seeds 0-2: deep-sigmoid, exploding-rnn and dying-relu
raise theirs within their first epoch; the healthy presets raise none in a whole run.

The first epoch decides the three that raise (what they must show happens in it, and nothing
later changes it). The healthy presets' whole runs (`presetruns`, shared with
test_training_runs) take the time: two minutes on a busy 2-core machine.
"""

from __future__ import annotations

import pytest
from presetruns import HAVE_MNIST, HEALTHY, SEEDS, run_preset

from tuidl.diagnostics import DEAD_FRACTION


def alerts_of(name: str, seed: int, epochs: int) -> tuple[list[dict], str]:
    """The alert lines of preset `name` trained with `seed` for `epochs`, and how the run
    ended."""
    run = run_preset(name, seed, epochs)
    return run.alerts, run.status


@pytest.mark.slow
@pytest.mark.parametrize("name", HEALTHY)
def test_a_healthy_preset_raises_no_alert_in_a_whole_run(healthy_runs, name):
    if name == "mnist-lenet" and not HAVE_MNIST:
        pytest.skip("MNIST files not found: set TUIDL_DATA to a folder with mnist/t10k-*.gz")
    for seed in SEEDS:
        run = healthy_runs[name, seed]
        assert run.status == "finished" and run.alerts == [], (seed, run.alerts)


@pytest.mark.parametrize("seed", SEEDS)
def test_deep_sigmoid_names_its_first_layers_vanishing_in_its_first_epoch(seed):
    alerts, _ = alerts_of("deep-sigmoid", seed, epochs=1)
    assert {a["alert"] for a in alerts} == {"vanishing"} and not any("cleared" in a for a in alerts)
    layers = [a["layer"] for a in alerts]
    assert layers[:5] == [f"dense_{k}" for k in range(5)], layers
    assert set(layers) <= {f"dense_{k}" for k in range(7)}, layers  # not the last layers
    assert all(a["value"] < a["threshold"] == 1e-3 for a in alerts)


@pytest.mark.parametrize("seed", SEEDS)
def test_exploding_rnn_raises_exploding_before_its_loss_overflows(seed):
    alerts, status = alerts_of("exploding-rnn", seed, epochs=1)
    assert status == "diverged"
    first = alerts[0]
    assert first["alert"] == "exploding" and "cleared" not in first, alerts
    assert first["step"] <= 15 and first["value"] > first["threshold"]


@pytest.mark.parametrize("seed", SEEDS)
def test_dying_relu_raises_dead_relu_at_its_first_epoch_end(seed):
    alerts, status = alerts_of("dying-relu", seed, epochs=1)
    assert status == "finished" and alerts, alerts
    for alert in alerts:
        assert alert["alert"] == "dead_relu" and alert["layer"].startswith("relu_")
        assert alert["epoch"] == 1 and alert["value"] > DEAD_FRACTION
