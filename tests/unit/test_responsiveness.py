"""What keeps the app cheap while training: vectorised drawing maths that matches the simple
loops it replaced, charts that convert only new points, strips identical to Textual's own
rendering, and the training loop stepping aside while a key is handled (no timing asserted)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from rich.text import Text
from textual.app import App
from textual.visual import Visual, visualize
from uitools import tiny

from tuidl.render import charts
from tuidl.session.messages import Boundary, ProbeTaken, Progress, RunStarted, StepLogged
from tuidl.session.priority import UiPriority
from tuidl.session.run import Launch, SingleRun
from tuidl.session.sink import RecordQueue
from tuidl.ui.app import make_app
from tuidl.ui.history import LIMIT, RunSeries
from tuidl.ui.pacing import FORWARD_MAX_SECONDS, FORWARD_SECONDS, PanelPacer
from tuidl.ui.widgets.boundary import DecisionBoundary
from tuidl.ui.widgets.footer import KeyFooter
from tuidl.ui.widgets.heatmap import GradHeatmap
from tuidl.ui.widgets.linechart import LineChart
from tuidl.ui.widgets.textstrips import pieces_strips, pieces_text, text_strips

BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]])


def braille_reference(series, width, height, x_range, y_range):
    """The per-segment loop `charts.braille_plot` replaced."""
    dots_w, dots_h = 2 * width, 4 * height
    bits = np.zeros((height, width), dtype=np.int64)
    owner = np.full((height, width), -1)
    (x0, x1), (y0, y1) = x_range, y_range
    for index, (x, y) in enumerate(series):
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        if len(x) == 0:
            continue
        px = np.clip(np.round((x - x0) / (x1 - x0 or 1.0) * (dots_w - 1)), 0, dots_w - 1)
        py = np.clip(np.round((y1 - y) / (y1 - y0 or 1.0) * (dots_h - 1)), 0, dots_h - 1)
        px, py = px.astype(int), py.astype(int)
        canvas = np.zeros((dots_h, dots_w), dtype=bool)
        canvas[py[0], px[0]] = True
        for i in range(1, len(px)):
            xa, xb, ya, yb = px[i - 1], px[i], py[i - 1], py[i]
            if xb == xa:
                canvas[min(ya, yb) : max(ya, yb) + 1, xa] = True
                continue
            cols = np.arange(min(xa, xb), max(xa, xb) + 1)
            ys = np.round(ya + (yb - ya) * (cols - xa) / (xb - xa)).astype(int)
            canvas[ys, cols] = True
            for c, y_prev, y_next in zip(cols[1:], ys[:-1], ys[1:], strict=True):
                if abs(y_next - y_prev) > 1:
                    canvas[min(y_prev, y_next) : max(y_prev, y_next) + 1, c] = True
        mine = np.einsum("hrwc,rc->hw", canvas.reshape(height, 4, width, 2).astype(int), BITS)
        bits |= mine
        owner[mine > 0] = index
    rows = ["".join(chr(0x2800 + b) if b else " " for b in row) for row in bits]
    return rows, owner


def test_braille_plot_matches_the_segment_loop(seed):
    rng = np.random.default_rng(seed)
    for _ in range(300):
        width, height = int(rng.integers(1, 30)), int(rng.integers(1, 8))
        series = []
        for _ in range(int(rng.integers(1, 4))):
            n = int(rng.integers(1, 40))
            x = rng.uniform(-1, 11, n)
            x = np.round(np.sort(x)) if rng.random() < 0.5 else x  # vertical runs, backtracking
            y = rng.normal(size=n) * rng.uniform(0.1, 5)
            y[rng.random(n) < 0.1] = np.nan
            series.append((x, y))
        rows, owner = charts.braille_plot(series, width, height, (0, 10), (-2, 2))
        want_rows, want_owner = braille_reference(series, width, height, (0, 10), (-2, 2))
        assert rows == want_rows, f"seed {seed}"
        assert (owner == want_owner).all(), f"seed {seed}"


def test_minmax_downsample_matches_per_bin_argmin_argmax(seed):
    rng = np.random.default_rng(seed)
    for _ in range(200):
        n, bins = int(rng.integers(0, 300)), int(rng.integers(0, 40))
        x = np.arange(n, dtype=float)
        y = rng.integers(0, 4, n).astype(float) if rng.random() < 0.5 else rng.normal(size=n)
        xs, ys = charts.minmax_downsample(x, y, bins)
        if n <= 2 * bins or bins < 1:
            assert (xs == x).all()
            continue
        edges = np.linspace(0, n, bins + 1).astype(int)
        keep = []
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            keep += sorted({lo + int(np.argmin(y[lo:hi])), lo + int(np.argmax(y[lo:hi]))})
        assert xs.tolist() == x[keep].tolist(), f"seed {seed}"


def test_bin_means_matches_per_bin_means(seed):
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(3, 1000))
    matrix[rng.random(matrix.shape) < 0.2] = np.nan
    matrix[1, :400] = np.nan  # whole bins of NaN stay NaN
    finite = np.isfinite(matrix)
    out = charts.bin_means(np.where(finite, matrix, 0.0), finite.astype(int), 37)
    edges = np.linspace(0, 1000, 38).astype(int)
    for j, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        part = matrix[:, lo:hi]
        counts = np.isfinite(part).sum(axis=1)
        sums = np.where(np.isfinite(part), part, 0.0).sum(axis=1)
        want = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        np.testing.assert_allclose(out[:, j], want, rtol=1e-12, err_msg=f"seed {seed}")


def test_heatmap_keeps_log_norms_bounded_however_long_the_run():
    heatmap = GradHeatmap()
    heatmap.reset(["a", "b"])
    norms = np.random.default_rng(2).uniform(1e-4, 1.0, 200)
    for step, norm in enumerate(norms, 1):
        heatmap.add(step, {"a": float(norm), "b": 0.0})
    history = heatmap.history
    assert history.rows == 200 and history.sums.shape == (200, 2)  # few: one bin per step
    np.testing.assert_allclose(history.sums[:, 0], np.log10(norms))
    assert not history.counts[:, 1].any()  # a zero norm has no log
    assert (heatmap.first_step, heatmap.last_step) == (1, 200)
    records = [{"step": s, "grad_norm": {"a": 0.5, "b": 2.0}} for s in range(201, 100_001)]
    heatmap.add_all(records)
    assert history.rows == 100_000 and history.bins <= LIMIT and heatmap.last_step == 100_000
    fresh = GradHeatmap()  # layers learned from the first record
    fresh.add(1, {"x": 100.0})
    assert fresh.layer_names == ["x"] and fresh.history.sums.tolist() == [[2.0]]


def test_a_long_run_keeps_its_curves_bounded_and_ending_at_the_latest_loss():
    run = RunSeries()
    losses = np.random.default_rng(3).uniform(0.1, 1.0, 200_000)
    for start in range(0, len(losses), 5_000):
        run.add_steps(
            [
                {"kind": "step", "step": s + 1, "loss": float(losses[s])}
                for s in range(start, start + 5_000)
            ]
        )
    x, y = run.loss.curve()
    assert run.steps == 200_000 and len(x) <= LIMIT + 1
    assert (x[-1], y[-1]) == (200_000, losses[-1])
    assert y.min() == losses.min() and y.max() == losses.max()
    assert run.smooth.curve()[0][-1] == 200_000


class ChartApp(App):
    CSS = "LineChart { background: $surface 60%; color: $text-muted; }"

    def compose(self):
        yield LineChart()


def _plain(strips):
    return [[(s.text, s.style.clear_meta_and_links() if s.style else None) for s in strip]
            for strip in strips]  # fmt: skip


async def test_strips_are_those_textual_draws_from_the_text():
    app = ChartApp()
    async with app.run_test(size=(120, 40)):
        chart = app.query_one(LineChart)
        rng = np.random.default_rng(1)
        for names in (["batch"], ["train (smoothed)", "val loss"], [f"run-{k}" for k in range(6)]):
            chart.clear()
            for name in names:
                chart.extend(name, list(range(500)), list(rng.random(500)))
            for width, height in ((110, 30), (40, 10), (12, 4)):  # the legend wraps when narrow
                text = pieces_text(chart._lines(width, height))
                textual = Visual.to_strips(chart, visualize(chart, text), width, None,
                                           chart.visual_style)  # fmt: skip
                assert _plain(pieces_strips(chart, chart._lines(width, height), width)) == _plain(
                    textual
                )
                assert _plain(text_strips(chart, text, width)) == _plain(textual)
        status = Text(" RUNNING ", style="bold green")
        status.append(" epoch 1.00/10  step 15  lr 0.01  " * 3, style="dim")
        textual = Visual.to_strips(chart, visualize(chart, status), 80, None, chart.visual_style)
        assert _plain(text_strips(chart, status, 80)) == _plain(textual)


def _chart_text(chart: LineChart, width: int, height: int) -> list[str]:
    return ["".join(piece for piece, _ in line) for line in chart._lines(width, height)]


async def test_chart_labels_its_axes_and_turns_log_once_the_loss_spans_decades():
    app = ChartApp()
    async with app.run_test(size=(100, 30)):
        chart = app.query_one(LineChart)
        steps = np.arange(1, 401)
        chart.extend("loss", steps[:100], 2.0 * 0.99 ** steps[:100])  # 2.0 to 0.73
        lines = _chart_text(chart, 90, 24)
        assert not chart.uses_log
        labels = [line[:7].strip() for line in lines[1:-1] if line[:7].strip()]
        assert labels == ["1.75", "1.50", "1.25", "1.00", "0.75"]
        assert lines[-1].split() == ["step", "10", "20", "30", "40", "50", "60", "70", "80", "90",
                                     "100"]  # fmt: skip
        chart.extend("loss", steps[100:], 2.0 * 0.98 ** steps[100:])  # on to 6.1e-4
        labels = [line[:7].strip() for line in _chart_text(chart, 90, 24)[1:-1]]
        assert chart.uses_log and [v for v in labels if v] == ["1", "0.1", "0.01", "0.001"]
        chart.log_y = False  # the `l` key: linear until pressed again
        assert not chart.uses_log and "0.001" not in _chart_text(chart, 90, 24)[-2]


async def test_without_colour_each_series_has_a_glyph_of_its_own(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")  # read as the app is made
    app = ChartApp()
    async with app.run_test(size=(100, 30)):
        chart = app.query_one(LineChart)
        x = np.arange(1, 101)
        for k, name in enumerate(["batch", "train (smoothed)", "val loss"]):
            chart.extend(name, x, np.full(100, 1.0 + k))
        lines = _chart_text(chart, 90, 24)
        for sample in ("⠒⠒ batch", "xx train (smoothed)", "oo val loss"):  # legend: each glyph
            assert sample in lines[0]
        plot = "".join(line[8:] for line in lines[1:-1])
        assert {"x", "o"} <= set(plot) and any("\u2800" < c <= "\u28ff" for c in plot)


HOLD = 0.2  # seconds a held trainer must stay held, and a free one needs to get through


def waiter(priority: UiPriority) -> tuple[threading.Thread, threading.Event]:
    """A training thread calling `priority.wait()`: started, and about to call it; the event
    is set once the call returned."""
    about_to_wait, released = threading.Event(), threading.Event()

    def train() -> None:
        about_to_wait.set()
        priority.wait()
        released.set()

    thread = threading.Thread(target=train)
    thread.start()
    assert about_to_wait.wait(10), "the waiting thread never ran"
    return thread, released


def test_ui_priority_holds_the_trainer_until_end_or_max_wait():
    priority = UiPriority(max_wait=30)
    priority.wait()  # idle: returns at once
    thread, released = waiter(priority)
    assert released.wait(HOLD)  # HOLD is long enough for a free trainer to pass...
    thread.join()
    priority.begin()
    assert priority.busy
    thread, released = waiter(priority)
    assert not released.wait(HOLD)  # ...and a held one stays held
    priority.end()
    assert released.wait(10)
    thread.join()
    short = UiPriority(max_wait=0.001)
    short.begin()
    short.wait()  # a missed end() delays the trainer once...
    assert not short.busy  # ...not for good


def test_training_loop_waits_for_the_ui_before_every_step():
    class Recorder:
        def __init__(self) -> None:
            self.steps_seen: list[int] = []

        def wait(self) -> None:
            trainer = run.trainer
            self.steps_seen.append(trainer.step_count if trainer is not None else -1)

    launch = Launch(tiny(epochs=5), runs_root=None, start_paused=False)
    run = SingleRun(launch, RecordQueue())
    ui = Recorder()
    run.run(lambda: len(ui.steps_seen) >= 6, ui)
    assert ui.steps_seen == [0, 1, 2, 3, 4, 5]


class FixedSession:
    """A session that hands the app the records a test puts in; nothing trains."""

    def __init__(self, state: str = "paused") -> None:
        self.records: list = []
        self.state = state

    def start(self) -> None: ...
    def send(self, command) -> None: ...
    def close(self) -> None: ...

    def put(self, record) -> None:
        self.records.append(record)

    def drain(self) -> list:
        records, self.records = self.records, []
        return records

    def progress(self) -> Progress:
        return Progress(state=self.state)


def fixed_app(size_clock=None):
    """The app on spiral, showing only what a test feeds its `FixedSession`."""
    app = make_app(tiny(), runs_root=None, **({"clock": size_clock} if size_clock else {}))
    app.start_training = lambda *args, **kwargs: None
    app.session = FixedSession()
    return app


def begin() -> RunStarted:
    return RunStarted("train", None, ["dense_0"], steps_per_epoch=15, epochs=2, batch_size=32,
                      lr=0.01)  # fmt: skip


def step(k: int, loss: float = 1.0) -> StepLogged:
    return StepLogged("train", {"kind": "step", "step": k, "loss": loss, "grad_norm": {}})


def drawn_steps(app) -> int:
    return app.train_screen.query_one("#curve", LineChart).count("batch")


async def test_panels_redraw_when_forwarded_and_keys_release_the_trainer():
    clock = [100.0]
    app = fixed_app(lambda: clock[0])
    async with app.run_test(size=(80, 24)) as pilot:
        app.session.state = "running"
        app.session.put(begin())
        app.tick(forward=False)  # a (re)started run reaches the panels at once
        assert app.train_screen.runs["train"].steps == 0
        for k in range(1, 6):
            app.session.put(step(k, 1.0 / k))
        app.tick(forward=False)  # the records reach the screen; its panels wait for their turn
        assert app.train_screen.runs["train"].loss.x.tolist() == [1, 2, 3, 4, 5]
        assert drawn_steps(app) == 0
        clock[0] += 1.0  # the curves are redrawn at most every PLOT_SECONDS
        app.tick()
        assert drawn_steps(app) == 5
        raised, raise_flag = [], app.priority.begin

        def counted_begin() -> None:
            raised.append(True)
            raise_flag()

        app.priority.begin = counted_begin
        await pilot.press("a")
        await pilot.pause()
        assert raised and not app.priority.busy  # the key held the trainer, then let it go


async def test_panels_redraw_at_once_while_no_trainer_runs():
    app = fixed_app()
    async with app.run_test(size=(80, 24)):
        session = app.session
        session.state = "running"
        session.put(begin())
        app.tick(forward=False)
        for k, state, drawn in ((1, "running", 0), (2, "finished", 2)):
            session.state = state
            session.put(step(k))
            app.tick(forward=False)  # running: the panels wait; finished: drawn now
            assert app.train_screen.runs["train"].loss.x.tolist() == list(range(1, k + 1))
            assert drawn_steps(app) == drawn
        session.put(step(3))
        session.state = "running"
        app.tick(forward=False)
        assert drawn_steps(app) == 2
        session.state = "paused"  # paused after its records were handed over: drawn now
        app.tick(forward=False)
        assert drawn_steps(app) == 3


def test_panels_slow_down_while_the_ui_thread_is_over_budget():
    cpu = [0.0]
    pacer = PanelPacer(cpu=lambda: cpu[0])
    assert pacer.due(0.0, busy=False) and not pacer.due(0.5, busy=False)
    assert not pacer.due(5.0, busy=True)  # never while a key is handled
    paces = []
    for second in range(1, 11):  # the UI thread busy 10% of the time: slower, up to the cap
        cpu[0] += 0.1
        pacer.pace(float(second))
        paces.append(pacer.every)
    assert paces[0] == pytest.approx(1.25 * FORWARD_SECONDS)
    assert paces == sorted(paces) and paces[-1] == FORWARD_MAX_SECONDS
    for second in range(11, 31):  # nearly idle: back to once a second
        cpu[0] += 0.001
        pacer.pace(float(second))
    assert pacer.every == FORWARD_SECONDS


def _boundary_probe(step: int, cls: np.ndarray) -> ProbeTaken:
    boundary = Boundary(cls.copy(), np.ones(cls.shape), (0.0, 1.0, 0.0, 1.0),
                        np.zeros((0, 2)), np.zeros(0, dtype=np.int64))  # fmt: skip
    return ProbeTaken("train", step, boundary=boundary)


async def test_panel_updates_repaint_only_their_widget_and_only_on_change(monkeypatch):
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.train_screen
        boundary = screen.query_one(DecisionBoundary)
        cls = np.zeros((48, 48), dtype=np.int64)

        async def show(record) -> None:
            app.session.put(record)
            app.tick()
            screen.redraw(force=True)
            await pilot.pause()

        await show(_boundary_probe(1, cls))  # the first drawing: shown, so laid out
        refreshes: list[dict] = []
        monkeypatch.setattr(boundary, "refresh", lambda *a, **kw: refreshes.append(kw))
        monkeypatch.setattr(
            screen, "refresh", lambda *a, **kw: refreshes.append(kw | {"screen": 1})
        )
        await show(_boundary_probe(2, cls))  # a new caption, the same size: a repaint
        assert refreshes == [{"layout": False}]
        await show(_boundary_probe(2, cls))  # nothing changed: nothing to paint
        cls[:, 24:] = 1
        await show(_boundary_probe(2, cls))  # other regions: a repaint
        assert refreshes == [{"layout": False}] * 2
        # the chart's metric and the focused panel repaint their widgets, not the screen,
        # and the footer, showing the same keys, is not rebuilt
        footer_keys = list(screen.query_one(KeyFooter).children)
        await pilot.press("a", "tab", "a")
        assert screen.metric == "loss" and screen.current != 0
        assert not any("screen" in kw for kw in refreshes)
        assert list(screen.query_one(KeyFooter).children) == footer_keys
