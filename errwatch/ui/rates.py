"""The rates panel: it owns the metrics poll, draws the chart, the 5xx ratio and the rates."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Digits
from textual.worker import Worker, WorkerState

from errwatch.config import DashboardConfig, PanelConfig
from errwatch.core.incident.spans import Span
from errwatch.core.metrics.polling import Backoff, MetricsSource
from errwatch.core.metrics.rates import MetricsSnapshot, SourceState, status_class, worst_first
from errwatch.core.textsafe import for_terminal, plain
from errwatch.core.units import format_duration
from errwatch.ui.chartstyle import (
    CLASS_COLOURS,
    ChartView,
    instance_colour,
    rich_colour,
    series_colours,
)
from errwatch.ui.panels import PanelStrip

if TYPE_CHECKING:
    from errwatch.ui.chart import RateChart
from errwatch.ui.readout import Readout, set_title

T = TypeVar("T")

# States whose data is a warning (the engine answers, the data says something is off),
# as opposed to failures (no answer at all).
_WARNING_STATES = (SourceState.STALE, SourceState.TARGET_DOWN, SourceState.NO_DATA)
TITLES = {
    ChartView.CLASS: "Requests/s by status class",
    ChartView.CODE: "Requests/s by status code",
    ChartView.RATIO: "5xx ratio: all routes (red), application only (orange)",
    ChartView.INSTANCE: "5xx ratio by instance, worst first (red)",
}
CLASSES_ONLY_TITLE = "Requests/s by status class (the exporter gives classes only, no codes)"
ESTIMATED_RATIO_TITLE = "5xx ratio: all routes (red), application only, estimated (orange)"


def title_of(view: ChartView, snapshot: MetricsSnapshot | None) -> str:
    """The chart's title: the view, and what the data cannot give (codes, an exact split)."""
    if snapshot is not None and view is ChartView.CODE and snapshot.classes_only:
        return CLASSES_ONLY_TITLE
    if snapshot is not None and view is ChartView.RATIO and snapshot.estimated:
        return ESTIMATED_RATIO_TITLE
    return TITLES[view]


async def in_daemon_thread(call: Callable[[], T]) -> T:
    """``call()`` in a daemon thread, awaited.

    Not a thread worker: those run in the loop's default executor, whose threads are
    joined at exit, so a query stuck on a silent Prometheus would hold ``q`` for the
    whole timeout. A daemon thread is left behind instead, and the poll is cancelled.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():  # cancelled when the panel went away
            outcome()

    def run() -> None:
        try:
            result = call()
        except BaseException as error:  # noqa: BLE001 (handed to the awaiting worker as is)
            outcome = partial(future.set_exception, error)
        else:
            outcome = partial(future.set_result, result)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=run, name="errwatch-metrics-poll", daemon=True).start()
    return await future


def ratio_level(ratio: float | None, thresholds: DashboardConfig) -> str:
    """The class for a ratio against the thresholds: -ok, -warning or -critical."""
    if ratio is not None and ratio >= thresholds.ratio_critical:
        return "-critical"
    if ratio is not None and ratio >= thresholds.ratio_warning:
        return "-warning"
    return "-ok"


def format_ratio(ratio: float | None) -> str:
    """12.3%, or an em dash when there is no traffic to divide by."""
    return "—" if ratio is None else f"{ratio:.1%}"


def rate_table(rates: dict[str, float], height: int) -> Text:
    """The rate per status, coloured as in the chart; two narrower columns when one
    would not fit in ``height`` rows (0: no limit known yet)."""
    colours = series_colours(list(rates))
    columns = 2 if 0 < height < len(rates) else 1
    cells = []
    for status in sorted(rates):
        cell = Text()
        cell.append(for_terminal(status, one_line=True), rich_colour(colours[status]))
        cell.append(f" {rates[status]:7.2f}/s" if columns == 1 else f" {rates[status]:5.1f}")
        cells.append(cell)
    rows = -(-len(cells) // columns)
    lines = []
    for row in range(rows):
        line = Text()
        for index in range(row, len(cells), rows):
            line.append_text(cells[index] if not line else Text(" ") + cells[index])
        lines.append(line)
    return Text("\n").join(lines)


class RateSummary(Vertical):
    """The 5xx ratio large and coloured against the thresholds, the application/test
    split, and the current rate per status (the chart's legend too)."""

    # Containers draw nothing themselves: their watchers update their children, so the
    # assignment itself needs no repaint (it would repaint every child once per poll).
    snapshot: reactive[MetricsSnapshot | None] = reactive(None, repaint=False)
    view: reactive[ChartView] = reactive(ChartView.CLASS, repaint=False)

    def __init__(self, thresholds: DashboardConfig, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.thresholds = thresholds

    def compose(self) -> ComposeResult:
        with Horizontal(id="ratio-row"):
            yield Digits("-", id="ratio-digits")
            yield Readout("5xx\nratio", id="ratio-label")
        yield Readout("", id="ratio-split")
        yield Readout("", id="rate-table")

    def watch_snapshot(self) -> None:
        self.redraw()

    def watch_view(self) -> None:
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Show the snapshot's current values; dimmed, with their age, when not current."""
        if not self.is_mounted:
            return
        snapshot = self.snapshot
        ratio = snapshot.error_ratio() if snapshot else None
        level = ratio_level(ratio, self.thresholds)
        for name in ("-ok", "-warning", "-critical"):
            self.set_class(name == level, name)
        current = snapshot is not None and snapshot.state.healthy
        self.set_class(snapshot is not None and not current, "-old")
        self.query_one("#ratio-label", Readout).show(self._label(snapshot, ratio))
        digits = self.query_one("#ratio-digits", Digits)
        shown = "-" if ratio is None else f"{ratio * 100:.1f}%"
        if digits.value != shown:  # an update repaints even when the value is the same
            digits.update(shown)
        self.query_one("#ratio-split", Readout).show(self._split(snapshot))
        table = self.query_one("#rate-table", Readout)
        if snapshot is not None and self.view is ChartView.INSTANCE:
            table.show(instance_table(snapshot, table.size.height))
            return
        rates: dict[str, float] = {}
        if snapshot is not None:
            rates = snapshot.current()
            if self.view is not ChartView.CODE:
                rates = _sum_by_class(rates)
        table.show(rate_table(rates, table.size.height))

    def _label(self, snapshot: MetricsSnapshot | None, ratio: float | None) -> Text:
        label = Text("5xx\nratio\n", "bold")
        if snapshot is None:
            return label
        if not snapshot.series:
            label.append("no data" if snapshot.state.answered else "", "dim")
        elif not snapshot.state.healthy and snapshot.age is not None:
            label.append(f"{format_duration(round(snapshot.age))} old", "italic")
        elif ratio is None:
            label.append("no req", "dim")
        return label

    def _split(self, snapshot: MetricsSnapshot | None) -> Text:
        if snapshot is None or not snapshot.series:
            return Text("")
        if not snapshot.split:
            return Text("all routes (no split)", "dim")
        app = snapshot.app_error_ratio()
        level = ratio_level(app, self.thresholds)
        style = {"-ok": "", "-warning": rich_colour(CLASS_COLOURS["4xx"])}.get(
            level, rich_colour(CLASS_COLOURS["5xx"])
        )
        text = Text("app ")
        text.append(format_ratio(app), f"bold {style}".strip())
        if snapshot.estimated:
            text.append(" est.", "italic")
        text.append(f" test {snapshot.test_error_rate():.1f}/s")
        return text


def instance_table(snapshot: MetricsSnapshot, height: int) -> Text:
    """Each instance's 5xx ratio, the worst first, coloured as in the chart."""
    ranked = worst_first(snapshot.instances)
    lines = []
    for rank, one in enumerate(ranked[: height or len(ranked)]):
        line = plain(one.instance or "?", rich_colour(instance_colour(rank)), one_line=True)
        line.append(f" {format_ratio(one.current_ratio())}")
        lines.append(line)
    return Text("\n").join(lines)


def _sum_by_class(rates: dict[str, float]) -> dict[str, float]:
    classes: dict[str, float] = {}
    for status, rate in rates.items():
        name = status_class(status)
        classes[name] = classes.get(name, 0.0) + rate
    return classes


class RatesPanel(Vertical):
    """Polls the metrics source in a thread, one poll at a time, with backoff on failure."""

    snapshot: reactive[MetricsSnapshot | None] = reactive(None, repaint=False)
    view: reactive[ChartView] = reactive(ChartView.CLASS, repaint=False)
    spans: reactive[tuple[Span, ...]] = reactive((), repaint=False)
    """Marked on the chart: injection windows, alerts (set by the app)."""

    class Updated(Message):
        """A poll finished; the parent shows the state in the header."""

        def __init__(self, snapshot: MetricsSnapshot) -> None:
            super().__init__()
            self.snapshot = snapshot

    def __init__(
        self,
        source: MetricsSource,
        *,
        refresh: float,
        span: float,
        thresholds: DashboardConfig,
        panels: tuple[PanelConfig, ...] = (),
        clock: Callable[[], float] = time.time,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.source = source
        self.span = span
        self.thresholds = thresholds
        self.panels = panels
        self.backoff = Backoff(refresh)
        self.clock = clock
        self.polls = 0
        self.chart: RateChart | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="rate-row"):
            with Vertical(id="rate-main"):
                yield Readout("", fixed=False, id="rate-message")
            yield RateSummary(self.thresholds, id="rate-summary")
        yield PanelStrip(self.panels, id="panel-strip")

    def on_mount(self) -> None:
        set_title(self, title_of(self.view, self.snapshot))
        message = self.query_one("#rate-message", Readout)
        message.show(Text.assemble((str(SourceState.CONNECTING), "bold"), ": first poll…"))
        self.add_class("-no-chart")
        self.poll()
        # plotext is not needed for the first frame (and costs time to import): the chart
        # comes right after it.
        self.call_after_refresh(self._mount_chart)

    async def _mount_chart(self) -> None:
        from errwatch.ui.chart import RateChart

        chart = RateChart(self.span, self.thresholds, id="rate-chart")
        chart.display = False
        await self.query_one("#rate-main").mount(chart)
        self.chart = chart
        chart.view = self.view
        chart.spans = self.spans
        if self.snapshot is not None:
            self._show_chart(self.snapshot)

    def _show_chart(self, snapshot: MetricsSnapshot) -> None:
        if self.chart is not None:
            # An empty frame says nothing; the message takes the room and says why instead.
            self.chart.display = bool(snapshot.series)
            self.chart.snapshot = snapshot

    def cycle_view(self) -> None:
        """By class -> by code -> 5xx ratio (-> by instance, with several) -> by class."""
        instances = len(self.snapshot.instances) if self.snapshot is not None else 1
        self.view = self.view.next(instances=instances)

    def watch_view(self, view: ChartView) -> None:
        set_title(self, title_of(view, self.snapshot))
        if self.chart is not None:
            self.chart.view = view
        self.query_one(RateSummary).view = view

    def watch_spans(self, spans: tuple[Span, ...]) -> None:
        if self.chart is not None:
            self.chart.spans = spans

    @work(exclusive=True, exit_on_error=False, group="metrics")
    async def poll(self) -> MetricsSnapshot:
        """One blocking poll, off the UI thread."""
        return await in_daemon_thread(self.source.poll)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "metrics" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        event.stop()
        if event.state is WorkerState.SUCCESS and isinstance(worker.result, MetricsSnapshot):
            snapshot = worker.result
        else:
            previous = self.snapshot
            snapshot = MetricsSnapshot(
                SourceState.QUERY_ERROR,
                self.clock(),
                previous.series if previous else (),
                detail=f"internal error: {worker.error!r}",
                data_at=previous.data_at if previous else None,
            )
            self.notify(f"metrics poll failed: {worker.error}", severity="error")
        self.polls += 1
        self.snapshot = snapshot
        # The next poll is scheduled only now that this one is over: polls never overlap.
        delay = self.backoff.next_delay(snapshot.state)
        if self.is_attached:
            self.set_timer(delay, self.poll)

    def watch_snapshot(self, snapshot: MetricsSnapshot | None) -> None:
        if snapshot is None:
            return
        set_title(self, title_of(self.view, snapshot))
        message = self.query_one("#rate-message", Readout)
        message.show(_message(snapshot))
        message.display = bool(snapshot.detail or snapshot.notes) or not snapshot.state.healthy
        failing = not snapshot.state.answered
        self.set_class(failing, "-failing")
        self.set_class(not snapshot.series, "-no-chart")
        self.set_class(snapshot.state in _WARNING_STATES, "-warning")
        self._show_chart(snapshot)
        self.query_one(RateSummary).snapshot = snapshot
        self.query_one(PanelStrip).readings = snapshot.panels
        self.post_message(self.Updated(snapshot))

    def on_unmount(self) -> None:
        self.source.close()


def _message(snapshot: MetricsSnapshot) -> Text:
    """The state and its explanation, in full (a bad query's message verbatim), then what
    a person must know about the data (values left out, counters going backwards)."""
    # The detail and the notes quote the engine (its error, label values): plain text.
    if snapshot.state is SourceState.UP:
        text = plain(snapshot.detail)
    else:
        text = Text(str(snapshot.state), "bold")
        if snapshot.detail:
            text.append(f": {for_terminal(snapshot.detail)}")
    for note in snapshot.notes:
        text.append(("\n" if text else "") + for_terminal(note))
    return text
