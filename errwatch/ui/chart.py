"""The rate chart: requests/s by status class or by code, or the 5xx ratio against its
thresholds, over the chart range, with spans (injection windows, alerts) marked."""

from __future__ import annotations

import math

from textual.reactive import reactive
from textual_plotext import PlotextPlot

from errwatch.config import DashboardConfig
from errwatch.core.incident.spans import Span, visible
from errwatch.core.metrics.rates import MetricsSnapshot, Point, RateSeries, by_class, worst_first
from errwatch.core.textsafe import for_terminal
from errwatch.ui.chartstyle import (
    APP_RATIO,
    CRITICAL,
    RATIO_FLOOR,
    RATIO_TICKS,
    SPAN_COLOURS,
    WARNING,
    ChartView,
    instance_colour,
    series_colours,
    tick_label,
)


def _log(percent: float) -> float:
    return math.log10(max(RATIO_FLOOR, percent))


LABEL_ROWS = 3
"""Rows of span labels at the top of the chart before labels are left out."""
SAME_VALUE = 0.02
"""A newest value within 2 % of the chart's height draws the same dots: no redraw for it."""


class RateChart(PlotextPlot):
    """Requests per second, or the 5xx ratio, over the chart range; no legend: the summary
    beside it uses the same colours, and a legend would hide the data at 80x24."""

    # No repaint of their own: redraw() rebuilds the figure and refreshes once (a second
    # refresh would render the plot twice per poll, the dashboard's biggest idle cost).
    snapshot: reactive[MetricsSnapshot | None] = reactive(None, repaint=False)
    view: reactive[ChartView] = reactive(ChartView.CLASS, repaint=False)
    spans: reactive[tuple[Span, ...]] = reactive((), repaint=False)

    def __init__(self, span: float, thresholds: DashboardConfig, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.span = span
        self.thresholds = thresholds
        self._drawn_at = 0.0

    def watch_snapshot(self, old: MetricsSnapshot | None, new: MetricsSnapshot | None) -> None:
        if old is None or new is None or self._looks_different(old, new):
            self.redraw()

    def _looks_different(self, drawn: MetricsSnapshot, new: MetricsSnapshot) -> bool:
        """Whether ``new`` would not draw the same picture as the one on screen.

        Building a plotext figure is the dashboard's main idle cost, and at 80 columns a
        braille dot of a 5 minute chart is ~3 s wide: a 1 s refresh would mostly redraw
        the same dots. New values, new series, a state change draw at once; otherwise
        the picture moves when time has moved by a dot.
        """
        if (new.state, new.mode, new.split) != (drawn.state, drawn.mode, drawn.split):
            return True
        if {s.status for s in new.series} != {s.status for s in drawn.series}:
            return True
        before, now = drawn.current(), new.current()
        top = max([1.0, *before.values(), *now.values()])
        if any(abs(now.get(k, 0.0) - before.get(k, 0.0)) > top * SAME_VALUE for k in now):
            return True
        width = self.size.width or 80  # hidden (another page): its last picture is redone on show
        dots = max(1, 2 * (width - 8))  # braille: two dots per cell, less the axis
        return new.at - self._drawn_at >= self.span / dots

    def on_resize(self) -> None:
        # Shown again (a page switch) or resized: draw what the snapshot says now.
        self.redraw()

    def watch_view(self) -> None:
        self.redraw()

    def watch_spans(self) -> None:
        self.redraw()

    def shown_series(self) -> tuple[RateSeries, ...]:
        """The rate series the current view draws."""
        snapshot = self.snapshot
        if snapshot is None:
            return ()
        return snapshot.series if self.view is ChartView.CODE else by_class(snapshot.series)

    def redraw(self) -> None:
        """Draw the current view of the snapshot, and the spans over it."""
        snapshot = self.snapshot
        self._drawn_at = snapshot.at if snapshot is not None else 0.0
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.xlim(-self.span, 0)
        ticks = [-self.span * i / 4 for i in range(4, -1, -1)]
        plt.xticks(ticks, [tick_label(-tick) for tick in ticks])
        snapshot = self.snapshot
        if snapshot is None or not snapshot.series:
            plt.ylim(0, 1)
            plt.yticks([0, 1], ["", ""])
            self.refresh()
            return
        if self.view is ChartView.RATIO:
            top = self._draw_ratio(snapshot)
        elif self.view is ChartView.INSTANCE:
            top = self._draw_instances(snapshot)
        else:
            top = self._draw_rates()
        self._draw_spans(snapshot.at, top)
        self.refresh()

    def _draw_rates(self) -> float:
        plt = self.plt
        now = self.snapshot.at if self.snapshot else 0.0
        series = self.shown_series()
        colours = series_colours([one.status for one in series])
        top = 0.0
        for one in series:
            if not one.points:
                continue
            ys = [rate for _, rate in one.points]
            top = max(top, *ys)
            plt.plot(
                [at - now for at, _ in one.points], ys, color=colours[one.status], marker="braille"
            )
        top = max(1.0, top * 1.15)
        plt.ylim(0, top)
        return top

    def _ratio_axes(self) -> None:
        # A log scale keeps a 1 % threshold and a 60 % injection both readable in 7 rows.
        # Drawn as log10 on a linear axis (plotext's own log axis mislabels ticks); 0 %
        # has no logarithm and sits on the floor, labelled "0".
        plt = self.plt
        ticks = [RATIO_FLOOR, *RATIO_TICKS]
        plt.yticks([_log(t) for t in ticks], ["0", *(f"{t:g}%" for t in RATIO_TICKS)])
        plt.ylim(_log(RATIO_FLOOR), _log(100.0))
        plt.hline(_log(self.thresholds.ratio_warning * 100), WARNING)
        plt.hline(_log(self.thresholds.ratio_critical * 100), CRITICAL)

    def _plot_ratio(
        self, points: tuple[Point, ...], now: float, colour: tuple[int, int, int]
    ) -> None:
        if points:
            xs = [at - now for at, _ in points]
            ys = [_log(100 * ratio) for _, ratio in points]
            self.plt.plot(xs, ys, color=colour, marker="braille")

    def _draw_ratio(self, snapshot: MetricsSnapshot) -> float:
        self._ratio_axes()
        every, app = snapshot.ratio_points()
        # Application errors are what would page someone; test errors are the gap above them.
        for points, colour in ((app if snapshot.split else (), APP_RATIO), (every, CRITICAL)):
            self._plot_ratio(points, snapshot.at, colour)
        return _log(100.0)

    def _draw_instances(self, snapshot: MetricsSnapshot) -> float:
        """The 5xx ratio of each instance, the worst drawn last (on top) in red."""
        self._ratio_axes()
        ranked = worst_first(snapshot.instances)
        for rank in range(len(ranked) - 1, -1, -1):
            self._plot_ratio(ranked[rank].ratio_points(), snapshot.at, instance_colour(rank))
        return _log(100.0)

    def _draw_spans(self, now: float, top: float) -> None:
        plt = self.plt
        low = now - self.span
        # Seconds one character of a label covers: labels that would overlap go a row down.
        per_char = self.span / max(10, (self.size.width or 80) - 8)
        rows: list[float] = [low - 1.0] * LABEL_ROWS  # where each row's last label ends
        for span in visible(self.spans, low, now):
            clipped = span.clipped(low, now)
            assert clipped is not None
            start, end = clipped
            colour = SPAN_COLOURS.get(span.kind, SPAN_COLOURS["mark"])
            plt.vline(start - now, colour)
            if span.end is not None and end > start:
                plt.vline(end - now, colour)
            free = next((row for row, taken in enumerate(rows) if taken < start), None)
            if free is None:
                continue  # no room: the line says where, the timeline says what
            # A mark's note or an alert's name: plotext's output is read back as ANSI text,
            # so an escape sequence in a label would be obeyed, not shown.
            label = for_terminal(span.label, one_line=True)
            rows[free] = start + (len(label) + 1) * per_char
            plt.text(label, start - now, top * (0.95 - 0.12 * free), color=colour)
