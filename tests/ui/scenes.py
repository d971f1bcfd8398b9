"""Recorded metrics for deterministic pictures: five minutes of a small API, at a fixed time.

Every time on screen derives from ``AT`` (the chart is drawn relative to the snapshot's
own time), so the pictures do not change between runs: the clock is frozen by the data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

from errwatch.config import Config, DashboardConfig, InjectionConfig, PrometheusConfig
from errwatch.core.incident.spans import Span
from errwatch.core.metrics.panels import PanelReading, PanelSeries, PanelState
from errwatch.core.metrics.rates import MetricsSnapshot, RateSeries, SourceState

AT = 1_800_000_000.0
"""The recorded "now" (2027-01-15 08:00 UTC)."""
RANGE = 300.0
INJECTION = (AT - 150.0, AT - 60.0)
"""Fault injection on /error at 4 req/s, from -2m30 to -1m."""


def _wave(at: float, base: float, swing: float, period: float) -> float:
    return round(base + swing * math.sin(at / period), 3)


def _times(end: float) -> list[float]:
    return [end - RANGE + i for i in range(int(RANGE) + 1)]


def _series(status: str, rate: Callable[[float], float], end: float) -> RateSeries:
    return RateSeries(status, tuple((at, rate(at)) for at in _times(end)))


def _between(start: float, end: float, rate: float) -> Callable[[float], float]:
    return lambda at: rate if start <= at <= end else 0.0


_injected = _between(*INJECTION, 4.0)
_app_500 = _between(AT - 45, AT - 25, 0.4)
"""A short burst of the application's own errors, after the injection."""


def live(
    *,
    at: float = AT,
    test: Callable[[float], float] = _injected,
    app_500: Callable[[float], float] = _app_500,
) -> MetricsSnapshot:
    """Healthy traffic; by default an injection window in the past and a burst of app errors."""
    series = (
        _series("200", lambda t: _wave(t, 3.0, 0.8, 20.0), at),
        _series("201", lambda t: _wave(t, 0.6, 0.2, 30.0), at),
        _series("404", lambda t: _wave(t, 0.25, 0.1, 15.0), at),
        _series("500", lambda t: test(t) + app_500(t), at),
    )
    return MetricsSnapshot(
        SourceState.UP,
        at,
        series,
        data_at=at,
        test_series=(_series("500", test, at),),
        split=True,
        step=1.0,
    )


def injecting() -> MetricsSnapshot:
    """Injection running for the last 30 s: the overall ratio is critical, the app's is not."""
    return live(test=_between(AT - 30, AT, 4.0), app_500=_between(0, 0, 0.0))


def failed(state: SourceState, detail: str, *, age: float = 42.0) -> MetricsSnapshot:
    """A poll that failed ``age`` seconds after the last good data, which is kept."""
    good = live(at=AT - age)
    return replace(good, state=state, at=AT, detail=detail, data_at=AT - age)


STATES: dict[str, MetricsSnapshot] = {
    "up": live(),
    "injecting": injecting(),
    "unreachable": failed(
        SourceState.UNREACHABLE, "connection refused: nothing listens on 127.0.0.1:9090"
    ),
    "timeout": failed(SourceState.TIMEOUT, "no answer within 2s"),
    "starting": MetricsSnapshot(
        SourceState.STARTING, AT, detail="503 Service Unavailable", data_at=None
    ),
    "bad-query": MetricsSnapshot(
        SourceState.BAD_QUERY,
        AT,
        detail="1:58: parse error: unexpected character inside braces: '\"'",
    ),
    "query-error": failed(
        SourceState.QUERY_ERROR,
        "execution: query processing would load too many samples into memory in query execution",
        age=12.0,
    ),
    "stale": replace(
        live(at=AT - 31.0),
        state=SourceState.STALE,
        at=AT,
        data_at=AT - 31.0,
        detail="the engine answers, but its newest point is 31s old",
    ),
    "target-down": replace(
        live(at=AT - 9.0),
        state=SourceState.TARGET_DOWN,
        at=AT,
        data_at=AT - 9.0,
        detail='up{job="api"} is 0 for its target: down, not "no traffic"',
    ),
    "no-data": MetricsSnapshot(
        SourceState.NO_DATA,
        AT,
        data_at=AT,
        detail='no series match http_requests_total{job="api"}',
    ),
    "unauthorized": MetricsSnapshot(
        SourceState.UNAUTHORIZED,
        AT,
        detail="HTTP 401: the server refused the credentials (see [prometheus.auth])",
    ),
}


SPANS = (
    Span(INJECTION[0], INJECTION[1], "inject 4/s", "injection"),
    Span(AT - 40, None, "5xx app", "alert"),
)

PANELS = (
    PanelReading(
        "p95 latency",
        "s",
        PanelState.UP,
        (PanelSeries("", tuple((at, _wave(at, 0.08, 0.03, 25.0)) for at in _times(AT))),),
    ),
    PanelReading(
        "errors/min",
        "",
        PanelState.BAD_QUERY,
        detail="1:14: parse error: unexpected <by>",
    ),
)


def config(**prometheus: object) -> Config:
    """A config like the demo's; times and thresholds as the pictures expect."""
    return Config(
        prometheus=PrometheusConfig(range=RANGE, refresh=1.0, **prometheus),  # type: ignore[arg-type]
        injection=InjectionConfig(),
        dashboard=DashboardConfig(ratio_warning=0.01, ratio_critical=0.05),
    )
