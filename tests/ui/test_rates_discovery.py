"""What discovery found, in the dashboard: the series read in the header, instances up, the
estimated split, classes only, notes, and the "by instance" view, worst first."""

from __future__ import annotations

from dataclasses import replace

from errwatch.core.metrics.rates import InstanceRates, MetricsSnapshot, RateSeries, by_class
from errwatch.ui.chart import ChartView, RateChart
from errwatch.ui.header import StatusBar
from tests.ui import scenes
from tests.ui.recorded import RecordedSource
from tests.ui.test_rates import first_poll, make_app, text_of

FOUND = 'http_requests_total{job="shop", instance="10.0.0.7:8000"} status status, route handler'


def flat(status: str, rate: float) -> RateSeries:
    return RateSeries(status, tuple((scenes.AT - 300 + i, rate) for i in range(301)))


def replicas() -> MetricsSnapshot:
    """Three replicas of one job, the second failing; one of four targets down."""
    healthy = (flat("200", 4.0),)
    instances = (
        InstanceRates("10.0.0.7:8000", healthy),
        InstanceRates("10.0.0.8:8000", (flat("200", 2.0), flat("500", 2.0))),
        InstanceRates("10.0.0.9:8000", (flat("200", 3.0), flat("500", 0.3))),
    )
    live = scenes.live()
    return replace(
        live,
        instances=instances,
        instances_up=(3, 4),
        found=FOUND,
        notes=("status values left out (not HTTP statuses): total",),
    )


async def test_the_header_says_what_is_read_and_how_many_instances_are_up() -> None:
    app = make_app(RecordedSource([replicas()]))
    async with app.run_test(size=(120, 32)) as pilot:
        await first_poll(pilot, app)
        header = text_of(app.query_one(StatusBar))
        assert "3/4 instances up" in header
        assert FOUND in header
        message = text_of(app.query_one("#rate-message"))
        assert "status values left out (not HTTP statuses): total" in message


async def test_by_instance_shows_the_worst_first() -> None:
    app = make_app(RecordedSource([replicas()]))
    async with app.run_test(size=(120, 32)) as pilot:
        panel = await first_poll(pilot, app)
        for _ in range(3):
            await pilot.press("c")
        assert app.query_one(RateChart).view is ChartView.INSTANCE
        assert panel.border_title == "5xx ratio by instance, worst first (red)"
        table = text_of(app.query_one("#rate-table")).splitlines()
        assert table == ["10.0.0.8:8000 50.0%", "10.0.0.9:8000 9.1%", "10.0.0.7:8000 0.0%"]
        await pilot.press("c")
        assert app.query_one(RateChart).view is ChartView.CLASS


async def test_one_instance_has_no_by_instance_view() -> None:
    app = make_app(RecordedSource([scenes.live()]))
    async with app.run_test(size=(80, 24)) as pilot:
        await first_poll(pilot, app)
        views = []
        for _ in range(3):
            await pilot.press("c")
            views.append(app.query_one(RateChart).view)
        assert views == [ChartView.CODE, ChartView.RATIO, ChartView.CLASS]


async def test_classes_only_and_an_estimated_split_are_said() -> None:
    live = scenes.injecting()
    classes = replace(
        live,
        series=by_class(live.series),
        test_series=by_class(live.test_series),
        classes_only=True,
        estimated=True,
    )
    app = make_app(RecordedSource([classes]))
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await first_poll(pilot, app)
        assert "est." in text_of(app.query_one("#ratio-split"))
        await pilot.press("c")
        assert panel.border_title == (
            "Requests/s by status class (the exporter gives classes only, no codes)"
        )
        assert "5xx" in text_of(app.query_one("#rate-table"))
        await pilot.press("c")
        assert "application only, estimated" in panel.border_title


def test_by_instance_comes_only_with_several_instances() -> None:
    assert ChartView.RATIO.next(instances=1) is ChartView.CLASS
    assert ChartView.RATIO.next(instances=3) is ChartView.INSTANCE
    assert ChartView.INSTANCE.next(instances=3) is ChartView.CLASS
    assert ChartView.INSTANCE.next(instances=1) is ChartView.CLASS  # an instance went away
