"""Line plots for the console (plotext), as text: ANSI colours only when asked for.

The axes follow the app's charts (`axes`): round y ticks, at least four where the height
allows, whole-number x ticks, and log10 y once the values span more than two decades. Without
colour each labelled series is drawn with a marker of its own, shown in the legend.
"""

from __future__ import annotations

import numpy as np
import plotext

from .axes import MARKERS, round_ticks, spans_decades, x_ticks

FIRST_MARKER = "hd"  # plotext's half blocks: a line, for the first series (and all, in colour)
CHROME_ROWS = 5  # of a plot's height: title, x axis and its labels, x label, frame
LABEL_COLUMNS = 10  # of its width: the y labels and the frame


def line_plot(
    series: list[tuple[str | None, list[float], list[float]]],
    title: str,
    xlabel: str,
    color: bool,
    width: int = 70,
    height: int = 16,
) -> str:
    """Draw `(label, x, y)` series on one set of axes; unlabelled series are drawn as dots.

    Args:
        series: each a label (None: a band around the labelled series, drawn as dots), whole
            x values (epochs, steps) and the y values.
        color: ANSI colours; without them, each labelled series gets its own marker.
    """
    plotext.clear_figure()
    plotext.plotsize(width, height)
    plotext.theme("pro" if color else "clear")
    all_y = np.concatenate([np.asarray(y, dtype=np.float64) for _, _, y in series])
    log = spans_decades(all_y)
    shown = []
    labelled = 0
    for label, x, y in series:
        y = np.asarray(y, dtype=np.float64)
        if log:
            with np.errstate(divide="ignore", invalid="ignore"):
                y = np.where(y > 0, np.log10(np.where(y > 0, y, 1)), np.nan)
        shown.append(y[np.isfinite(y)])
        if label is None:
            plotext.plot(x, y.tolist(), marker="dot")
            continue
        marker = FIRST_MARKER if color or not labelled else MARKERS[(labelled - 1) % len(MARKERS)]
        plotext.plot(x, y.tolist(), label=label, marker=marker)
        labelled += 1
    finite = np.concatenate(shown)
    if finite.size:
        ticks = round_ticks(float(finite.min()), float(finite.max()), height - CHROME_ROWS, log)
        plotext.yticks([v for v, _ in ticks], [label for _, label in ticks])
    xs = [v for _, x, _ in series for v in x]
    if xs:
        labels = [label for _, label in x_ticks(min(xs), max(xs), width - LABEL_COLUMNS)]
        plotext.xticks([int(label) for label in labels], labels)
    plotext.title(title + ("  [log y]" if log else ""))
    plotext.xlabel(xlabel)
    text = plotext.build()
    plotext.clear_figure()
    return text if color else plotext.uncolorize(text)
