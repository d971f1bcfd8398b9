"""Failure shapes a real engine will not produce on demand, through the real HTTP client:
each one is a state a person can read, and the last good data is kept with its age."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from errwatch.config import AuthConfig, PanelConfig, PrometheusConfig
from errwatch.core.metrics.panels import PanelState
from errwatch.core.metrics.rates import SourceState
from errwatch.core.metrics.source import PrometheusSource
from errwatch.demo.process import free_port
from tests.loopback import Loopback, Reply, loopback, matrix, vector

NOW = 1_800_000_000.0
PINNED: dict[str, object] = {
    "metric": "http_requests_total",
    "status_label": "status",
    "route_label": "endpoint",
    "job": "api",
    "instance": "",
}
"""These failure shapes are about the rate query: the series is named, nothing discovered."""
UP = vector(({"job": "api", "instance": "a:1"}, NOW, "1"))
RATES = matrix(
    ({"status": "200"}, [(NOW - 2, "3"), (NOW - 1, "3"), (NOW, "4")]),
    ({"status": "500", "errwatch_part": "test"}, [(NOW - 1, "1"), (NOW, "2")]),
)


def source(server: Loopback, **cfg: object) -> PrometheusSource:
    settings: dict[str, object] = {"url": server.url, "timeout": 0.5, "range": 60.0, **PINNED}
    settings.update(cfg)
    return PrometheusSource(
        PrometheusConfig(**settings),  # type: ignore[arg-type]
        injection_route="/error",
        clock=lambda: NOW,
    )


def answer(rates: Reply, up: Reply = UP, scrape: Reply | None = None) -> Callable[[str], Reply]:
    """The engine's answers: ``up`` to instant queries, ``rates`` to range queries and
    ``scrape`` (or ``rates``, unreadable there) to ``/api/v1/targets``."""

    def route(path: str) -> Reply:
        if path.startswith("/api/v1/query?"):
            return up
        if path.startswith("/api/v1/targets") and scrape is not None:
            return scrape
        return rates

    return route


def test_503_with_a_plain_text_body_is_prometheus_starting() -> None:
    with loopback() as server:
        server.reply = Reply(503, "text/plain; charset=utf-8", b"Service Unavailable")
        snapshot = source(server).poll()
    assert snapshot.state is SourceState.STARTING
    assert snapshot.detail == "503 Service Unavailable"


def test_503_with_a_json_error_is_a_query_error_not_starting() -> None:
    body = {
        "status": "error",
        "errorType": "timeout",
        "error": "query timed out in query execution",
    }
    with loopback() as server:
        server.reply = Reply(503, "application/json", json.dumps(body).encode())
        snapshot = source(server).poll()
    assert snapshot.state is SourceState.QUERY_ERROR
    assert snapshot.detail == "timeout: query timed out in query execution"


def test_a_proxys_html_502_says_bad_gateway_not_a_wall_of_html() -> None:
    page = (
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
        b"</body>\r\n</html>\r\n"
    )
    with loopback() as server:
        server.reply = Reply(502, "text/html", page)
        snapshot = source(server).poll()
    assert snapshot.state is SourceState.QUERY_ERROR
    assert snapshot.detail.startswith("HTTP 502: 502 Bad Gateway")
    assert "proxy" in snapshot.detail and "<" not in snapshot.detail


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body=RATES.body[: len(RATES.body) // 2]),  # valid length, JSON cut in half
        Reply(body=RATES.body[:40], length=len(RATES.body)),  # the connection drops mid-body
        Reply(content_type="text/html", body=b"<html>login page</html>"),  # a 200 from a portal
    ],
    ids=["truncated-json", "short-body", "not-json"],
)
def test_an_unreadable_answer_is_a_query_error_and_keeps_the_last_data(reply: Reply) -> None:
    with loopback() as server:
        server.route = answer(RATES)
        src = source(server)
        good = src.poll()
        server.route = None
        server.reply = reply
        bad = src.poll()
    assert good.state is SourceState.UP
    assert bad.state is SourceState.QUERY_ERROR
    assert bad.detail.startswith("unreadable answer")
    assert bad.series == good.series  # kept
    assert bad.data_at == good.data_at


def test_nan_and_inf_leave_gaps_never_zeros_or_crashes() -> None:
    rates = matrix(
        ({"status": "200"}, [(NOW - 2, "NaN"), (NOW - 1, "+Inf"), (NOW, "5")]),
        ({"status": "500"}, [(NOW - 2, "1"), (NOW - 1, "-Inf"), (NOW, "NaN")]),
    )
    with loopback() as server:
        server.route = answer(rates)
        snapshot = source(server).poll()
    assert snapshot.state is SourceState.UP
    by_status = {s.status: s.points for s in snapshot.series}
    assert by_status == {"200": ((NOW, 5.0),), "500": ((NOW - 2, 1.0),)}
    # The 500 series has no value now: it is not "0 errors/s", it is absent from "now".
    assert snapshot.current() == {"200": 5.0}


def test_a_negative_rate_from_an_engine_is_never_drawn() -> None:
    with loopback() as server:
        server.route = answer(matrix(({"status": "200"}, [(NOW - 1, "-3"), (NOW, "2")])))
        snapshot = source(server).poll()
    assert snapshot.series[0].points == ((NOW - 1, 0.0), (NOW, 2.0))


def test_no_answer_is_a_timeout_within_the_configured_time() -> None:
    with loopback() as server:
        server.reply = Reply(hang=True)
        started = time.monotonic()
        snapshot = source(server, timeout=0.3).poll()
        took = time.monotonic() - started
    assert snapshot.state is SourceState.TIMEOUT
    assert snapshot.detail == "no answer within 300ms"
    assert took < 3.0  # one request, no client retry


def test_nothing_listening_is_unreachable_connection_refused() -> None:
    port = free_port()
    snapshot = PrometheusSource(PrometheusConfig(url=f"http://127.0.0.1:{port}")).poll()
    assert snapshot.state is SourceState.UNREACHABLE
    assert snapshot.detail == f"connection refused: nothing listens on 127.0.0.1:{port}"


def test_an_unknown_host_is_unreachable_dns() -> None:
    snapshot = PrometheusSource(PrometheusConfig(url="http://errwatch-test.invalid:9090")).poll()
    assert snapshot.state is SourceState.UNREACHABLE
    assert snapshot.detail.startswith("DNS: cannot resolve")


def test_data_that_stops_moving_is_stale_with_its_age() -> None:
    old = matrix(({"status": "200"}, [(NOW - 41, "3"), (NOW - 40, "3")]))
    with loopback() as server:
        server.route = answer(old)
        snapshot = source(server, rate_window=10.0, refresh=1.0).poll()
    assert snapshot.state is SourceState.STALE
    assert snapshot.age == 40.0
    assert "40s old" in snapshot.detail


def test_up_zero_is_target_down_not_no_traffic() -> None:
    down = vector(({"job": "api", "instance": "a:1"}, NOW, "0"))
    with loopback() as server:
        server.route = answer(matrix(), down)
        snapshot = source(server).poll()
    assert snapshot.state is SourceState.TARGET_DOWN
    assert snapshot.detail == 'up{job="api"} is 0 for its target: down, not "no traffic"'


def test_one_target_down_of_two_is_said_but_data_is_up() -> None:
    ups = vector(({"instance": "a:1"}, NOW, "1"), ({"instance": "b:1"}, NOW, "0"))
    with loopback() as server:
        server.route = answer(RATES, ups)
        snapshot = source(server).poll()
    assert snapshot.state is SourceState.UP
    assert snapshot.detail == '1 of 2 targets of up{job="api"} down'


def test_a_panel_with_a_bad_expression_fails_alone() -> None:
    bad = {"status": "error", "errorType": "bad_data", "error": "1:5: parse error: unexpected"}

    def route(path: str) -> Reply:
        if path.startswith("/api/v1/query?"):
            return UP
        if "oops" in path:
            return Reply(400, "application/json", json.dumps(bad).encode())
        return RATES

    with loopback() as server:
        server.route = route
        src = PrometheusSource(
            PrometheusConfig(url=server.url, range=60.0, **PINNED),  # type: ignore[arg-type]
            panels=[PanelConfig(expr="oops(", title="Bad"), PanelConfig(expr="up", title="Up")],
            clock=lambda: NOW,
        )
        snapshot = src.poll()
    assert snapshot.state is SourceState.UP
    bad_panel, good_panel = snapshot.panels
    assert (bad_panel.state, bad_panel.detail) == (PanelState.BAD_QUERY, bad["error"])
    assert good_panel.state is PanelState.UP


def test_secrets_never_reach_a_detail_even_when_the_server_echoes_them() -> None:
    token = "s3cr3t-t0ken-value"

    def echo(path: str) -> Reply:
        headers = server.requests[-1][1]
        # Padded so that the detail's length limit falls inside the token.
        echoed = {"pad": "x" * 150, "Authorization": headers["Authorization"]}
        echoed["X-Scope-OrgID"] = headers["X-Scope-OrgID"]
        return Reply(500, "text/plain", json.dumps(echoed).encode())

    with loopback() as server:
        server.route = echo
        src = PrometheusSource(
            PrometheusConfig(
                **PINNED,  # type: ignore[arg-type]
                url=server.url,
                auth=AuthConfig(bearer_token_env="ERRWATCH_TEST_TOKEN"),
                headers={"X-Scope-OrgID": "tenant-1"},
            ),
            environ={"ERRWATCH_TEST_TOKEN": token},
        )
        snapshot = src.poll()
        sent = server.requests[-1][1]
    assert sent["Authorization"] == f"Bearer {token}"  # the server did get it
    assert sent["X-Scope-OrgID"] == "tenant-1"
    assert snapshot.state is SourceState.QUERY_ERROR
    assert snapshot.detail.startswith("HTTP 500") and "Bearer ****" in snapshot.detail
    assert token[:6] not in snapshot.detail
    assert token not in repr(snapshot)


def test_a_panel_that_only_gives_nan_says_so_instead_of_zero() -> None:
    nan = matrix(({}, [(NOW - 1, "NaN"), (NOW, "NaN")]))
    with loopback() as server:
        server.route = lambda path: nan if "ratio" in path else answer(RATES)(path)  # type: ignore[operator]
        src = PrometheusSource(
            PrometheusConfig(url=server.url, range=60.0, **PINNED),  # type: ignore[arg-type]
            panels=[PanelConfig(expr="errors_ratio", title="ratio", unit="%")],
            clock=lambda: NOW,
        )
        [panel] = src.poll().panels
    assert panel.state is PanelState.NO_DATA
    assert panel.detail == "only NaN or ±Inf values (a ratio without traffic?)"


def targets(*entries: tuple[str, str, str]) -> Reply:
    """``/api/v1/targets`` with (job, health, lastError) per target."""
    active = [
        {
            "labels": {"job": job, "instance": f"host{n}:5000"},
            "scrapeUrl": f"http://host{n}:5000/metrics",
            "health": health,
            "lastError": f'Get "http://host{n}:5000/metrics": {error}' if error else "",
        }
        for n, (job, health, error) in enumerate(entries)
    ]
    body = {"status": "success", "data": {"activeTargets": active, "droppedTargets": []}}
    return Reply(body=json.dumps(body).encode())


def test_a_target_down_says_why_the_scrape_failed_in_the_engines_words() -> None:
    ups = vector(({"instance": "host0:5000"}, NOW, "0"), ({"instance": "host1:5000"}, NOW, "1"))
    scrape = targets(
        ("api", "down", "context deadline exceeded"),
        ("api", "up", ""),
        ("other", "down", "connection refused"),  # another job: not ours to explain
    )
    with loopback() as server:
        server.route = answer(RATES, ups, scrape)
        snapshot = source(server).poll()
    assert snapshot.state is SourceState.UP
    assert snapshot.detail == (
        '1 of 2 targets of up{job="api"} down; last scrape: context deadline exceeded'
    )
    every = targets(("api", "down", "connection refused"), ("api", "down", "no route to host"))
    down = vector(({"instance": "host0:5000"}, NOW, "0"), ({"instance": "host1:5000"}, NOW, "0"))
    with loopback() as server:
        server.route = answer(matrix(), down, every)
        snapshot = source(server).poll()
    assert snapshot.state is SourceState.TARGET_DOWN
    assert snapshot.detail == (
        'up{job="api"} is 0 for all 2 targets: down, not "no traffic"; '
        "last scrape: connection refused (and 1 other errors)"
    )


def test_an_engine_without_targets_asks_for_the_job_to_be_named() -> None:
    with loopback() as server:
        server.reply = Reply(404, "text/plain; charset=utf-8", b"404 page not found")
        snapshot = PrometheusSource(
            PrometheusConfig(url=server.url), target_url="http://localhost:5000"
        ).poll()
    assert snapshot.state is SourceState.QUERY_ERROR
    assert snapshot.detail == (
        "this engine has no /api/v1/targets (Thanos, Mimir?): set prometheus.job "
        "(and instance) in the config"
    )
