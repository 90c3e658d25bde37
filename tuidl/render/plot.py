"""Line plots for the console (plotext), as text: ANSI colours only when asked for."""

from __future__ import annotations

import plotext


def line_plot(
    series: list[tuple[str | None, list[float], list[float]]],
    title: str,
    xlabel: str,
    color: bool,
    width: int = 70,
    height: int = 16,
) -> str:
    """Draw `(label, x, y)` series on one set of axes; unlabelled series are drawn as dots."""
    plotext.clear_figure()
    plotext.plotsize(width, height)
    plotext.theme("pro" if color else "clear")
    for label, x, y in series:
        if label is None:
            plotext.plot(x, y, marker="dot")
        else:
            plotext.plot(x, y, label=label)
    plotext.title(title)
    plotext.xlabel(xlabel)
    text = plotext.build()
    plotext.clear_figure()
    return text if color else plotext.uncolorize(text)
