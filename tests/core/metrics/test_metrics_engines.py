"""The source against real engines (Prometheus 2.42 and VictoriaMetrics), same scenario each."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from errwatch.config import PrometheusConfig
from errwatch.core.metrics.polling import Backoff
from errwatch.core.metrics.rates import MetricsSnapshot, SourceState
from errwatch.core.metrics.source import PrometheusSource
from errwatch.demo.process import free_port
from errwatch.demo.prometheus import PrometheusServer
from errwatch.demo.stack import DemoApi
from tests.conftest import poll_until
from tests.engines import EngineStack


def traffic(api_url: str, *, ok: int = 5, errors: int = 2, missing: int = 1) -> None:
    """A burst of requests: 200s, 500s on the injection route, 404s."""
    with httpx.Client(base_url=api_url, timeout=2) as client:
        for _ in range(ok):
            client.get("/api/users")
        for _ in range(errors):
            client.get("/error")
        for _ in range(missing):
            client.get("/api/users/999")


PINNED = {"metric": "http_requests_total", "status_label": "status", "route_label": "endpoint"}


def test_up_with_rates_by_status_and_test_errors_told_apart(engine: EngineStack) -> None:
    # Nothing named: the job, instance, metric and labels are found (config: URLs only).
    source = PrometheusSource(engine.config(), injection_route="/error", target_url=engine.api.url)

    def all_three(s: MetricsSnapshot) -> bool:
        now = s.current()
        return all(now.get(code, 0) > 0 for code in ("200", "404", "500"))

    snapshot = poll_until(
        source,
        all_three,
        20,
        "200, 404 and 500 rates",
        between=lambda: traffic(engine.api.url),
        pause=0.25,
    )
    assert snapshot.state is SourceState.UP
    assert snapshot.split
    # Every 500 came from /error, the injection route: test errors, not the application's.
    assert snapshot.current_test()["500"] == pytest.approx(snapshot.current()["500"])
    assert snapshot.app_error_ratio() == 0.0
    assert snapshot.error_ratio() is not None and snapshot.error_ratio() > 0.1
    assert snapshot.age is not None and snapshot.age < 3.0
    instance = engine.api.host_port
    assert snapshot.found == (
        f'http_requests_total{{job="api", instance="{instance}"}} status status, route endpoint'
    )
    assert (
        source.query.count(f'{{job="api",instance="{instance}"}}') == 13
    )  # every selector, up included
    assert snapshot.instances_up == (1, 1)
    source.close()


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        (
            {**PINNED, "job": "api", "instance": "", "selector": 'env="nope"'},
            'no series match http_requests_total{job="api",env="nope"}',
        ),
        (
            {**PINNED, "metric": "errwatch_nope_total", "job": "nope", "instance": ""},
            'no series match errwatch_nope_total{job="nope"}; no up{job="nope"} either '
            "(not scraped yet, or another job name?)",
        ),
    ],
    ids=["selector-matches-nothing", "unknown-metric-and-job"],
)
def test_no_data_is_its_own_state_never_zero(
    engine: EngineStack, overrides: dict[str, str], detail: str
) -> None:
    snapshot = PrometheusSource(engine.config(**overrides)).poll()
    assert snapshot.state is SourceState.NO_DATA
    assert snapshot.series == () and snapshot.error_ratio() is None
    assert snapshot.detail == detail


def test_an_api_no_target_has_is_no_data_saying_what_was_looked_for(engine: EngineStack) -> None:
    snapshot = PrometheusSource(engine.config(), target_url="http://localhost:1").poll()
    assert snapshot.state is SourceState.NO_DATA
    assert snapshot.detail.startswith(
        "no scrape target has the API's address localhost:1 (is the API scraped?"
    )
    assert f"closest: api: {engine.api.host_port} (up)" in snapshot.detail


def test_bad_promql_shows_the_engines_message_verbatim_and_is_not_retried_fast(
    engine: EngineStack,
) -> None:
    source = PrometheusSource(engine.config(**PINNED, job="api", instance="", selector='job=~"('))
    snapshot = source.poll()
    assert snapshot.state is SourceState.BAD_QUERY
    # What the engine itself says about that query, fetched directly.
    now = time.time()
    answer = httpx.get(
        f"{engine.url}/api/v1/query_range",
        params={"query": source.query, "start": now - 300, "end": now, "step": 1},
    ).json()
    message: str = answer["error"]
    if engine.name == "prometheus":
        assert snapshot.detail == message
    else:  # VictoriaMetrics repeats the time range in its message; the rest is the same
        assert snapshot.detail.split(": cannot", 1)[1] == message.split(": cannot", 1)[1]
    assert Backoff(refresh=1.0).next_delay(snapshot.state) == 30.0


def test_counter_reset_never_goes_negative_and_a_stopped_api_is_target_down(
    engine: EngineStack,
) -> None:
    source = PrometheusSource(engine.config(), injection_route="/error", target_url=engine.api.url)
    burst = lambda: traffic(engine.api.url, ok=10, errors=0, missing=0)  # noqa: E731
    poll_until(
        source, lambda s: s.current().get("200", 0) > 0, 20, "traffic", between=burst, pause=0.25
    )

    engine.api.restart()  # same port; every counter starts again from 0
    seen: list[MetricsSnapshot] = []
    after_reset = poll_until(
        source,
        lambda s: s.state is SourceState.UP and s.current().get("200", 0) > 0 and len(seen) > 8,
        20,
        "rates after the reset",
        between=burst,
        seen=seen,
        pause=0.25,
    )
    negative = [p for s in seen for one in s.series for p in one.points if p[1] < 0]
    assert not negative
    assert after_reset.current()["200"] > 0

    engine.api.stop()
    down = poll_until(
        source, lambda s: s.state is SourceState.TARGET_DOWN, 15, "target down", pause=0.25
    )
    said, why = down.detail.split("; last scrape: ", 1)
    instance = engine.api.host_port
    assert (
        said == f'up{{job="api",instance="{instance}"}} is 0 for its target: down, not "no traffic"'
    )
    assert why.startswith("dial tcp") and "connect: connection refused" in why  # engine's words

    engine.api.start()
    poll_until(source, lambda s: s.state is SourceState.UP, 20, "the target back up", pause=0.25)
    source.close()


def test_a_prometheus_down_at_start_is_a_state_then_discovery_finds_the_api(
    prometheus_bin: str, demo_api: DemoApi, tmp_path: Path
) -> None:
    port = free_port()
    source = PrometheusSource(
        PrometheusConfig(url=f"http://127.0.0.1:{port}", timeout=1.0),
        injection_route="/error",
        target_url=demo_api.url,
    )
    down = source.poll()
    assert down.state is SourceState.UNREACHABLE
    assert down.detail == f"connection refused: nothing listens on 127.0.0.1:{port}"
    assert source.discovery is None
    server = PrometheusServer(prometheus_bin, tmp_path, [demo_api.host_port], job="web", port=port)
    server.start()
    try:
        up = poll_until(
            source,
            lambda s: s.state is SourceState.UP and bool(s.series),
            30,
            "discovery once Prometheus is up",
            between=lambda: traffic(demo_api.url),
            pause=0.25,
        )
    finally:
        server.stop()
        source.close()
    assert up.found.startswith(f'http_requests_total{{job="web", instance="{demo_api.host_port}"}}')
