"""Which series counts the API's HTTP requests: the known exporters' shapes first, then any
counter or histogram ``_count`` with a label whose values look like HTTP statuses.

Pure functions over label sets (from ``/api/v1/series`` or a ``/metrics`` exposition).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from errwatch.core.metrics.rates import normalize_status

AUTO = "auto"

KNOWN_SHAPES: dict[str, tuple[str, str, str]] = {
    # metric: (who exposes it, status label, route label)
    "flask_http_request_duration_seconds_count": ("prometheus-flask-exporter", "status", "path"),
    "flask_http_request_total": ("prometheus-flask-exporter", "status", ""),
    "http_requests_total": ("prometheus-fastapi-instrumentator / prometheus_client", "", ""),
    "starlette_requests_total": ("starlette-exporter", "status_code", "path"),
    "django_http_responses_total_by_status_view_method_total": (
        "django-prometheus",
        "status",
        "view",
    ),
    "status_codes_counter": ("aioprometheus", "status_code", "path"),
    "http_server_duration_milliseconds_count": (
        "OpenTelemetry (default conventions)",
        "http_status_code",
        "http_target",
    ),
    "http_server_duration_ms_count": (
        "OpenTelemetry (default conventions, exporter < 1.25)",
        "http_status_code",
        "http_target",
    ),
    "http_server_request_duration_seconds_count": (
        "OpenTelemetry (stable HTTP conventions)",
        "http_response_status_code",
        "http_route",
    ),
    "nginx_ingress_controller_requests": ("ingress-nginx", "status", "path"),
    "traefik_service_requests_total": ("Traefik", "code", ""),
    "traefik_router_requests_total": ("Traefik", "code", ""),
    "traefik_entrypoint_requests_total": ("Traefik", "code", ""),
    "envoy_cluster_upstream_rq": ("Envoy", "envoy_response_code", ""),
    "envoy_cluster_upstream_rq_xx": ("Envoy", "envoy_response_code_class", ""),
    "envoy_http_downstream_rq_xx": ("Envoy", "envoy_response_code_class", ""),
}
"""Request series of widely used exporters, read from their source code; of two that fit
equally, the one listed first (codes before classes, a service before an entrypoint)."""
_KNOWN_ORDER = {name: index for index, name in enumerate(KNOWN_SHAPES)}

STATUS_LABELS = (
    "status",
    "code",
    "status_code",
    "http_status_code",
    "http_response_status_code",
    "response_code",
    "http_status",
    "statuscode",
    "envoy_response_code",
    "envoy_response_code_class",
)
ROUTE_LABELS = (
    "handler",
    "path",
    "endpoint",
    "route",
    "http_route",
    "http_target",
    "url_rule",
    "path_template",
    "uri",
    "url",
    "view",
)
_NOT_REQUESTS = re.compile(
    # Errors and retries are counted among the requests already; promhttp's counts the
    # scrapes of /metrics itself (every Go exporter has it).
    r"exception|error|fail|retr(y|ies)|timeout|in_?progress|inflight|promhttp_metric_handler",
    re.I,
)
_MAX_CANDIDATES = 40
"""Metric names whose series are fetched at most (the most likely first)."""
_SAMPLE_VALUES = 6


@dataclass(frozen=True, slots=True)
class Candidate:
    """A series that counts HTTP requests, with the evidence for it."""

    metric: str
    status_label: str
    route_label: str
    series: int
    statuses: tuple[str, ...]
    """Sample of the status label's values."""
    left_out: tuple[str, ...] = ()
    """Values of the status label that are not statuses: never summed."""
    classes_only: bool = False
    routes: tuple[str, ...] = ()
    """Sample of the route label's values."""
    route_paths: bool = False
    """The route label holds paths ("/error"), so the injection route can be told apart."""
    exporter: str = ""
    kind: str = ""
    all_routes: tuple[str, ...] = ()
    """Every value of the route label (templates are matched against the injection route)."""

    def evidence(self) -> str:
        """One line: the counts and sample values that made it a candidate."""
        text = f"{self.series} series; {self.status_label}: {', '.join(self.statuses)}"
        if self.left_out:
            text += f" (left out, not statuses: {', '.join(self.left_out)})"
        if self.route_label:
            text += f"; {self.route_label}: {', '.join(self.routes)}"
        return text


_PLACEHOLDER = re.compile(r"\\\{[^/]*?\\\}|<[^/>]*>|(?<=/):[A-Za-z_]\w*")


def route_templates(values: Iterable[str], injection_route: str) -> tuple[str, ...]:
    """The route label's templates ("/items/{id}", "/items/<int:id>", "/items/:id") that
    the injection route matches, other than the route itself."""
    found = []
    for value in values:
        if value == injection_route or not value.startswith("/"):
            continue
        pattern = _PLACEHOLDER.sub("[^/]+", re.escape(value))
        if pattern != re.escape(value) and re.fullmatch(pattern, injection_route):
            found.append(value)
    return tuple(found)


# -- request series ------------------------------------------------------------------------


def _likely_requests(name: str, kind: str) -> bool:
    """Whether a metric name can count requests: a counter or a histogram's _count."""
    if name in KNOWN_SHAPES:
        return True
    if name.endswith(("_bucket", "_sum", "_created", "_info")) or _NOT_REQUESTS.search(name):
        return False
    if kind in ("gauge", "info", "stateset"):
        return False
    return name.endswith(("_total", "_count")) or kind in ("counter", "unknown", "untyped", "")


def _sorted_sample(values: Iterable[str]) -> tuple[str, ...]:
    unique = sorted(set(values))
    return tuple(unique[:_SAMPLE_VALUES]) + (("…",) if len(unique) > _SAMPLE_VALUES else ())


def _status_label(name: str, series: Sequence[Mapping[str, str]], pinned: str) -> str:
    labels = {key for labels in series for key in labels}
    if pinned != AUTO:
        return pinned if pinned in labels else ""
    known = KNOWN_SHAPES.get(name, ("", "", ""))[1]
    if known and known in labels:
        return known
    scored = []
    for label in labels - {"__name__", "job", "instance"}:
        values = {labels_.get(label, "") for labels_ in series} - {""}
        statuses = [v for v in values if normalize_status(v)]
        if statuses and len(statuses) * 2 >= len(values):  # mostly statuses
            bonus = 1 if label in STATUS_LABELS else 0
            scored.append((bonus, len(statuses) / len(values), label))
    return max(scored)[2] if scored else ""


def _route_label(name: str, series: Sequence[Mapping[str, str]], pinned: str, status: str) -> str:
    labels = {key for labels in series for key in labels} - {"__name__", "job", "instance", status}
    if pinned != AUTO:
        return pinned if pinned in labels else ""
    known = KNOWN_SHAPES.get(name, ("", "", ""))[2]
    if known and known in labels:
        return known
    for label in ROUTE_LABELS:
        if label in labels:
            return label
    for label in sorted(labels):
        values = {labels_.get(label, "") for labels_ in series} - {""}
        if values and sum(v.startswith("/") for v in values) * 2 > len(values):
            return label
    return ""


def candidate_of(
    name: str,
    series: Sequence[Mapping[str, str]],
    *,
    kind: str = "",
    status_label: str = AUTO,
    route_label: str = AUTO,
) -> Candidate | None:
    """The metric as a request series, or None when no label holds HTTP statuses."""
    status = _status_label(name, series, status_label)
    if not status:
        return None
    values = [labels.get(status, "") for labels in series]
    good = {v for v in values if normalize_status(v)}
    if not good:
        return None
    route = _route_label(name, series, route_label, status) if route_label != "" else ""
    routes = [labels[route] for labels in series if route and route in labels]
    normalized = {normalize_status(v) or "" for v in good}
    return Candidate(
        metric=name,
        status_label=status,
        route_label=route,
        series=len(series),
        statuses=_sorted_sample(good),
        left_out=_sorted_sample(set(values) - good),
        classes_only=all(n.endswith("xx") for n in normalized),
        routes=_sorted_sample(routes),
        route_paths=any(r.startswith("/") for r in routes),
        all_routes=tuple(sorted(set(routes))),
        exporter=KNOWN_SHAPES.get(name, ("", "", ""))[0],
        kind=kind,
    )


def _rank(candidate: Candidate) -> tuple[int, int, int, int, int]:
    """Higher is better: a route label with paths, then known shapes (in their order),
    then any route label, then the most series."""
    return (
        int(candidate.route_paths),
        int(candidate.metric in KNOWN_SHAPES),
        int(bool(candidate.route_label)),
        -_KNOWN_ORDER.get(candidate.metric, len(_KNOWN_ORDER)),
        candidate.series,
    )


def choose_request_series(
    series_by_metric: Mapping[str, Sequence[Mapping[str, str]]],
    kinds: Mapping[str, str] | None = None,
    *,
    status_label: str = AUTO,
    route_label: str = AUTO,
) -> tuple[Candidate | None, tuple[Candidate, ...]]:
    """The best request series and the others that fit, best first."""
    kinds = kinds or {}
    found = [
        one
        for name, series in series_by_metric.items()
        if series and _likely_requests(name, kinds.get(name, ""))
        for one in [
            candidate_of(
                name,
                series,
                kind=kinds.get(name, ""),
                status_label=status_label,
                route_label=route_label,
            )
        ]
        if one is not None
    ]
    found.sort(key=_rank, reverse=True)
    return (found[0] if found else None), tuple(found[1:])


def metric_kinds(metadata: Any) -> dict[str, str]:
    """Metric name -> type from ``/api/v1/metadata``, with ``_count``/``_total`` names too."""
    kinds: dict[str, str] = {}
    if not isinstance(metadata, dict):
        return kinds
    for family, entries in metadata.items():
        kind = str(entries[0].get("type", "")) if isinstance(entries, list) and entries else ""
        kinds[family] = kind
        if kind in ("histogram", "summary", "gaugehistogram"):
            kinds[f"{family}_count"] = kind
        elif kind == "counter":
            kinds.setdefault(f"{family}_total", kind)
    return kinds


def names_to_fetch(names: Iterable[str], kinds: Mapping[str, str], pinned: str) -> list[str]:
    """The metric names whose series are worth fetching, the most likely first."""
    if pinned != AUTO:
        return [pinned]
    likely = [n for n in names if _likely_requests(n, kinds.get(n, ""))]
    likely.sort(key=lambda n: (n not in KNOWN_SHAPES, not n.endswith("_total"), n))
    return likely[:_MAX_CANDIDATES]
