"""The app's drawing maths and the build screen's draft checks, without Pilot."""

import io

import numpy as np
import pytest
from rich.console import Console
from rich.text import Text
from uitools import tiny

from tuidl.datasets import load_dataset
from tuidl.draft import analyze
from tuidl.errors import ConfigError
from tuidl.experiment import parse_value
from tuidl.presets import PRESETS, preset
from tuidl.render import axes, charts, svg
from tuidl.render.charts import GRADIENT_DECADES
from tuidl.ui.forms import (
    SETTINGS,
    edit_setting,
    format_keys,
    parse_pairs,
    parse_typed_line,
    setting_value,
)
from tuidl.ui.widgets import heatmap
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


@pytest.mark.parametrize("rows", [4, 6, 10, 23, 50])
@pytest.mark.parametrize(
    ("lo", "hi"), [(0.5564, 1.407), (0.0, 2.3), (-1.0, 1.0), (1e-5, 5.5e-5), (2e3, 1.2e5)]
)
def test_y_ticks_are_round_values_on_rows_of_their_own(lo, hi, rows):
    ticks = axes.y_ticks(lo, hi, rows)
    placed = [row for row, _ in ticks]
    assert len(ticks) >= (axes.LEAST_Y_TICKS if rows >= 6 else 2)
    assert len(set(placed)) == len(placed)
    assert all(0 <= row < rows and 0 < len(label) <= axes.LABEL_CHARS for row, label in ticks)
    values = [float(label) for _, label in ticks]
    assert all(lo <= v <= hi for v in values) and values == sorted(values)
    steps = np.diff(values)
    assert np.allclose(steps, steps[0], rtol=1e-6)  # evenly spaced, by 1, 2, 2.5 or 5 x 10^k
    mantissa = steps[0] / 10 ** np.floor(np.log10(steps[0]))
    assert min(abs(mantissa - m) for m in (1, 2, 2.5, 5)) < 1e-6
    dots = 4 * rows - 1
    for row, value in zip(placed, values, strict=True):  # the row braille_plot draws it on
        assert row == round((hi - value) / (hi - lo) * dots) // 4


def test_log_y_ticks_are_decades_then_their_multiples():
    assert [label for _, label in axes.y_ticks(-5.2, 0.3, 20, log=True)] == [
        "1e-5", "1e-4", "0.001", "0.01", "0.1", "1",
    ]  # fmt: skip
    two_decades = [label for _, label in axes.y_ticks(np.log10(0.04), np.log10(3), 12, log=True)]
    assert two_decades == ["0.05", "0.1", "0.2", "0.5", "1", "2"]
    ten_decades = [label for _, label in axes.y_ticks(-8, 2, 10, log=True)]
    assert ten_decades == ["1e-8", "1e-6", "1e-4", "0.01", "1", "100"]
    narrow = [label for _, label in axes.y_ticks(np.log10(0.55), np.log10(0.8), 10, log=True)]
    assert narrow == ["0.55", "0.6", "0.65", "0.7", "0.75", "0.8"]  # round values, not decades


def test_x_ticks_label_whole_steps_centred_apart_and_inside():
    for lo, hi, columns in [(1, 30, 60), (1, 4000, 60), (1, 1_000_000, 150), (1, 3, 10)]:
        ticks = axes.x_ticks(lo, hi, columns)
        assert len(ticks) >= 2 or hi - lo < 3
        ends = [start + len(label) for start, label in ticks]
        assert all(
            0 <= start and end <= columns for (start, _), end in zip(ticks, ends, strict=True)
        )
        assert all(b[0] >= end + 2 for b, end in zip(ticks[1:], ends[:-1], strict=True))  # apart
        for start, label in ticks:
            value = int(label)
            column = round((value - lo) / (hi - lo) * (2 * columns - 1)) // 2
            assert start <= column < start + len(label) or start in (0, columns - len(label))
    assert axes.x_ticks(1, 30, 60)[:2] == [(8, "5"), (17, "10")]


def test_a_log_axis_is_chosen_for_positive_values_spanning_over_two_decades():
    assert axes.spans_decades(np.array([2.3, 0.5, 0.01]))
    assert not axes.spans_decades(np.array([2.3, 0.5, 0.1]))
    assert not axes.spans_decades(np.array([2.3, 0.0, 0.001]))  # 0 has no place on a log axis
    assert not axes.spans_decades(np.array([np.nan, 1.0]))


def test_without_colour_each_series_but_the_first_gets_its_marker():
    flat = lambda level: (np.array([0.0, 1.0]), np.array([level, level]))  # noqa: E731
    rows, owner = charts.braille_plot([flat(0.1), flat(0.5), flat(0.9)], 6, 6, (0, 1), (0, 1))
    marked = axes.mark_series(rows, owner)
    glyphs = [set(row[c] for c in range(6) if owner[r, c] == k) for k in range(3)
              for r, row in enumerate(marked) if (owner[r] == k).any()]  # fmt: skip
    assert [g <= {chr(c) for c in range(0x2800, 0x2900)} for g in glyphs[:1]] == [True]
    assert glyphs[1:] == [{"x"}, {"o"}]
    assert [axes.series_marker(k) for k in (1, 2, 3)] == ["x", "o", "+"]


def test_pinned_svg_puts_each_glyph_in_its_cell():
    console = Console(width=24, record=True, file=io.StringIO(), color_system="truecolor")
    line = "ab ⣿⣀▀x  y.5 ━━┤█"
    console.print(Text(line, style="red") + Text("⠁ z", style="blue"))
    rich_svg = console.export_svg()
    before = [text for _, text in svg.text_elements(rich_svg)]
    assert any(len(text) > 1 and not text.isascii() for text in before)  # runs, as Rich writes

    pinned = svg.text_elements(svg.pin_cells(rich_svg))
    cell_width = 12.2  # Rich's 20 px font at its 0.61 aspect ratio
    cells = {}
    for attributes, text in pinned:
        if "textLength" not in attributes:
            continue  # the title
        column = float(attributes["x"]) / cell_width
        assert column == pytest.approx(round(column)), (text, attributes["x"])
        assert float(attributes["textLength"]) == pytest.approx(len(text) * cell_width)
        assert " " not in text and "\xa0" not in text
        if not text.isascii():  # alone, squeezed into its cell
            assert len(text) == 1 and attributes["lengthAdjust"] == "spacingAndGlyphs"
        for k, char in enumerate(text):
            cells[round(column) + k] = char
    drawn = "".join(cells.get(k, " ") for k in range(24)).rstrip()
    assert drawn == line + "⠁ z"


def test_analyze_reports_shapes_params_and_output_mismatch():
    experiment = tiny()
    dataset = load_dataset("spiral", n=200, seed=0)
    result = analyze(experiment.to_dict(), dataset)
    assert result.ok, result.problem
    assert [r.output_shape for r in result.rows] == [(32,), (32,), (32,), (32,), (2,)]
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
    assert all(r.output_shape is None for r in result.rows)  # nothing after it has a shape


def test_analyze_bad_key_is_a_row_problem():
    document = tiny().to_dict()
    document["model"]["layers"][0] = {"type": "dense", "unit": 4}
    result = analyze(document, load_dataset("spiral", n=200, seed=0))
    assert result.problem_row == 0 and "unknown key 'unit'" in result.problem


def test_parse_form_values():
    assert parse_value("3") == 3 and parse_value("0.5") == 0.5 and parse_value("same") == "same"
    assert parse_pairs("momentum=0.9, weight_decay=1e-4") == {"momentum": 0.9, "weight_decay": 1e-4}
    assert parse_pairs("kernel=[3, 3] padding=same  bias = true") == {
        "kernel": [3, 3],
        "padding": "same",
        "bias": True,
    }
    assert parse_typed_line("Conv2D filters=6 kernel=3") == ("conv2d", {"filters": 6, "kernel": 3})
    assert parse_typed_line("tanh") == ("tanh", {})
    with pytest.raises(ConfigError, match="'units': write key=value"):
        parse_pairs("units")
    with pytest.raises(ConfigError, match="start with the type"):
        parse_typed_line("filters=6")


def test_keys_shown_read_back_as_they_were():
    spec = {"type": "x", "a": "same", "b": True, "c": [3, 3], "d": "two words", "e": "3", "f": 1e-5}
    assert parse_pairs(format_keys(spec)) == {k: v for k, v in spec.items() if k != "type"}


@pytest.mark.parametrize("name", PRESETS)
def test_each_setting_edited_to_what_it_shows_changes_nothing(name):
    document = preset(name).to_dict()
    for setting in SETTINGS:
        assert edit_setting(document, setting, setting_value(document, setting)) == document


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("name", " ", "name must be a non-empty string"),
        ("seed", "-1", "seed must be a non-negative integer"),
        ("dataset", "csv:", "needs a path after 'csv:'"),
        ("dataset", "idx:no/such/folder", "no such folder"),
        ("data-keys", "noise=-1", "noise for spiral must be"),
        ("data-keys", "val_split=0.1", "val_split has a field of its own"),
        ("val_split", "1", "val_split must be a number in [0, 1)"),
        ("lr", "0.002t", "lr must be a number > 0, got '0.002t'"),
        ("opt-keys", "beta1=2", "beta1 must be a number in [0, 1)"),
        ("schedule", "step", "missing key 'step_size'"),
        ("schedule", "cosine t_max=0", "t_max must be a positive integer"),
        ("epochs", "-1", "[train] epochs must be a non-negative integer"),
        ("batch_size", "many", "[train] batch_size must be a positive integer"),
    ],
)
def test_a_setting_refused_names_its_key(setting, value, message):
    document = tiny().to_dict()
    document["model"]["layers"] = []  # an unfinished model is not the setting's problem
    with pytest.raises(ConfigError) as raised:
        edit_setting(document, setting, value)
    assert message in str(raised.value)


def test_settings_edit_the_draft(tmp_path):
    document = tiny().to_dict()
    (tmp_path / "notes.txt").write_text("abc abc abc\n" * 20)
    document = edit_setting(document, "dataset", f"text:{tmp_path / 'notes.txt'}")
    assert document["data"] == {"name": f"text:{tmp_path / 'notes.txt'}"}  # spiral's n is gone
    document = edit_setting(document, "data-keys", "T=8 stride=2")
    document = edit_setting(document, "val_split", "0.1")
    assert document["data"]["T"] == 8 and document["data"]["val_split"] == 0.1
    document = edit_setting(document, "val_split", "")  # empty: the default again
    assert "val_split" not in document["data"]
    document = edit_setting(document, "optimizer", "momentum")
    document = edit_setting(document, "opt-keys", "momentum=0.5")
    document = edit_setting(document, "schedule", "exponential gamma=0.9")
    assert document["optimizer"] == {
        "name": "momentum",
        "lr": 0.01,
        "momentum": 0.5,
        "schedule": {"type": "exponential", "gamma": 0.9},
    }
    assert edit_setting(document, "optimizer", "adam")["optimizer"] == {
        "name": "adam",
        "lr": 0.01,
        "schedule": {"type": "exponential", "gamma": 0.9},
    }  # momentum's own key went with it
    document = edit_setting(document, "patience", "9")  # early stopping is off: no effect
    assert "early_stopping" not in document["train"]
    document = edit_setting(document, "early_stopping", True)
    document = edit_setting(document, "patience", "9")
    document = edit_setting(document, "monitor", "train_loss")
    assert document["train"]["early_stopping"] == {
        "patience": 9,
        "min_delta": 0.0,
        "restore_best": True,
        "monitor": "train_loss",
    }
    assert "early_stopping" not in edit_setting(document, "early_stopping", False)["train"]
    assert edit_setting(document, "normalize", "standard")["data"] == document["data"]


def test_gradient_bars_use_the_heatmaps_fixed_scale_whatever_the_norms():
    # two runs' bars (and a run's bars and its heatmap) compare: one stated scale for all
    bars = GradBars()
    for norms in ({"dense_0": 5.0, "dense_1": 0.4}, {"dense_0": 1e-5, "dense_1": float("nan")}):
        bars.update_norms(norms)
        assert (bars.lo, bars.hi) == GRADIENT_DECADES == heatmap.LOG_RANGE


def test_analyze_refuses_a_loss_that_cannot_read_the_targets():
    document = tiny().to_dict()
    document["model"]["loss"] = "binary_cross_entropy"  # on spiral's class labels
    result = analyze(document, load_dataset("spiral", n=200, seed=0))
    assert not result.ok and "softmax_cross_entropy" in result.problem
