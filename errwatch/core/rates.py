"""Rate models and the maths over them: status classes, the 5xx ratio, counter deltas."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

Point = tuple[float, float]
"""(unix time in seconds, requests per second)."""


class SourceState(StrEnum):
    """What a metrics source is doing, as shown to a person."""

    CONNECTING = "connecting"
    UP = "up"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    STARTING = "starting"
    BAD_QUERY = "bad query"
    QUERY_ERROR = "query error"
    STALE = "stale"
    TARGET_DOWN = "target down"
    NO_DATA = "no data"

    @property
    def healthy(self) -> bool:
        """Whether data shown in this state is current."""
        return self in (SourceState.UP, SourceState.NO_DATA)


@dataclass(frozen=True, slots=True)
class RateSeries:
    """Requests per second over time for one status code (or class)."""

    status: str
    points: tuple[Point, ...]

    @property
    def last(self) -> Point | None:
        """The newest point, if any."""
        return self.points[-1] if self.points else None


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """One poll's outcome: the state, and the newest good data (maybe old, see data_at)."""

    state: SourceState
    at: float
    series: tuple[RateSeries, ...] = ()
    detail: str = ""
    data_at: float | None = None
    mode: str = "prometheus"

    @property
    def age(self) -> float | None:
        """Seconds since the data shown was fetched."""
        return None if self.data_at is None else max(0.0, self.at - self.data_at)

    def current(self) -> dict[str, float]:
        """Newest rate per status."""
        return {s.status: s.points[-1][1] for s in self.series if s.points}

    def error_ratio(self) -> float | None:
        """Share of 5xx among all requests now; None when there is no traffic to divide by."""
        return error_ratio(self.current())


def status_class(status: str) -> str:
    """ "500" -> "5xx"; anything not a 3-digit code is kept as is."""
    return f"{status[0]}xx" if len(status) == 3 and status.isdigit() else status


def finite(value: float) -> float:
    """NaN and infinities (an empty window, a division by zero in PromQL) count as 0 req/s."""
    return value if math.isfinite(value) else 0.0


def error_ratio(current: Mapping[str, float]) -> float | None:
    """5xx rate over total rate; None when the total is 0."""
    total = sum(current.values())
    if total <= 0:
        return None
    errors = sum(rate for status, rate in current.items() if status.startswith("5"))
    return errors / total


def by_class(series: Iterable[RateSeries]) -> tuple[RateSeries, ...]:
    """Sum series of codes into series of classes (2xx, 3xx, 4xx, 5xx), point by point."""
    sums: dict[str, dict[float, float]] = {}
    for one in series:
        bucket = sums.setdefault(status_class(one.status), {})
        for at, rate in one.points:
            bucket[at] = bucket.get(at, 0.0) + rate
    return tuple(
        RateSeries(name, tuple(sorted(points.items()))) for name, points in sorted(sums.items())
    )


class CounterHistory:
    """Per-status counter samples -> rates, with counter resets handled as Prometheus does."""

    def __init__(self, window: float, keep: float) -> None:
        self.window = window
        self.keep = keep
        # status -> [(time, reset-adjusted cumulative count)]
        self._samples: dict[str, list[Point]] = {}
        self._raw: dict[str, float] = {}

    def add(self, at: float, counts: Mapping[str, float]) -> None:
        """Record the counters read at ``at``."""
        for status, value in counts.items():
            previous = self._raw.get(status)
            samples = self._samples.setdefault(status, [])
            adjusted = samples[-1][1] if samples else 0.0
            if previous is None:
                adjusted = value
            elif value >= previous:
                adjusted += value - previous
            else:  # reset: the process restarted and counts from 0 again
                adjusted += value
            self._raw[status] = value
            samples.append((at, adjusted))
            cutoff = at - self.keep - self.window
            while samples and samples[0][0] < cutoff:
                samples.pop(0)

    def series(self) -> tuple[RateSeries, ...]:
        """Rate per status at every sample time, over the configured window."""
        out = []
        for status, samples in sorted(self._samples.items()):
            points = []
            start = 0
            for at, count in samples:
                while samples[start][0] < at - self.window:
                    start += 1
                first_at, first_count = samples[start]
                if at > first_at:
                    points.append((at, (count - first_count) / (at - first_at)))
            out.append(RateSeries(status, tuple(points)))
        return tuple(out)
