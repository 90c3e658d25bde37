"""Images at the size their panel allows, the diverging scale of weights and the gradient
heatmap's fixed log scale: the maths, without Pilot."""

from fractions import Fraction

import numpy as np
import pytest
from rich.color import Color, ColorSystem

from tuidl.render import charts
from tuidl.ui.widgets.halfblock import DIVERGING, compose, legend, signed_tile
from tuidl.ui.widgets.heatmap import LOG_RANGE

# (width, rows) the panels give their content: the samples beside the confusion matrix at
# 160x48 before and after the first epoch, the filters in the right column, and the one
# panel under the curves at 80x24
SAMPLES_160, SAMPLES_160_CONFUSION, FILTERS_160, NARROW_80 = (92, 22), (41, 22), (60, 30), (76, 9)


def side(shape: tuple[int, int], zoom: Fraction) -> int:
    return max(charts.scaled_shape(shape, zoom))


@pytest.mark.parametrize("shape", [(3, 3), (5, 5), (8, 8), (10, 10), (28, 28), (5, 3)])
def test_every_zoom_step_draws_the_shape_it_promises(shape):
    steps = charts.zoom_steps(max(shape))
    assert steps == sorted(steps, reverse=True) and steps[: charts.MAX_ZOOM][-1] == 1
    sizes = [charts.scaled_shape(shape, z) for z in steps]
    assert len(set(sizes)) == len(sizes)  # no two steps draw the same size
    for zoom, size in zip(steps, sizes, strict=True):
        assert charts.rescale(np.ones(shape), zoom).shape == size


def test_enlarging_repeats_each_value_into_a_block_and_shrinking_averages():
    image = np.array([[1.0, -2.0], [3.0, 0.5]])
    big = charts.rescale(image, Fraction(3))
    assert big.shape == (6, 6) and (big[:3, :3] == 1).all() and (big[3:, 3:] == 0.5).all()
    digit = np.arange(28 * 28, dtype=float).reshape(28, 28)
    half = charts.rescale(digit, Fraction(1, 2))
    assert half.shape == (14, 14) and half[0, 0] == digit[:2, :2].mean()


@pytest.mark.parametrize(
    ("shape", "room", "drawn"),
    [
        ((28, 28), SAMPLES_160, (28, 28)),  # one row of them fits at their own size: no shrink
        ((28, 28), SAMPLES_160_CONFUSION, (28, 28)),
        ((28, 28), NARROW_80, (14, 14)),  # 15 rows do not fit in 9: the largest that does
        ((8, 8), SAMPLES_160, (16, 16)),  # all eight fit at 2x (two rows of five)
        ((8, 8), SAMPLES_160_CONFUSION, (8, 8)),
        ((8, 8), NARROW_80, (8, 8)),
        ((8, 8), (200, 40), (32, 32)),
    ],
)
def test_sample_strip_picks_the_largest_scale_that_fits(shape, room, drawn):
    width, rows = room
    zoom = charts.strip_zoom(shape, 8, width, rows)
    assert charts.scaled_shape(shape, zoom) == drawn


def test_sample_strip_scale_is_the_largest_at_which_all_fit():
    def all_fit(zoom: Fraction, width: int, rows: int) -> bool:
        h, w = charts.scaled_shape((8, 8), zoom)
        image_rows = -(-8 // charts.grid_columns(8, w, width))
        return w <= width and image_rows * ((h + 1) // 2 + 1) <= rows

    for width in range(8, 200, 7):
        for rows in range(5, 40, 3):
            zoom = charts.strip_zoom((8, 8), 8, width, rows)
            if all_fit(Fraction(1), width, rows):
                assert zoom >= 1 and all_fit(zoom, width, rows)
                assert zoom == charts.MAX_ZOOM or not all_fit(zoom + 1, width, rows)


@pytest.mark.parametrize(
    ("kernel", "kernels", "maps", "room", "filters_drawn", "maps_drawn"),
    [
        ((3, 3), 8, ((8, 8), 9), FILTERS_160, 12, 8),  # digits-cnn: 3x3 filters at 4x
        ((3, 3), 8, ((8, 8), 9), NARROW_80, 6, 4),
        ((5, 5), 8, ((28, 28), 9), FILTERS_160, 10, 10),  # mnist-lenet conv2d_0: 5x5 at 2x
        ((5, 5), 8, ((28, 28), 9), NARROW_80, 5, 7),
        ((5, 5), 16, ((10, 10), 17), FILTERS_160, 5, 5),  # mnist-lenet conv2d_1
        ((5, 5), 16, ((10, 10), 17), NARROW_80, 5, 10),  # no room: the maps scroll
        ((3, 3), 8, None, NARROW_80, 6, None),
    ],
)
def test_filter_panel_scales(kernel, kernels, maps, room, filters_drawn, maps_drawn):
    fz, mz = charts.filter_zooms(kernel, kernels, maps, *room)
    assert side(kernel, fz) == filters_drawn
    assert (mz is None) if maps is None else side(maps[0], mz) == maps_drawn


def test_filter_panel_fits_when_it_can_and_never_shrinks_filters():
    for width in range(20, 120, 9):
        for rows in range(4, 50, 5):
            fz, mz = charts.filter_zooms((3, 3), 8, ((8, 8), 9), width, rows)
            assert fz >= 1
            f_rows = charts.grid_height(8, charts.scaled_shape((3, 3), fz), width)
            m_rows = charts.grid_height(9, charts.scaled_shape((8, 8), mz), width)
            at_least = charts.grid_height(8, (3, 3), width) + charts.grid_height(9, (4, 4), width)
            if 2 + at_least <= rows:  # the smallest sensible pair fits: so does the one chosen
                assert 2 + f_rows + m_rows <= rows, (width, rows)


def test_grid_height_counts_the_rows_compose_lays_out():
    for count in (1, 5, 9, 17):
        for tile in ((3, 3), (5, 5), (6, 6), (14, 14), (7, 10)):
            for width in (10, 41, 76):
                pixel = [["#000000"] * tile[1] for _ in range(tile[0])]
                columns = charts.grid_columns(count, tile[1], width)
                grid = compose([pixel] * count, columns)
                assert (len(grid) + 1) // 2 == charts.grid_height(count, tile, width)
                assert len(grid[0]) <= max(width, tile[1])


def test_diverging_scale_is_centred_on_zero_blue_below_red_above():
    n = len(DIVERGING)
    middle = n // 2
    assert n % 2 == 1
    r, g, b = Color.parse(DIVERGING[middle]).get_truecolor()
    assert r == g == b  # neutral
    values = np.array([-1.0, -0.4, -0.01, 0.0, 0.01, 0.4, 1.0])
    levels = charts.symmetric_levels(values, 1.0, n)
    assert levels.tolist() == [0, 9, middle, middle, middle, 21, n - 1]
    assert (levels + levels[::-1] == n - 1).all()  # v and -v equally far from the middle
    clipped = charts.symmetric_levels(np.array([-5.0, 5.0]), 1.0, n)
    assert clipped.tolist() == [0, n - 1]
    for k, colour in enumerate(DIVERGING):
        r, g, b = Color.parse(colour).get_truecolor()
        assert (b > r) if k < middle else (r > b) if k > middle else True


def test_diverging_scale_reads_in_256_colours():
    downgraded = [Color.parse(c).downgrade(ColorSystem.EIGHT_BIT) for c in DIVERGING]
    middle = len(DIVERGING) // 2
    below, above = downgraded[:middle], downgraded[middle + 1 :]
    assert len({c.number for c in below}) >= 7 and len({c.number for c in above}) >= 7
    assert not {c.number for c in below} & {c.number for c in above}
    assert all(c.get_truecolor().blue >= c.get_truecolor().red for c in below)
    assert all(c.get_truecolor().red >= c.get_truecolor().blue for c in above)


def test_signed_tile_enlarges_and_colours_around_zero():
    tile = signed_tile(np.array([[-0.5, 0.0, 0.5]]), Fraction(2), 0.5)
    assert len(tile) == 2 and len(tile[0]) == 6
    assert tile[0] == tile[1]
    assert tile[0][:2] == [DIVERGING[0]] * 2 and tile[0][4:] == [DIVERGING[-1]] * 2
    assert tile[0][2:4] == [DIVERGING[len(DIVERGING) // 2]] * 2


def test_scale_legend_names_the_range_with_its_colours():
    pieces = charts.scale_legend(0.3123, DIVERGING)
    assert "".join(text for text, _ in pieces) == "−0.31 ◀███ 0 ███▶ +0.31"
    colours = [colour for _, colour in pieces if colour]
    assert colours[0] == colours[1] == DIVERGING[0] and colours[-1] == DIVERGING[-1]
    assert DIVERGING[len(DIVERGING) // 2] not in colours  # the swatches show the two sides
    assert "".join(t for t, _ in charts.scale_legend(4.2e-5, DIVERGING)).startswith("−4.2e-05")
    line = legend([("weights ", None), *pieces])
    arrow = line.plain.index("◀")
    assert line.plain.startswith("weights −0.31 ◀")
    assert [span.style for span in line.spans if span.start == arrow] == [DIVERGING[0]]


def test_signed_scale_takes_the_largest_or_a_quantile_of_finite_values():
    values = np.array([[-3.0, 1.0], [np.nan, 2.0]])
    assert charts.signed_scale(values) == 3.0
    assert charts.signed_scale(np.arange(101.0), 0.99) == pytest.approx(99.0)
    assert charts.signed_scale(np.array([np.inf])) == 0.0


def test_gradient_heatmap_scale_is_fixed_and_covers_the_presets():
    lo, hi = LOG_RANGE
    # whole runs of every preset (seed 0), smallest and largest per-layer norm: deep-sigmoid's
    # first layer, adding-rnn; exploding-rnn's blow-up (1e18) is meant to clip at the top
    for norm in (7.4e-7, 93.0):
        assert lo < np.log10(norm) < hi
    levels = charts.quantize(np.log10([1e-9, 10.0**lo, 1e-3, 10.0**hi, 1e18]), lo, hi)
    assert levels.tolist() == [0, 0, 14, charts.LEVELS - 1, charts.LEVELS - 1]
    pieces = charts.decade_legend(lo, hi, charts.ramp())
    assert "".join(text for text, _ in pieces) == "≤1e-7 " + "█" * (hi - lo + 1) + " ≥1e+2"
    swatches = [colour for _, colour in pieces if colour]
    assert swatches[0] == charts.ramp()[0] and swatches[-1] == charts.ramp()[-1]
