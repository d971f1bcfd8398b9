"""Discovery as pure functions over the PromQL API's JSON (the real engines and exporters
are in tests/exporters): where the API is among the targets, which series counts its
requests, every status shape, and what is said when nothing fits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from errwatch.config import PrometheusConfig
from errwatch.core.metrics.discovery import Ask, discover, run_sync
from errwatch.core.metrics.rates import normalize_status
from errwatch.core.metrics.requestseries import choose_request_series, route_templates
from errwatch.core.metrics.targets import host_port, parse_targets, place

AUTO = PrometheusConfig(url="http://prom:9090")


def target(job: str, address: str, health: str = "up", instance: str = "") -> dict[str, Any]:
    """One entry of /api/v1/targets' activeTargets, as Prometheus writes it."""
    return {
        "discoveredLabels": {"__address__": address, "job": job},
        "labels": {"instance": instance or address, "job": job},
        "scrapePool": job,
        "scrapeUrl": f"http://{address}/metrics",
        "lastError": "",
        "health": health,
        "scrapeInterval": "15s",
        "scrapeTimeout": "10s",
    }


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("500", "500"),
        ("503", "503"),
        ("5xx", "5xx"),
        ("5XX", "5xx"),
        ("5", "5xx"),  # Envoy's envoy_response_code_class
        ("2", "2xx"),
        ("total", None),  # nginx-vts' sum of the others
        ("HTTPStatus.OK", None),  # an enum written with str()
        ("", None),
        ("600", None),
        ("50", None),
    ],
)
def test_every_status_shape_counts_and_the_others_are_left_out(
    value: str, shown: str | None
) -> None:
    assert normalize_status(value) == shown


def test_localhost_and_127_0_0_1_are_the_same_host() -> None:
    assert host_port("http://localhost:5000") == host_port("127.0.0.1:5000")
    assert host_port("http://[::1]:5000/") == host_port("localhost:5000")
    assert host_port("https://api.example.com") == ("api.example.com", 443)
    assert host_port("http://api:5000") != host_port("api:5001")


def test_the_api_is_found_by_its_address_among_other_apps() -> None:
    targets = parse_targets(
        {
            "activeTargets": [
                target("prometheus", "localhost:9090"),
                target("fastapi", "127.0.0.1:8000"),
                target("flask", "127.0.0.1:5000"),
                target("node", "127.0.0.1:9100"),
            ]
        }
    )
    placed = place(targets, "http://localhost:5000")
    assert (placed.job, placed.instance, placed.problem) == ("flask", "127.0.0.1:5000", "")
    assert [t.scrape_interval for t in placed.targets] == [15.0]


def test_a_relabelled_instance_is_matched_by_the_address_scraped() -> None:
    targets = parse_targets({"activeTargets": [target("api", "10.0.0.7:5000", instance="api-1")]})
    placed = place(targets, "http://10.0.0.7:5000")
    assert (placed.job, placed.instance) == ("api", "api-1")


def test_several_apps_in_one_job_are_told_apart_by_instance() -> None:
    targets = parse_targets(
        {"activeTargets": [target("apps", "127.0.0.1:5000"), target("apps", "127.0.0.1:5001")]}
    )
    assert place(targets, "http://127.0.0.1:5001").instance == "127.0.0.1:5001"


def test_replicas_behind_a_url_no_target_has_are_every_instance_of_the_named_job() -> None:
    targets = parse_targets(
        {"activeTargets": [target("api", "10.0.0.7:5000"), target("api", "10.0.0.8:5000")]}
    )
    placed = place(targets, "http://localhost:8080", job="api")
    assert (placed.job, placed.instance, len(placed.targets)) == ("api", "", 2)


def test_an_api_no_target_has_says_what_was_looked_for_and_the_closest() -> None:
    targets = parse_targets(
        {"activeTargets": [target("api", "10.0.0.7:5000", "down"), target("node", "h:9100")]}
    )
    placed = place(targets, "http://localhost:5000")
    assert placed.problem.startswith("no scrape target has the API's address localhost:5000")
    assert placed.closest == ("api: 10.0.0.7:5000 (down)",)  # same port first


def test_an_engine_that_scrapes_nothing_yet_says_so() -> None:
    assert "no active scrape target" in place((), "http://localhost:5000").problem


FLASK = {
    "flask_http_request_duration_seconds_count": [
        {"method": "GET", "path": "/", "status": "200"},
        {"method": "GET", "path": "/error", "status": "500"},
    ],
    "flask_http_request_total": [
        {"method": "GET", "status": "200"},
        {"method": "GET", "status": "500"},
    ],
    "flask_http_request_exceptions_total": [{"method": "GET", "status": "500"}],
    "process_cpu_seconds_total": [{}],
    "flask_exporter_info": [{"version": "0.23.2"}],
}


def test_a_series_with_a_route_label_is_preferred_and_the_others_are_said() -> None:
    best, others = choose_request_series(FLASK)
    assert best is not None
    assert (best.metric, best.status_label, best.route_label) == (
        "flask_http_request_duration_seconds_count",
        "status",
        "path",
    )
    assert best.route_paths and best.exporter == "prometheus-flask-exporter"
    # Exceptions are not requests: a 500 there is counted in the requests already.
    assert [o.metric for o in others] == ["flask_http_request_total"]


def test_a_counter_of_any_name_with_a_status_label_is_found() -> None:
    series = {
        "shop_hits_total": [
            {"rc": "200", "uri": "/cart"},
            {"rc": "503", "uri": "/pay"},
            {"rc": "404", "uri": "/nope"},
        ],
        "shop_items_in_cart": [{"rc": "200"}],
        # Every Go exporter counts the scrapes of its /metrics: not the API's requests.
        "promhttp_metric_handler_requests_total": [{"code": c} for c in ("200", "500", "503")],
    }
    best, others = choose_request_series(series, {"shop_items_in_cart": "gauge"})
    assert best is not None and others == ()
    assert (best.metric, best.status_label, best.route_label) == ("shop_hits_total", "rc", "uri")


def test_classes_only_and_values_that_are_not_statuses() -> None:
    vts = {
        "nginx_vts_server_requests_total": [
            {"code": code, "host": "api"} for code in ("1xx", "2xx", "3xx", "4xx", "5xx", "total")
        ]
    }
    best, _ = choose_request_series(vts)
    assert best is not None and best.classes_only
    assert best.left_out == ("total",)
    envoy = {
        "envoy_cluster_upstream_rq_xx": [
            {"envoy_response_code_class": c, "envoy_cluster_name": "api"} for c in "25"
        ]
    }
    best, _ = choose_request_series(envoy)
    assert best is not None and best.classes_only and best.route_label == ""


def test_a_route_label_of_view_names_is_no_exact_split() -> None:
    django = {
        "django_http_responses_total_by_status_view_method_total": [
            {"status": "200", "view": "index", "method": "GET"},
            {"status": "500", "view": "error", "method": "GET"},
        ]
    }
    best, _ = choose_request_series(django)
    assert best is not None and best.route_label == "view" and not best.route_paths


def test_the_injection_route_matches_the_route_templates_of_every_framework() -> None:
    values = ["/items/{item_id}", "/items/<int:item_id>", "/items/:id", "/error", "/x/{a}"]
    assert route_templates(values, "/items/5") == (
        "/items/{item_id}",
        "/items/<int:item_id>",
        "/items/:id",
    )
    assert route_templates(values, "/error") == ()


class Engine:
    """Canned answers of a PromQL API, by path; records what discovery asked."""

    def __init__(self, answers: Mapping[str, Any]) -> None:
        self.answers = answers
        self.asked: list[Ask] = []

    def __call__(self, ask: Ask) -> Any:
        self.asked.append(ask)
        answer = self.answers[ask.path]
        if isinstance(answer, Exception):
            raise answer
        return answer


def engine_of(series: Mapping[str, list[dict[str, str]]], **more: Any) -> Engine:
    rows = [
        {"__name__": name, "job": "flask", "instance": "127.0.0.1:5000", **labels}
        for name, entries in series.items()
        for labels in entries
    ]
    return Engine(
        {
            "/api/v1/targets": {"activeTargets": [target("flask", "127.0.0.1:5000")]},
            "/api/v1/label/__name__/values": sorted(series),
            "/api/v1/metadata": {"flask_http_request_duration_seconds": [{"type": "histogram"}]},
            "/api/v1/series": rows,
            **more,
        }
    )


def test_discovery_asks_only_the_apis_own_series() -> None:
    engine = engine_of(FLASK)
    found = run_sync(discover(AUTO, "http://localhost:5000"), engine)
    assert found.ok and found.pinned == ()
    assert found.summary() == (
        'flask_http_request_duration_seconds_count{job="flask", instance="127.0.0.1:5000"} '
        "status status, route path"
    )
    names, series = engine.asked[1], engine.asked[3]
    assert names.params["match[]"] == '{job="flask",instance="127.0.0.1:5000"}'
    assert str(series.params["match[]"]).endswith(',job="flask",instance="127.0.0.1:5000"}')
    resolved = found.resolve(AUTO)
    assert (resolved.metric, resolved.job, resolved.instance) == (
        "flask_http_request_duration_seconds_count",
        "flask",
        "127.0.0.1:5000",
    )
    assert found.toml().splitlines() == [
        "[prometheus]",
        'metric = "flask_http_request_duration_seconds_count"',
        'status_label = "status"',
        'route_label = "path"',
        'job = "flask"',
        'instance = "127.0.0.1:5000"',
    ]


def test_a_value_written_in_the_config_always_wins() -> None:
    pinned = replace(AUTO, metric="flask_http_request_total", route_label="")
    found = run_sync(discover(pinned, "http://localhost:5000"), engine_of(FLASK))
    assert (found.metric, found.route_label, found.status_label) == (
        "flask_http_request_total",
        "",
        "status",
    )
    assert found.pinned == ("metric", "route_label")
    assert not found.split_exact
    assert found.summary().endswith("no route label: test errors estimated")


def test_everything_pinned_asks_nothing() -> None:
    every = replace(
        AUTO, metric="m_total", status_label="code", route_label="", job="api", instance=""
    )
    engine = Engine({})
    found = run_sync(discover(every, "http://localhost:5000"), engine)
    assert engine.asked == [] and found.ok and found.job == "api"


def test_no_request_served_yet_is_said_not_taken_for_health() -> None:
    engine = engine_of({"process_cpu_seconds_total": [{}]})
    found = run_sync(discover(AUTO, "http://localhost:5000"), engine)
    assert not found.ok
    assert found.problem == (
        'no request series among the 1 counter of {job="flask",instance="127.0.0.1:5000"}'
    )


def test_metadata_is_optional_the_rest_is_not() -> None:
    engine = engine_of(FLASK, **{"/api/v1/metadata": ValueError("404")})
    assert run_sync(discover(AUTO, "http://localhost:5000"), engine).ok
    engine = engine_of(FLASK, **{"/api/v1/series": ValueError("boom")})
    with pytest.raises(ValueError, match="boom"):
        run_sync(discover(AUTO, "http://localhost:5000"), engine)
