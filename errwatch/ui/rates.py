"""The rates panel: it owns the metrics poll, draws the chart and the current rates."""

from __future__ import annotations

import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static
from textual.worker import Worker, WorkerState
from textual_plotext import PlotextPlot

from errwatch.config import DashboardConfig
from errwatch.core.metrics import Backoff, MetricsSource
from errwatch.core.rates import MetricsSnapshot, SourceState, by_class, status_class

CLASS_COLOURS = {"2xx": "green", "3xx": "cyan", "4xx": "yellow", "5xx": "red"}


def _tick_label(seconds_ago: float) -> str:
    if seconds_ago == 0:
        return "now"
    minutes, seconds = divmod(int(seconds_ago), 60)
    return (
        f"-{minutes}m"
        if not seconds
        else f"-{minutes}m{seconds:02d}"
        if minutes
        else f"-{seconds}s"
    )


class RateChart(PlotextPlot):
    """Requests per second by status class over the chart range."""

    snapshot: reactive[MetricsSnapshot | None] = reactive(None)

    def __init__(self, span: float, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.span = span

    def watch_snapshot(self, snapshot: MetricsSnapshot | None) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.xlim(-self.span, 0)
        ticks = [-self.span * i / 4 for i in range(4, -1, -1)]
        plt.xticks(ticks, [_tick_label(-tick) for tick in ticks])
        plt.ylabel("req/s")
        if snapshot is None or not snapshot.series:
            plt.title("waiting for data" if snapshot is None else f"{snapshot.state}")
            self.refresh()
            return
        now = snapshot.at
        top = 0.0
        for series in by_class(snapshot.series):
            xs = [at - now for at, _ in series.points]
            ys = [rate for _, rate in series.points]
            if xs:
                top = max(top, *ys)
                plt.plot(
                    xs, ys, label=series.status, color=CLASS_COLOURS.get(series.status, "white")
                )
        plt.ylim(0, max(1.0, top * 1.15))
        self.refresh()


class RateSummary(Static):
    """The 5xx ratio, large and coloured against the thresholds, and the rate per status."""

    snapshot: reactive[MetricsSnapshot | None] = reactive(None)

    def __init__(self, thresholds: DashboardConfig, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.thresholds = thresholds

    def watch_snapshot(self, snapshot: MetricsSnapshot | None) -> None:
        ratio = snapshot.error_ratio() if snapshot else None
        level = "-ok"
        if ratio is not None and ratio >= self.thresholds.ratio_critical:
            level = "-critical"
        elif ratio is not None and ratio >= self.thresholds.ratio_warning:
            level = "-warning"
        for name in ("-ok", "-warning", "-critical"):
            self.set_class(name == level, name)
        text = Text()
        text.append("5xx ratio\n", "bold")
        text.append(f"{ratio:7.1%}\n" if ratio is not None else "     —\n", "bold")
        if snapshot is not None:
            for status, rate in sorted(snapshot.current().items()):
                colour = CLASS_COLOURS.get(status_class(status), "white")
                text.append(f"{status:>5} ", colour)
                text.append(f"{rate:8.2f}/s\n")
        self.update(text)


class RatesPanel(Horizontal):
    """Polls the metrics source in a thread, one poll at a time, with backoff on failure."""

    snapshot: reactive[MetricsSnapshot | None] = reactive(None)

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
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.source = source
        self.span = span
        self.thresholds = thresholds
        self.backoff = Backoff(refresh)
        self.polls = 0

    def compose(self) -> ComposeResult:
        yield RateChart(self.span, id="rate-chart")
        yield RateSummary(self.thresholds, id="rate-summary")

    def on_mount(self) -> None:
        self.border_title = "Request rate by status"
        self.poll()

    @work(thread=True, exclusive=True, exit_on_error=False, group="metrics")
    def poll(self) -> MetricsSnapshot:
        """One blocking poll, off the UI thread."""
        return self.source.poll()

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
                time.time(),
                previous.series if previous else (),
                detail=f"internal error: {worker.error!r}",
                data_at=previous.data_at if previous else None,
            )
            self.notify(f"metrics poll failed: {worker.error}", severity="error")
        self.polls += 1
        self.snapshot = snapshot
        delay = self.backoff.next_delay(snapshot.state.healthy)
        if self.is_attached:
            self.set_timer(delay, self.poll)

    def watch_snapshot(self, snapshot: MetricsSnapshot | None) -> None:
        if snapshot is None:
            return
        detail = snapshot.detail
        if detail and not snapshot.state.healthy:
            detail = f"{snapshot.state}: {detail}"
        self.border_subtitle = detail
        self.set_class(not snapshot.state.healthy, "-failing")
        self.query_one(RateChart).snapshot = snapshot
        self.query_one(RateSummary).snapshot = snapshot
        self.post_message(self.Updated(snapshot))

    def on_unmount(self) -> None:
        self.source.close()
