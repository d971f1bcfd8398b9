"""The whole loop against a real demo API and a real Prometheus, driven with Pilot."""

from __future__ import annotations

import time

import httpx
from textual.pilot import Pilot

from errwatch.config import Config, InjectionConfig, LogConfig, PrometheusConfig, TargetConfig
from errwatch.core.metrics.rates import SourceState
from errwatch.demo.prometheus import PrometheusServer
from errwatch.demo.stack import BackgroundTraffic, DemoApi
from errwatch.sources import build_sources
from errwatch.ui.app import ErrwatchApp
from errwatch.ui.chart import RateChart
from errwatch.ui.header import StatusBar
from errwatch.ui.injection import InjectionPanel
from errwatch.ui.tracebacks import TracebackPanel
from tests.conftest import api_counter
from tests.ui.helpers import chart_of, wait_for


def make_app(api: DemoApi, prometheus_url: str, *, guard_ratio: float = 0.05) -> ErrwatchApp:
    config = Config(
        target=TargetConfig(url=api.url),
        prometheus=PrometheusConfig(url=prometheus_url, refresh=0.5, timeout=1.0),
        logs=(LogConfig(path=str(api.log_file)),),
        injection=InjectionConfig(rate=20, duration=120, guard_ratio=guard_ratio),
    )
    sources = build_sources(config)
    return ErrwatchApp(
        config, metrics=sources.metrics, tracebacks=sources.tracebacks, injector=sources.injector
    )


def zero_division_count(app: ErrwatchApp) -> int:
    update = app.query_one(TracebackPanel).update
    if update is None:
        return 0
    return sum(g.count for g in update.groups if g.type == "ZeroDivisionError")


async def scraped_chart(pilot: Pilot[None], app: ErrwatchApp) -> RateChart:
    """The rate chart, once Prometheus has scraped the API and the chart shows it."""
    chart = await chart_of(pilot, app)
    await wait_for(
        pilot,
        lambda: chart.snapshot is not None and chart.snapshot.state is SourceState.UP,
        20,
        "Prometheus to scrape the API",
    )
    return chart


async def test_inject_then_stop_both_panels_react_and_nothing_arrives_after_stop(
    demo_api: DemoApi, prometheus: PrometheusServer
) -> None:
    app = make_app(demo_api, prometheus.url)
    async with app.run_test(size=(80, 24)) as pilot:
        chart = await scraped_chart(pilot, app)
        # The header follows through a message: one turn of the loop later.
        bar = app.query_one(StatusBar)
        await wait_for(pilot, lambda: bar.snapshot is chart.snapshot, 2, "the header to follow")
        assert chart.snapshot is not None
        assert chart.snapshot.current().get("500", 0.0) == 0.0

        await pilot.click("#inject")
        await wait_for(
            pilot,
            lambda: chart.snapshot is not None and chart.snapshot.current().get("500", 0.0) > 1.0,
            15,
            "the 500 rate to rise in the chart's data",
        )
        await wait_for(pilot, lambda: zero_division_count(app) > 0, 10, "a ZeroDivisionError group")
        first = zero_division_count(app)
        await wait_for(pilot, lambda: zero_division_count(app) > first, 10, "the count to grow")
        [group] = [g for g in app.query_one(TracebackPanel).update.groups]  # type: ignore[union-attr]
        assert group.location is not None and group.location.function == "error"
        assert group.injected == group.count

        await pilot.pause(0.3)
        await pilot.click("#inject")
        panel = app.query_one(InjectionPanel)
        stopped = time.time()
        await wait_for(pilot, lambda: not panel.injector.running, 5, "injection to stop")
        stats = panel.injector.stats()
        assert stats.stopped_by == "user"
        assert panel.injector.last_request_started <= stopped
        at_stop = api_counter(demo_api.url, "/error", "500")
        assert at_stop == stats.sent  # every request sent was answered and counted
        await pilot.pause(1.0)  # a window in which nothing may arrive
        assert api_counter(demo_api.url, "/error", "500") == at_stop
        await wait_for(
            pilot, lambda: zero_division_count(app) == stats.sent, 10, "every traceback counted"
        )


async def test_a_dead_prometheus_is_a_state_not_a_crash(demo_api: DemoApi) -> None:
    from errwatch.demo.process import free_port

    app = make_app(demo_api, f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(80, 24)) as pilot:
        bar = app.query_one(StatusBar)
        await wait_for(
            pilot,
            lambda: bar.snapshot is not None and bar.snapshot.state is SourceState.UNREACHABLE,
            5,
            "the unreachable state",
        )
        assert "unreachable" in str(bar.render())
        await pilot.press("f")
        await wait_for(pilot, lambda: app.query_one(InjectionPanel).injector.running, 2, "inject")
        await pilot.press("f")


async def test_the_guard_aborts_injection_on_real_application_errors(
    demo_api: DemoApi, prometheus: PrometheusServer
) -> None:
    traffic = BackgroundTraffic(demo_api.url, rate=20)
    traffic.start()
    app = make_app(demo_api, prometheus.url, guard_ratio=0.05)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            chart = await scraped_chart(pilot, app)
            panel = app.query_one(InjectionPanel)
            await pilot.press("f")
            await wait_for(pilot, lambda: panel.injector.running, 2, "injection to start")
            # Injected errors alone never trip the guard: it watches the other routes.
            await wait_for(
                pilot,
                lambda: (
                    chart.snapshot is not None
                    and chart.snapshot.test_error_rate() > 5
                    and panel.errors is not None
                ),
                15,
                "injected 5xx in the metrics",
            )
            assert panel.injector.running
            switched = httpx.post(
                f"{demo_api.url}/_test/failures",
                json={"route": "/api/users/<int:user_id>", "ratio": 1.0},
            )
            assert switched.status_code == 200
            await wait_for(pilot, lambda: not panel.injector.running, 20, "the guard")
            stats = panel.injector.stats()
            assert stats.stopped_by == "guard"
            assert "application 5xx ratio" in stats.detail
    finally:
        traffic.stop()
