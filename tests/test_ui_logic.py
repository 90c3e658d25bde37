"""The app's drawing maths, build checks and bridge, without Textual (no Pilot)."""

import json
import threading
import time

import numpy as np
import pytest
from uitools import tiny, two_conv

from tuidl.datasets import load_dataset
from tuidl.trainer import Trainer
from tuidl.ui import charts
from tuidl.ui.bridge import MetricsBuffer, Probe, RunTail, TrainingLoop, UiBridge
from tuidl.ui.buildcheck import analyze, parse_pairs, parse_value
from tuidl.ui.screens.train import RunSeries
from tuidl.ui.widgets.gradbars import GradBars


def test_minmax_downsample_keeps_spikes_and_bounds_points():
    x = np.arange(10_000)
    y = np.zeros(10_000)
    y[5_123] = 9.0
    xs, ys = charts.minmax_downsample(x, y, 50)
    assert len(xs) <= 100
    assert ys.max() == 9.0 and 5_123 in xs
    assert np.all(np.diff(xs) > 0)


def test_minmax_downsample_short_series_unchanged_and_drops_nan():
    xs, ys = charts.minmax_downsample([1, 2, 3], [1.0, float("nan"), 3.0], 10)
    assert list(xs) == [1, 3] and list(ys) == [1.0, 3.0]


def test_braille_plot_draws_connected_line_and_owner():
    rows, owner = charts.braille_plot(
        [(np.array([0.0, 1.0]), np.array([0.0, 1.0]))], 10, 3, (0, 1), (0, 1)
    )
    assert len(rows) == 3 and all(len(r) == 10 for r in rows)
    # a diagonal from bottom-left to top-right touches both corners and every column
    assert rows[2][0] != " " and rows[0][9] != " "
    assert all(any(rows[r][c] != " " for r in range(3)) for c in range(10))
    assert set(np.unique(owner)) <= {-1, 0}


def test_braille_plot_later_series_owns_shared_cells():
    line = (np.array([0.0, 1.0]), np.array([0.5, 0.5]))
    _, owner = charts.braille_plot([line, line], 4, 2, (0, 1), (0, 1))
    assert (owner[owner >= 0] == 1).all()


def test_log_scale():
    assert charts.log_range(np.array([1e-5, 0.3])) == (-5.0, 0.0)
    assert charts.log_range(np.array([0.5, 0.6]), 2.0) == (-2.0, 0.0)
    assert charts.log_fraction(1e-3, -6, 0) == pytest.approx(0.5)
    assert charts.log_fraction(0.0, -6, 0) == 0.0
    assert charts.log_fraction(float("inf"), -6, 0) == 1.0
    assert charts.log_fraction(1e3, -6, 0) == 1.0


def test_bin_means_averages_and_ignores_nan():
    m = np.array([[1.0, 3.0, 5.0, 7.0], [np.nan, np.nan, 2.0, np.nan]])
    sums, counts = np.nan_to_num(m), np.isfinite(m).astype(int)
    out = charts.bin_means(sums, counts, 2)
    assert out.shape == (2, 2)
    assert out[0].tolist() == [2.0, 6.0]
    assert np.isnan(out[1, 0]) and out[1, 1] == 2.0
    assert charts.bin_means(sums, counts, 10).shape == (2, 4)


def test_colour_maps_and_levels():
    assert len(charts.ramp()) == charts.LEVELS and len(set(charts.ramp())) > 20
    div = charts.diverging()
    assert div[0] != div[-1]
    levels = charts.symmetric_levels(np.array([[-2.0, 0.0, 1.0]]))
    assert levels[0, 0] == 0 and levels[0, 1] == charts.LEVELS // 2
    assert charts.quantize(np.array([np.nan, 0.0, 1.0]), 0, 1).tolist() == [-1, 0, 31]
    assert charts.block_average(np.ones((28, 28)), 7).shape == (7, 7)


def test_format_helpers():
    assert charts.format_eta(65) == "1:05" and charts.format_eta(3725) == "1:02:05"
    assert charts.format_eta(float("nan")) == "--"
    assert charts.short(0.012345) == "0.01235" and charts.short(1.5e-6) == "1.5e-06"


def test_analyze_reports_shapes_params_and_output_mismatch():
    experiment = tiny()
    dataset = load_dataset("spiral", n=200, seed=0)
    result = analyze(experiment.to_dict(), dataset)
    assert result.ok, result.problem
    assert [r.shape for r in result.rows] == ["(32,)", "(32,)", "(32,)", "(32,)", "(2,)"]
    assert result.total_params == 2 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2
    document = experiment.to_dict()
    document["model"]["layers"][-1]["units"] = 3
    result = analyze(document, dataset)
    assert not result.ok and result.problem_row == 4 and "2 classes" in result.rows[4].problem


def test_analyze_names_the_layer_whose_shape_does_not_fit():
    document = tiny().to_dict()
    document["model"]["layers"].insert(0, {"type": "maxpool2d", "size": 2})
    result = analyze(document, load_dataset("spiral", n=200, seed=0))
    assert result.problem_row == 0
    assert "layer 0 (maxpool2d)" in result.problem and "(2,)" in result.problem
    assert all(r.shape == "" for r in result.rows)  # nothing after it has a shape


def test_analyze_bad_key_is_a_row_problem():
    document = tiny().to_dict()
    document["model"]["layers"][0] = {"type": "dense", "unit": 4}
    result = analyze(document, load_dataset("spiral", n=200, seed=0))
    assert result.problem_row == 0 and "unknown key 'unit'" in result.problem


def test_parse_form_values():
    assert parse_value("3") == 3 and parse_value("0.5") == 0.5 and parse_value("same") == "same"
    assert parse_pairs("momentum=0.9, weight_decay=1e-4") == {"momentum": 0.9, "weight_decay": 1e-4}


def test_metrics_buffer_drains_in_order_across_threads():
    buffer = MetricsBuffer()
    threads = [
        threading.Thread(target=lambda k=k: [buffer.push(str(k), {"i": i}) for i in range(500)])
        for k in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    items = buffer.drain()
    assert len(items) == 2000 and buffer.drain() == []
    for k in range(4):
        assert [r["i"] for s, r in items if s == str(k)] == list(range(500))


def test_run_tail_reads_whole_lines_only(tmp_path):
    run = tmp_path / "run-1"
    run.mkdir()
    buffer = MetricsBuffer()
    tail = RunTail([run], buffer)
    assert tail.poll() == 0  # no file yet
    path = run / "metrics.jsonl"
    line = json.dumps({"kind": "step", "step": 1, "loss": 0.5})
    path.write_text(line + "\n" + line[:10])
    assert tail.poll() == 1
    with open(path, "a") as f:
        f.write(line[10:] + "\n")
    assert tail.poll() == 1
    records = [r for _, r in buffer.drain()]
    assert records == [json.loads(line)] * 2


def _run_loop(loop):
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop.is_set,))
    thread.start()
    return stop, thread


def _until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_training_loop_controls_between_steps(tmp_path):
    buffer = MetricsBuffer()
    loop = TrainingLoop(tiny(epochs=50), buffer, runs_root=tmp_path, throttle=0.002)
    stop, thread = _run_loop(loop)
    try:
        _until(lambda: loop.trainer is not None)
        assert loop.trainer.step_count == 0  # starts paused
        loop.step_once()
        _until(lambda: loop.trainer.step_count == 1)
        loop.set_lr_factor(2.0)
        _until(lambda: loop.trainer.optimizer.lr == pytest.approx(0.02))
        loop.resume()
        _until(lambda: loop.trainer.step_count > 5)
        loop.pause()
        _until(lambda: loop.state == "paused")
        paused_at = loop.trainer.step_count
        time.sleep(0.1)
        assert loop.trainer.step_count == paused_at
        loop.reinit()
        _until(lambda: loop.trainer is not None and loop.trainer.step_count == 0)
        assert loop.trainer.optimizer.lr == pytest.approx(0.02)  # kept across re-init
    finally:
        stop.set()
        thread.join(10)
    kinds = {r["kind"] for _, r in buffer.drain()}
    assert {"begin", "step", "probe", "lr"} <= kinds
    assert len(list(tmp_path.iterdir())) == 2  # one run directory per initialisation


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_training_loop_reports_divergence(tmp_path):
    experiment = tiny(epochs=5).with_overrides(["optimizer.name=sgd", "optimizer.lr=1e38"])
    buffer = MetricsBuffer()
    loop = TrainingLoop(experiment, buffer, runs_root=tmp_path, start_paused=False)
    stop, thread = _run_loop(loop)
    try:
        _until(lambda: loop.state == "diverged")
    finally:
        stop.set()
        thread.join(10)
    errors = [r for _, r in buffer.drain() if r["kind"] == "error"]
    assert errors and "smaller learning rate" in errors[0]["message"]
    summary = json.loads(next(tmp_path.iterdir()).joinpath("summary.json").read_text())
    assert summary["status"] == "diverged"


def test_paused_time_is_not_training_time():
    buffer = MetricsBuffer()
    loop = TrainingLoop(tiny(epochs=50), buffer, runs_root=None, throttle=0.002)
    stop, thread = _run_loop(loop)
    try:
        _until(lambda: loop.trainer is not None)
        loop.resume()
        _until(lambda: loop.trainer.step_count > 5)
        loop.pause()
        _until(lambda: loop.state == "paused")
        time.sleep(0.05)  # the worker stops the clock right after saying "paused"
        before = loop.trainer.elapsed
        time.sleep(0.4)
        assert loop.trainer.elapsed == before
        steps = loop.trainer.step_count
        loop.resume()
        _until(lambda: loop.trainer.step_count > steps + 5)
        assert loop.trainer.elapsed > before
    finally:
        stop.set()
        thread.join(10)
    times = [r["time"] for _, r in buffer.drain() if r["kind"] == "step"]
    gap = times[steps] - times[steps - 1]  # the step after the pause, timed from the one before
    assert gap < 0.3, f"{gap:.3f} s: the 0.45 s pause was counted"


def test_probe_shows_the_chosen_conv_layer_and_input_and_keeps_them_on_reinit():
    buffer = MetricsBuffer()
    loop = TrainingLoop(two_conv(), buffer, runs_root=None)
    stop, thread = _run_loop(loop)
    probes = []

    def next_probe(timeout=10.0):
        probes.clear()
        _until(lambda: probes.extend(r for _, r in buffer.drain() if r["kind"] == "probe")
               or probes, timeout)  # fmt: skip
        return probes[-1]

    try:
        first = next_probe()
        assert first["filters"]["name"] == "conv2d_0" and first["filters"]["count"] == 2
        assert first["feature_maps"]["input"] == 0 and first["feature_maps"]["maps"].shape[0] == 4
        loop.cycle_view(conv=1, input=2)  # paused: the worker still re-probes at once
        probe = next_probe(timeout=1.0)
        assert probe["filters"]["name"] == "conv2d_1" and probe["filters"]["W"].shape[:2] == (6, 4)
        maps = probe["feature_maps"]
        assert maps["input"] == 2 and maps["maps"].shape == (6, 8, 8)
        assert maps["label"] == int(loop.dataset.y_val[2])
        loop.cycle_view(conv=1, input=-3)  # wraps around both ways
        probe = next_probe(timeout=1.0)
        assert probe["filters"]["index"] == 0 and probe["feature_maps"]["input"] == 7
        loop.cycle_view(conv=1)
        assert next_probe(timeout=1.0)["filters"]["index"] == 1
        loop.step_once()
        _until(lambda: loop.trainer.step_count == 1)
        loop.reinit()  # fresh weights, the same layer and input on show

        def shown():
            probe = next_probe()
            return probe["step"] == 0 and (
                probe["filters"]["index"],
                probe["feature_maps"]["input"],
            ) == (1, 7)

        _until(shown, timeout=2.0)
    finally:
        stop.set()
        thread.join(10)


def test_confusion_matrix_comes_from_the_epochs_validation_without_another_predict():
    experiment = two_conv()
    buffer = MetricsBuffer()
    trainer = Trainer(experiment, callbacks=[])
    trainer.callbacks.append(UiBridge(buffer, "train", Probe(trainer.dataset)))
    predict, calls = trainer.model.predict, []
    trainer.model.predict = lambda *args, **kwargs: calls.append(args) or predict(*args, **kwargs)
    trainer.fit(epochs=1)
    assert len(calls) == 1  # the trainer's own validation: no extra forward pass
    matrices = [r["matrix"] for _, r in buffer.drain() if r["kind"] == "confusion"]
    assert len(matrices) == 1
    x_val, y_val = trainer.dataset.x_val, trainer.dataset.y_val
    predicted = trainer.model.predict(x_val, 256).argmax(axis=-1)  # the same weights: direct
    expected = np.zeros((10, 10), dtype=np.int64)
    np.add.at(expected, (y_val, predicted), 1)
    np.testing.assert_array_equal(matrices[0], expected)
    assert matrices[0].sum() == len(x_val)


def test_gradient_bars_scale_spans_the_whole_run_however_records_arrive():
    # the scale comes from every step record, not only from those the screen drew: records
    # reach the screen in batches whose size depends on timing
    records = [
        {"kind": "step", "step": step, "loss": 1.0, "grad_norm": {"dense_0": norm}}
        for step, norm in enumerate([5.0, 0.4, 0.01, "nan"], 1)
    ]
    whole, batched = RunSeries(), RunSeries()
    whole.add_all(records)
    for k in range(0, 4, 3):
        batched.add_all(records[k : k + 3])
    assert whole.grad_seen == batched.grad_seen == (0.01, 5.0)
    run = whole
    bars = GradBars()
    bars.update_norms(run.last_step["grad_norm"], None, run.grad_seen)
    assert (bars.lo, bars.hi) == (-2.0, 1.0)  # 1e-2 .. 1e1 although the last norm is NaN
