"""The demo API follows Flask's error guide: JSON errors, logged tracebacks, gated test routes."""

from __future__ import annotations

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from errwatch.core.logs.tracebacks import parse_text
from errwatch.demo.api import create_app
from errwatch.demo.stack import DemoApi
from tests.conftest import wait_until


def counters(text: str) -> dict[tuple[str, str, str], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "http_requests_total":
                labels = sample.labels
                out[(labels["method"], labels["endpoint"], labels["status"])] = sample.value
    return out


def test_http_errors_are_json_with_code_name_description() -> None:
    client = create_app().test_client()
    missing = client.get("/api/users/999")
    assert missing.status_code == 404
    assert missing.get_json() == {
        "code": 404,
        "name": "Not Found",
        "description": "No user with id 999.",
    }
    bad = client.post("/api/orders", json={"user_id": 1})
    assert bad.status_code == 400
    assert bad.get_json()["description"] == '"item" must be a non-empty string.'
    assert client.get("/nowhere").get_json()["code"] == 404
    assert client.delete("/api/users").get_json()["name"] == "Method Not Allowed"


def test_normal_routes_answer_json() -> None:
    client = create_app().test_client()
    assert client.get("/api/users/1").get_json()["name"] == "Ada Lovelace"
    created = client.post("/api/orders", json={"user_id": 2, "item": "book"})
    assert created.status_code == 201


def test_test_routes_are_absent_by_default() -> None:
    assert create_app().test_client().get("/error").status_code == 404
    assert "/error" not in create_app().test_client().get("/").get_json()["routes"]
    enabled = create_app(enable_test_routes=True).test_client().get("/error")
    assert enabled.status_code == 500
    assert enabled.get_json() == {
        "code": 500,
        "name": "Internal Server Error",
        "description": enabled.get_json()["description"],
    }
    assert "Traceback" not in enabled.get_data(as_text=True)


def test_label_sets_exist_before_the_first_request() -> None:
    registry = CollectorRegistry()
    app = create_app(enable_test_routes=True, registry=registry)
    before = counters(app.test_client().get("/metrics").get_data(as_text=True))
    assert before[("GET", "/error", "500")] == 0.0
    assert before[("GET", "/api/users/<int:user_id>", "404")] == 0.0
    assert before[("POST", "/api/orders", "201")] == 0.0
    app.test_client().get("/error")
    app.test_client().get("/api/users/3")
    after = counters(app.test_client().get("/metrics").get_data(as_text=True))
    assert after[("GET", "/error", "500")] == 1.0
    assert after[("GET", "/api/users/<int:user_id>", "200")] == 1.0
    assert ("GET", "/metrics", "200") not in after  # scrapes are not traffic


def test_without_test_routes_no_error_label_is_created() -> None:
    app = create_app(registry=CollectorRegistry())
    assert not any(
        key[1] == "/error"
        for key in counters(app.test_client().get("/metrics").get_data(as_text=True))
    )


def test_the_real_process_logs_the_whole_traceback(demo_api: DemoApi) -> None:
    answer = httpx.get(f"{demo_api.url}/error", headers={"X-Errwatch-Injection": "run42"})
    assert answer.status_code == 500
    wait_until(lambda: "ZeroDivisionError" in demo_api.log_file.read_text(), 5, "the log")
    [event] = parse_text(demo_api.log_file.read_text(), str(demo_api.log_file))
    assert event.type == "ZeroDivisionError"
    assert event.record is not None
    assert (event.record.method, event.record.route) == ("GET", "/error")
    assert event.record.injection == "run42"
    assert event.frames[-1].function == "error"
    assert event.frames[-1].source == "ratio = 1 / 0"


def test_scrapes_stay_out_of_the_access_log(demo_api: DemoApi) -> None:
    for _ in range(3):
        httpx.get(f"{demo_api.url}/metrics")
    httpx.get(f"{demo_api.url}/health")
    wait_until(lambda: "/health" in demo_api.log_file.read_text(), 5, "the access log")
    assert "/metrics" not in demo_api.log_file.read_text()
