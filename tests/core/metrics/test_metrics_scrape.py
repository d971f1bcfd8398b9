"""The direct-scrape fallback (no Prometheus) against the real demo API: rates from counter
deltas, the test/application split, a restart's counter reset, the API going away."""

from __future__ import annotations

import time

import httpx

from errwatch.config import PrometheusConfig
from errwatch.core.metrics.rates import SourceState
from errwatch.core.metrics.scrape import ScrapeSource
from errwatch.demo.stack import DemoApi
from tests.loopback import Reply, loopback


def source(api: DemoApi, **cfg: object) -> ScrapeSource:
    settings: dict[str, object] = {"rate_window": 5.0, "refresh": 0.2, "timeout": 1.0}
    settings.update(cfg)
    return ScrapeSource(
        f"{api.url}/metrics",
        PrometheusConfig(**settings),  # type: ignore[arg-type]
        injection_route="/error",
    )


def burst(api: DemoApi, ok: int = 6, errors: int = 3) -> None:
    with httpx.Client(base_url=api.url, timeout=2) as client:
        for _ in range(ok):
            client.get("/api/users")
        for _ in range(errors):
            client.get("/error")


def test_rates_by_status_with_test_errors_told_apart(demo_api: DemoApi) -> None:
    scrape = source(demo_api)
    first = scrape.poll()
    assert first.state is SourceState.NO_DATA
    assert first.detail == "a rate needs two scrapes: waiting for the next one"
    burst(demo_api)
    time.sleep(0.2)
    snapshot = scrape.poll()
    assert snapshot.state is SourceState.UP and snapshot.mode == "direct scrape"
    now = snapshot.current()
    assert now["200"] > 0 and now["500"] > 0
    assert snapshot.current_test() == {"500": now["500"]}  # every 500 came from /error
    assert snapshot.app_error_ratio() == 0.0
    scrape.close()


def test_a_restart_resets_the_counters_without_a_negative_rate(demo_api: DemoApi) -> None:
    scrape = source(demo_api)
    burst(demo_api, ok=20)
    scrape.poll()
    burst(demo_api, ok=20)
    before = scrape.poll()
    demo_api.restart()  # every counter back to 0, below what was read last
    burst(demo_api, ok=3)
    after = scrape.poll()
    assert after.state is SourceState.UP
    points = [p for series in after.series for p in series.points]
    assert points and all(rate >= 0 for _, rate in points)
    # The 3 requests after the restart count, nothing is subtracted.
    assert after.current()["200"] > 0
    assert before.current()["200"] > 0
    scrape.close()


def test_the_api_going_away_keeps_the_data_and_says_so(demo_api: DemoApi) -> None:
    scrape = source(demo_api)
    scrape.poll()
    burst(demo_api)
    good = scrape.poll()
    demo_api.stop()
    gone = scrape.poll()
    assert gone.state is SourceState.UNREACHABLE
    assert gone.detail == f"connection refused: nothing listens on {demo_api.host_port}"
    assert gone.series == good.series and gone.data_at == good.data_at
    scrape.close()


def test_a_metric_the_app_does_not_expose_is_no_data(demo_api: DemoApi) -> None:
    snapshot = source(demo_api, metric="errwatch_nope_total").poll()
    assert snapshot.state is SourceState.NO_DATA
    assert snapshot.detail == f"no errwatch_nope_total in {demo_api.url}/metrics"


def test_a_body_that_is_not_an_exposition_is_a_query_error() -> None:
    with loopback() as server:
        server.reply = Reply(content_type="text/plain", body=b"{ oops")
        scrape = ScrapeSource(f"{server.url}/metrics", PrometheusConfig())
        snapshot = scrape.poll()
        scrape.close()
    assert snapshot.state is SourceState.QUERY_ERROR
    assert snapshot.detail.startswith("unreadable /metrics:")
