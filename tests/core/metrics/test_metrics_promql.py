"""The PromQL errwatch writes and how it reads every kind of answer."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from errwatch.config import PrometheusConfig
from errwatch.core.metrics.backwards import counter_drops
from errwatch.core.metrics.promql import (
    MAX_POINTS,
    classify_response,
    parse_rates,
    range_step,
    rate_query,
    regex_escape,
    up_query,
)
from errwatch.core.metrics.rates import SourceState, worst_first

PINNED = PrometheusConfig(
    metric="http_requests_total", status_label="status", route_label="endpoint", job="api"
)


def disturbed(m: str, lookback: str, recent: str, sel: str = "") -> str:
    """The part of the rate query marking windows spoiled by counters going backwards
    (10 s windows): a drop but from a process started within the window, a rise back
    but where process start times changed once at most lately."""
    before = f"max_over_time({m}[{lookback}] offset 10s)"
    started = f"process_start_time_seconds{sel}"
    return (
        "label_replace(count by (instance) ("
        f"(resets({m}[10s]) > 0 unless on (instance) {started} > time() - 10) or "
        f"(min_over_time({m}[10s]) < {before} and max_over_time({m}[10s]) >= {before} "
        f"unless on (instance) resets({m}[10s]) > 0 "
        f"unless on (instance) changes({started}[{recent}]) <= 1)), "
        '"errwatch_part", "disturbed", "instance", "(.*)")'
    )


def test_the_rate_query_splits_the_injection_route_in_one_request() -> None:
    cfg = replace(PINNED, instance="h:1", selector='{env="test"}', rate_window=10.4)
    m = 'http_requests_total{job="api",instance="h:1",env="test"}'
    assert rate_query(cfg, "/error", ("/err{x}",)) == (
        "sum by (status, instance, errwatch_part) (label_replace("
        f"(({m} unless {m} offset 10s) and on (job, instance) "
        f'up{{job="api",instance="h:1"}} offset 10s) / 10 or rate({m}[10s]), '
        '"errwatch_part", "test", "endpoint", "/error|/err\\\\{x\\\\}")) or '
        f'label_replace(sum by (instance) (resets({m}[10s])), "errwatch_part", "resets", '
        '"instance", "(.*)") or '
        + disturbed(m, "31s", "42s", '{job="api",instance="h:1",env="test"}')
    )


def test_without_a_route_label_there_is_no_split() -> None:
    cfg = replace(PINNED, route_label="", status_label="code", metric="requests_total", job="")
    m = "requests_total"
    assert rate_query(cfg, "/error") == (
        f"sum by (code, instance) ((({m} unless {m} offset 10s) and on (job, instance) up "
        f"offset 10s) / 10 or rate({m}[10s])) or "
        f'label_replace(sum by (instance) (resets({m}[10s])), "errwatch_part", "resets", '
        '"instance", "(.*)") or ' + disturbed(m, "30s", "40s")
    )


def test_a_route_is_matched_literally() -> None:
    assert regex_escape("/api/v1.2/items(x)") == r"/api/v1\.2/items\(x\)"
    query = rate_query(PINNED, "/a.b")
    assert '"/a\\\\.b"' in query  # RE2 escape, then PromQL string escape


def test_up_query_names_the_job_and_the_instance() -> None:
    assert up_query(replace(PINNED, job='we"ird')) == 'up{job="we\\"ird"}'
    assert up_query(replace(PINNED, instance="h:1")) == 'up{job="api",instance="h:1"}'
    assert up_query(replace(PINNED, job="", instance="")) == "up"


@pytest.mark.parametrize("span", [60, 300, 3_600, 86_400, 30 * 86_400, 365 * 86_400])
def test_a_range_query_never_asks_more_than_11000_points(span: float) -> None:
    step = range_step(span)
    assert span / step + 1 <= MAX_POINTS
    assert step == 1 or (span / (step - 1) + 1) > MAX_POINTS  # no wider than needed


def test_five_minutes_keep_one_second_steps() -> None:
    assert range_step(300) == 1


def test_parse_rates_sums_parts_and_keeps_the_test_part() -> None:
    result = [
        {"metric": {"status": "500"}, "values": [[1, "1"], [2, "1"]]},
        {"metric": {"status": "500", "errwatch_part": "test"}, "values": [[1, "3"], [2, "4"]]},
        {"metric": {"status": "200"}, "values": [[1, "2"], [2, "NaN"]]},
    ]
    read = parse_rates(result, "status")
    every, test = read.every, read.test
    assert [(s.status, s.points) for s in every] == [
        ("200", ((1.0, 2.0),)),
        ("500", ((1.0, 4.0), (2.0, 5.0))),
    ]
    assert [(s.status, s.points) for s in test] == [("500", ((1.0, 3.0), (2.0, 4.0)))]


def error(status: int, kind: str, message: str) -> tuple[int, str, str]:
    body = json.dumps({"status": "error", "errorType": kind, "error": message})
    return status, "application/json", body


@pytest.mark.parametrize(
    ("answer", "state", "detail"),
    [
        (
            error(400, "bad_data", '1:29: parse error: unexpected "}"'),
            SourceState.BAD_QUERY,
            '1:29: parse error: unexpected "}"',  # verbatim
        ),
        (
            error(422, "422", 'error when executing query="x{": unparsed data: "{"'),
            SourceState.BAD_QUERY,  # VictoriaMetrics' parse error
            'error when executing query="x{": unparsed data: "{"',
        ),
        (
            error(422, "execution", "query processing would load too many samples"),
            SourceState.QUERY_ERROR,
            "execution: query processing would load too many samples",
        ),
        (
            error(422, "422", "too many points for the given step"),
            SourceState.QUERY_ERROR,
            "HTTP 422: too many points for the given step",
        ),
        (
            error(503, "timeout", "query timed out"),
            SourceState.QUERY_ERROR,
            "timeout: query timed out",
        ),
        (
            (503, "text/plain", "Service Unavailable\n"),
            SourceState.STARTING,
            "503 Service Unavailable",
        ),
        (
            (401, "text/plain", "Unauthorized"),
            SourceState.UNAUTHORIZED,
            "HTTP 401: the server refused the credentials (see [prometheus.auth])",
        ),
        (
            (504, "text/html", "<html><title>504 Gateway Time-out</title></html>"),
            SourceState.TIMEOUT,
            "HTTP 504 504 Gateway Time-out (an HTML page: a proxy in front of the engine?)",
        ),
        ((500, "text/plain", ""), SourceState.QUERY_ERROR, "HTTP 500: no body"),
    ],
)
def test_every_non_200_answer_is_a_state_with_a_plain_detail(
    answer: tuple[int, str, str], state: SourceState, detail: str
) -> None:
    failure = classify_response(*answer)
    assert (failure.state, failure.detail) == (state, detail)


def test_parse_rates_normalizes_every_status_shape_and_leaves_the_rest_out() -> None:
    result = [
        {"metric": {"code": "5", "instance": "a:1"}, "values": [[1, "2"]]},
        {"metric": {"code": "5xx", "instance": "b:1"}, "values": [[1, "1"]]},
        {"metric": {"code": "2xx", "instance": "a:1"}, "values": [[1, "6"]]},
        {"metric": {"code": "total", "instance": "a:1"}, "values": [[1, "9"]]},
        {"metric": {"code": "HTTPStatus.OK", "instance": "a:1"}, "values": [[1, "1"]]},
        {"metric": {"errwatch_part": "resets", "instance": "a:1"}, "values": [[1, "0"]]},
    ]
    read = parse_rates(result, "code")
    assert [(s.status, s.points) for s in read.every] == [
        ("2xx", ((1.0, 6.0),)),
        ("5xx", ((1.0, 3.0),)),  # Envoy's "5" and the class "5xx" are one
    ]
    assert read.left_out == ("HTTPStatus.OK", "total")
    assert [(one.instance, one.current_ratio()) for one in read.instances] == [
        ("a:1", 0.25),
        ("b:1", 1.0),
    ]
    assert [one.instance for one in worst_first(read.instances)] == ["b:1", "a:1"]
    assert read.resets == {"a:1": ((1.0, 0.0),)}


def test_counters_go_backwards_from_three_drops_a_restart_is_one() -> None:
    restart = {"a:1": tuple((t, 1.0 if 10 <= t < 14 else 0.0) for t in range(30))}
    assert counter_drops(restart) is None
    flapping = {"a:1": ((0, 0.0), (1, 1.0), (2, 2.0), (3, 1.0), (4, 2.0), (5, 2.0))}
    assert counter_drops(flapping) == ("a:1", 3.0)
