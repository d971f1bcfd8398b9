"""PromQL text and the API's answers: the queries errwatch asks, and what the replies mean.

Everything here is plain functions over strings and decoded JSON, shared by every
PromQL engine errwatch talks to (Prometheus, VictoriaMetrics, Thanos, Mimir).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from errwatch.config import PrometheusConfig
from errwatch.core.metrics.panels import PanelSeries
from errwatch.core.metrics.rates import (
    InstanceRates,
    RateSeries,
    SourceState,
    add_series,
    normalize_status,
)

MAX_POINTS = 11_000
"""Prometheus refuses range queries of more than 11,000 points per series."""

PART_LABEL = "errwatch_part"
"""Label errwatch adds inside its query to mark requests to the injection route."""
TEST_PART = "test"
RESETS_PART = "resets"
DISTURBED_PART = "disturbed"
PROCESS_START = "process_start_time_seconds"
"""Exported by prometheus_client, the Go client and most others: one value per process."""
BACKWARDS_LOOKBACK = 3
"""Rate windows before a point in which a higher count of another process is looked for,
and in which its drops are counted."""

_RE2_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")
# VictoriaMetrics answers 422 for a query it cannot parse as well as for one it cannot
# run; its parser's messages say which.
_PARSE_MARKERS = (
    "cannot parse",
    "unparsed data",
    "unexpected token",
    "syntax error",
    "unknown func",
)


def string_literal(value: str) -> str:
    """A PromQL double-quoted string (Go escapes, which JSON's are a subset of)."""
    return json.dumps(value, ensure_ascii=False)


def regex_escape(text: str) -> str:
    """``text`` matched literally by an RE2 regular expression."""
    return _RE2_SPECIAL.sub(r"\\\1", text)


def selector(cfg: PrometheusConfig) -> str:
    """``{job="api",instance="host:5000",...}``: the API's own job and instance (when known,
    not "auto") and the configured extra matchers (braces optional in the config)."""
    parts = [
        f"{key}={string_literal(value)}"
        for key, value in (("job", cfg.job), ("instance", cfg.instance))
        if value and value != "auto"
    ]
    inner = cfg.selector.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1].strip()
    if inner:
        parts.append(inner)
    return f"{{{','.join(parts)}}}" if parts else ""


def window(seconds: float) -> str:
    """A PromQL range: whole seconds, at least 1."""
    return f"{max(1, round(seconds))}s"


def route_regex(injection_route: str, templates: tuple[str, ...] = ()) -> str:
    """The RE2 matching the route label's value(s) of the injection route: the route
    itself, and any template of the series that matches it ("/items/{id}")."""
    return "|".join(regex_escape(value) for value in dict.fromkeys((injection_route, *templates)))


def increase_rate(metric: str, sel: str, rate_window: float, up: str = "up") -> str:
    """Per-second increase over the window, by series, counting a series' first requests.

    ``rate()`` needs two samples and never sees the first value of a new series, and no
    exporter pre-creates its label sets: the first 500 of a route would be invisible. A
    series that was not there one window ago counts its whole value over the window
    (``m unless m offset w``), the others their ``rate()``. Only when its target was
    already scraped one window ago (``up offset w``, the ``up`` selector given): a series
    that shows up with its target (Prometheus just started, a target back after a long
    gap) carries counts from before and is left to ``rate()``.
    """
    span = window(rate_window)
    seconds = max(1, round(rate_window))
    series = f"{metric}{sel}"
    new = f"({series} unless {series} offset {span}) and on (job, instance) {up} offset {span}"
    return f"({new}) / {seconds} or rate({series}[{span}])"


def rate_query(
    cfg: PrometheusConfig, injection_route: str | None = None, templates: tuple[str, ...] = ()
) -> str:
    """Requests per second by status and instance over the rate window, summed over the rest.

    With a route label and an injection route, requests to that route get
    ``errwatch_part="test"`` so one query tells test errors from application errors.
    Counter drops inside the window come along as ``errwatch_part="resets"``, so
    counters that go backwards between scrapes are told, and the number of series whose
    window may not be requests at all (a drop inside, or a count below one the windows
    before it held) as ``errwatch_part="disturbed"``, so those points are not drawn.
    """
    sel = selector(cfg)
    rate = increase_rate(cfg.metric, sel, cfg.rate_window, up_query(cfg))
    status = cfg.status_label
    series = f"{cfg.metric}{sel}"
    span = window(cfg.rate_window)
    resets = _per_instance(f"sum by (instance) (resets({series}[{span}]))", RESETS_PART)
    # A drop inside the window is a process answering in place of another, unless the
    # process answering now started within the window: a restart, which rate() reads
    # right. A window that starts below the highest count of the windows before it and
    # climbs back to it holds a rise from a process with lower counts to one with higher
    # counts: no drop inside, yet not requests either; unless the process start time
    # changed once at most lately (a restart, not processes in turn). Without start
    # times, both shapes are left out.
    lookback = cfg.rate_window * BACKWARDS_LOOKBACK
    before = f"max_over_time({series}[{window(lookback)}] offset {span})"
    started = f"{PROCESS_START}{sel}"
    restarted = f"{started} > time() - {span[:-1]}"  # started within the window
    steady = f"changes({started}[{window(lookback + cfg.rate_window)}]) <= 1"
    disturbed = _per_instance(
        f"count by (instance) ("
        f"(resets({series}[{span}]) > 0 unless on (instance) {restarted}) or "
        f"(min_over_time({series}[{span}]) < {before} "
        f"and max_over_time({series}[{span}]) >= {before} "
        f"unless on (instance) resets({series}[{span}]) > 0 "
        f"unless on (instance) {steady}))",
        DISTURBED_PART,
    )
    parts = f"{resets} or {disturbed}"
    if not (cfg.route_label and injection_route):
        return f"sum by ({status}, instance) ({rate}) or {parts}"
    tagged = (
        f"label_replace({rate}, {string_literal(PART_LABEL)}, {string_literal(TEST_PART)}, "
        f"{string_literal(cfg.route_label)}, "
        f"{string_literal(route_regex(injection_route, templates))})"
    )
    return f"sum by ({status}, instance, {PART_LABEL}) ({tagged}) or {parts}"


def _per_instance(query: str, part: str) -> str:
    """``query`` (a vector by instance) marked as the ``part`` of :func:`rate_query`."""
    return f'label_replace({query}, {string_literal(PART_LABEL)}, "{part}", "instance", "(.*)")'


def up_query(cfg: PrometheusConfig) -> str:
    """``up`` of the API's job and instance: 0 means the target is down, not "no traffic"."""
    return f"up{selector(replace(cfg, selector=''))}"


def range_step(span: float, wanted: float = 1.0) -> float:
    """The step for a range query over ``span`` seconds: ``wanted``, widened to <= 11,000 points."""
    step = max(wanted, math.ceil(span / MAX_POINTS))
    while span / step + 1 > MAX_POINTS:  # both ends count as points
        step += 1
    return step


def sample_value(text: Any) -> float | None:
    """A sample's value as PromQL writes it ("1.5", "NaN", "+Inf"); None when not finite.

    NaN is what 0/0 gives (a ratio with no traffic), +Inf a division by 0: neither is a
    number of requests, so the point is left out and the chart shows a gap, never a 0.
    """
    value = float(text)
    return value if math.isfinite(value) else None


def _points(
    values: Iterable[Sequence[Any]], *, floor: float | None = None
) -> tuple[tuple[float, float], ...]:
    points = []
    for at, text in values:
        value = sample_value(text)
        if value is None:
            continue
        points.append((float(at), value if floor is None else max(floor, value)))
    return tuple(points)


@dataclass(frozen=True, slots=True)
class RateResult:
    """A :func:`rate_query` matrix, read: rates by status (all routes, injection route),
    by instance, the counter drops, and the status values that are not statuses."""

    every: tuple[RateSeries, ...] = ()
    test: tuple[RateSeries, ...] = ()
    instances: tuple[InstanceRates, ...] = ()
    resets: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    """instance -> (time, counter drops within the rate window ending then)."""
    disturbed: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    """instance -> (time, series whose rate window ending then went backwards)."""
    left_out: tuple[str, ...] = ()


def parse_rates(result: Any, status_label: str) -> RateResult:
    """A matrix from :func:`rate_query`, read.

    A rate is never negative: PromQL's rate() already treats a drop as a counter reset,
    and a negative value from any engine is clamped rather than drawn. Status values are
    normalized ("5" and "5xx" are 5xx classes); values that are not statuses are left out.
    """
    every: list[RateSeries] = []
    test: list[RateSeries] = []
    per_instance: dict[str, list[RateSeries]] = {}
    resets: dict[str, tuple[tuple[float, float], ...]] = {}
    disturbed: dict[str, tuple[tuple[float, float], ...]] = {}
    left_out: set[str] = set()
    for item in result:
        labels = item["metric"]
        instance = str(labels.get("instance", ""))
        if labels.get(PART_LABEL) == RESETS_PART:
            resets[instance] = _points(item["values"], floor=0.0)
            continue
        if labels.get(PART_LABEL) == DISTURBED_PART:
            disturbed[instance] = _points(item["values"], floor=0.0)
            continue
        raw = str(labels.get(status_label, ""))
        status = normalize_status(raw)
        if status is None:
            left_out.add(raw or f"(no {status_label})")
            continue
        one = RateSeries(status, _points(item["values"], floor=0.0))
        every.append(one)
        per_instance.setdefault(instance, []).append(one)
        if labels.get(PART_LABEL) == TEST_PART:
            test.append(one)
    instances = tuple(
        InstanceRates(name, add_series(series)) for name, series in sorted(per_instance.items())
    )
    return RateResult(
        add_series(every),
        add_series(test),
        instances,
        resets,
        disturbed,
        tuple(sorted(left_out)),
    )


def parse_panel(result: Any) -> tuple[PanelSeries, ...]:
    """A matrix -> panel series named by their labels (``__name__`` left out)."""
    series = []
    for item in result:
        labels = {k: v for k, v in item["metric"].items() if k != "__name__"}
        name = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
        series.append(PanelSeries(name, _points(item["values"])))
    return tuple(sorted(series, key=lambda s: s.labels))


def up_values(result: Any) -> tuple[float, ...]:
    """The values of an instant ``up`` vector (one per target)."""
    return tuple(float(item["value"][1]) for item in result)


def up_by_instance(result: Any) -> dict[str, float]:
    """An instant ``up`` vector as instance -> value."""
    return {str(item["metric"].get("instance", "")): float(item["value"][1]) for item in result}


_SCRAPE_PREFIX = re.compile(r'^(?:Get|error when scraping) "[^"]*": ')


def scrape_errors(data: Any, job: str, instance: str = "") -> tuple[str, ...]:
    """Why a job's targets are down, from ``/api/v1/targets``: each distinct last scrape
    error, in the engine's words without the URL it starts with (Prometheus: ``Get "<url>":
    ``, VictoriaMetrics: ``error when scraping "<url>": ``)."""
    targets = data.get("activeTargets") if isinstance(data, dict) else None
    found: dict[str, None] = {}
    for target in targets if isinstance(targets, list) else ():
        if not isinstance(target, dict) or target.get("health") != "down":
            continue
        labels = target.get("labels")
        if not isinstance(labels, dict) or labels.get("job") != job:
            continue
        if instance and labels.get("instance") != instance:
            continue
        error = _SCRAPE_PREFIX.sub("", str(target.get("lastError") or "").strip())
        if error:
            found[error] = None
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a query gave no data: a state and a plain explanation."""

    state: SourceState
    detail: str


class QueryFailed(Exception):
    """Raised inside a source to carry a :class:`Failure` out of a query."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.detail)
        self.failure = failure


SHOWN_CHARS = 200
"""How much of an answer that is not the API's JSON is shown (a proxy's page, a body)."""


def _unchanged(text: str) -> str:
    return text


def _text_of(body: str, content_type: str, redact: Callable[[str], str]) -> str:
    """The words of an answer as they will be shown: a page's title (or text), unescaped,
    masked, then cut. Masked after unescaping, since an escaped secret only shows once
    unescaped, and before cutting, since half a secret is still one."""
    if "html" in content_type or body.lstrip().lower().startswith(("<!doctype", "<html")):
        title = re.search(r"<title[^>]*>(.*?)</title>", body, re.IGNORECASE | re.DOTALL)
        body = title.group(1) if title else re.sub(r"<[^>]+>", " ", body)
        body = html.unescape(body)
    return redact(" ".join(body.split()))[:SHOWN_CHARS]


def classify_response(
    status: int, content_type: str, body: str, *, redact: Callable[[str], str] = _unchanged
) -> Failure:
    """Turn a non-200 answer from a PromQL API into a state with a plain explanation.

    ``redact`` masks the credentials in what is shown; it runs on the text as shown (the
    JSON decoded, the page unescaped) and on the raw body, in case the shown text is cut
    from it."""
    body = redact(body)
    if "json" in content_type:
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if isinstance(payload, dict) and payload.get("status") == "error":
            message = redact(str(payload.get("error", "")).strip())
            kind = str(payload.get("errorType", ""))
            if status == 400 and kind == "bad_data":
                return Failure(SourceState.BAD_QUERY, message)
            if status == 422 and any(marker in message for marker in _PARSE_MARKERS):
                return Failure(SourceState.BAD_QUERY, message)
            label = kind if kind and not kind.isdigit() else f"HTTP {status}"
            return Failure(SourceState.QUERY_ERROR, f"{label}: {message}")
    text = _text_of(body, content_type, redact)
    if status in (401, 403):
        what = "refused the credentials" if status == 401 else "forbids this query"
        return Failure(
            SourceState.UNAUTHORIZED,
            f"HTTP {status}: the server {what} (see [prometheus.auth])",
        )
    if status == 400 and "auth" in text.lower():  # vmauth: 400 "cannot find the ... token"
        return Failure(SourceState.UNAUTHORIZED, f"HTTP 400: {text} (see [prometheus.auth])")
    html_page = "html" in content_type
    by = " (an HTML page: a proxy in front of the engine?)" if html_page else ""
    if status == 503 and not html_page:
        return Failure(SourceState.STARTING, f"503 {text or 'Service Unavailable'}")
    if status == 504:
        return Failure(SourceState.TIMEOUT, f"HTTP 504 {text or 'Gateway Timeout'}{by}")
    return Failure(SourceState.QUERY_ERROR, f"HTTP {status}: {text or 'no body'}{by}")


def connection_detail(error: BaseException, where: str) -> Failure:
    """A connection failure (no HTTP answer at all) as a state and a short reason."""
    text = str(error)
    reasons = (
        (("Connection refused",), f"connection refused: nothing listens on {where}"),
        (
            (
                "Name or service not known",
                "nodename nor servname",
                "name resolution",
                "NameResolutionError",
                "No address associated",
            ),
            f"DNS: cannot resolve the host of {where}",
        ),
        (
            ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed"),
            f"TLS: the certificate of {where} is not trusted "
            "(set prometheus.ca_file, or tls_verify = false)",
        ),
        (("WRONG_VERSION_NUMBER", "wrong version number"), f"TLS: {where} does not speak TLS"),
        (("No route to host",), f"no route to host {where}"),
        (
            ("RemoteDisconnected", "Connection reset", "Connection aborted"),
            f"{where} closed the connection without answering",
        ),
    )
    for markers, reason in reasons:
        if any(marker in text for marker in markers):
            return Failure(SourceState.UNREACHABLE, reason)
    return Failure(SourceState.UNREACHABLE, f"{where}: {text.split(': ', 1)[-1][:160]}")
