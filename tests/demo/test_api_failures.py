"""The demo API's failure switch: real application errors on a normal route, on demand."""

from __future__ import annotations

import httpx
from prometheus_client import CollectorRegistry

from errwatch.core.logs.tracebacks import parse_text
from errwatch.demo.api import FAILURES_RULE, create_app
from errwatch.demo.stack import DemoApi
from tests.conftest import api_counter, wait_until
from tests.demo.test_api import counters

USER_ROUTE = "/api/users/<int:user_id>"


def test_the_switch_exists_only_with_test_routes_and_is_off_by_default() -> None:
    plain = create_app().test_client()
    assert plain.post(FAILURES_RULE, json={"route": USER_ROUTE, "ratio": 1}).status_code == 404
    assert plain.get("/api/users/1").status_code == 200
    tested = create_app(enable_test_routes=True).test_client()
    assert tested.get(FAILURES_RULE).get_json() == {"failures": {}}
    assert [tested.get("/api/users/1").status_code for _ in range(5)] == [200] * 5


def test_a_ratio_makes_exactly_that_share_of_the_route_fail() -> None:
    registry = CollectorRegistry()
    client = create_app(enable_test_routes=True, registry=registry).test_client()
    answer = client.post(FAILURES_RULE, json={"route": USER_ROUTE, "ratio": 0.25})
    assert answer.get_json() == {"failures": {USER_ROUTE: 0.25}}
    statuses = [client.get("/api/users/2").status_code for _ in range(8)]
    assert statuses == [200, 200, 200, 500] * 2
    assert client.get("/api/users").status_code == 200  # other routes are untouched
    after = counters(client.get("/metrics").get_data(as_text=True))
    assert after[("GET", USER_ROUTE, "500")] == 2.0
    assert after[("GET", USER_ROUTE, "200")] == 6.0
    client.post(FAILURES_RULE, json={"route": USER_ROUTE, "ratio": 0})
    assert client.get(FAILURES_RULE).get_json() == {"failures": {}}
    assert [client.get("/api/users/2").status_code for _ in range(4)] == [200] * 4


def test_bad_switch_requests_are_refused_with_a_reason() -> None:
    client = create_app(enable_test_routes=True).test_client()
    unknown = client.post(FAILURES_RULE, json={"route": "/error", "ratio": 1})
    assert unknown.status_code == 400
    assert unknown.get_json()["description"].startswith('"route" must be one of: /, /api/orders')
    for ratio in (1.5, -0.1, "half", True):
        refused = client.post(FAILURES_RULE, json={"route": USER_ROUTE, "ratio": ratio})
        assert refused.status_code == 400
        assert refused.get_json()["description"].startswith('"ratio" must be a number from 0')
    assert client.post(FAILURES_RULE, data="not json").status_code == 400


def test_the_real_process_logs_the_failure_as_an_application_error(demo_api: DemoApi) -> None:
    switched = httpx.post(
        f"{demo_api.url}{FAILURES_RULE}", json={"route": USER_ROUTE, "ratio": 1}, timeout=2
    )
    assert switched.status_code == 200
    failed = httpx.get(f"{demo_api.url}/api/users/3", timeout=2)
    assert failed.status_code == 500
    assert failed.json()["name"] == "Internal Server Error"
    assert api_counter(demo_api.url, USER_ROUTE, "500") == 1
    wait_until(lambda: "SimulatedFailure" in demo_api.log_file.read_text(), 5, "the log")
    [event] = parse_text(demo_api.log_file.read_text(), str(demo_api.log_file))
    assert event.type == "errwatch.demo.api.SimulatedFailure"
    assert event.record is not None
    assert (event.record.method, event.record.route) == ("GET", "/api/users/3")
    assert event.record.injection is None  # no injection header: the application's own error
