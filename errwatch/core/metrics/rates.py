"""Rate models and the maths over them: status classes, the 5xx ratio, counter deltas."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from errwatch.core.metrics.panels import PanelReading

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
    UNAUTHORIZED = "unauthorized"

    @property
    def healthy(self) -> bool:
        """Whether data shown in this state is current."""
        return self in (SourceState.UP, SourceState.NO_DATA)

    @property
    def answered(self) -> bool:
        """Whether the engine answered the query (the data may still say something is wrong)."""
        return self in (
            SourceState.UP,
            SourceState.NO_DATA,
            SourceState.STALE,
            SourceState.TARGET_DOWN,
        )


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
    """One poll's outcome: the state, and the newest good data (maybe old, see data_at).

    ``series`` are rates by status code over the chart range. When the source can tell
    the injection route apart (``split``), ``test_series`` is the part of them on that
    route: "test errors"; the rest is the application's own traffic.
    """

    state: SourceState
    at: float
    series: tuple[RateSeries, ...] = ()
    detail: str = ""
    data_at: float | None = None
    """Time the newest data shown refers to; ``at - data_at`` is its age."""
    mode: str = "prometheus"
    test_series: tuple[RateSeries, ...] = ()
    split: bool = False
    step: float = 1.0
    """Seconds between two points of a series."""
    panels: tuple[PanelReading, ...] = ()
    estimated: bool = False
    """The split is an estimate: the injector's own answers subtracted from the totals
    (the series has no route label to tell the injection route apart)."""
    instances: tuple[InstanceRates, ...] = ()
    """Rates by status per scraped instance (several replicas or test hosts)."""
    instances_up: tuple[int, int] | None = None
    """(instances up, instances scraped) of the API's job, from ``up``."""
    found: str = ""
    """What discovery chose (metric, labels, job, instance), in one line; "" when pinned."""
    notes: tuple[str, ...] = ()
    """Things a person must know about the data (values left out, classes only...)."""
    classes_only: bool = False
    """The status label holds classes ("5xx", Envoy's "5"), not codes."""
    app_ratio_low: float | None = None
    """With an estimated split: the lowest application 5xx ratio now that the estimate's
    margin allows (from the engine's raw samples); None when not known."""

    @property
    def age(self) -> float | None:
        """Seconds since the data shown was current."""
        return None if self.data_at is None else max(0.0, self.at - self.data_at)

    def newest(self) -> float | None:
        """Time of the newest point of any series."""
        return max((s.points[-1][0] for s in self.series if s.points), default=None)

    def _current(self, series: tuple[RateSeries, ...]) -> dict[str, float]:
        # A series that ended earlier (a label set that disappeared) is not "now".
        newest = self.newest()
        if newest is None:
            return {}
        tolerance = self.step / 2
        return {
            s.status: s.points[-1][1]
            for s in series
            if s.points and s.points[-1][0] >= newest - tolerance
        }

    def current(self) -> dict[str, float]:
        """Newest rate per status, all routes."""
        return self._current(self.series)

    def current_test(self) -> dict[str, float]:
        """Newest rate per status on the injection route (empty when not split)."""
        return self._current(self.test_series)

    def current_app(self) -> dict[str, float]:
        """Newest rate per status on every route but the injection route."""
        test = self.current_test()
        return {
            status: max(0.0, rate - test.get(status, 0.0))
            for status, rate in self.current().items()
        }

    def error_ratio(self) -> float | None:
        """Share of 5xx among all requests now; None when there is no traffic to divide by."""
        return error_ratio(self.current())

    def app_error_ratio(self) -> float | None:
        """Share of 5xx among requests to routes other than the injection route: the
        application's own errors. Without a route split every 5xx counts as the app's."""
        return error_ratio(self.current_app())

    def test_error_rate(self) -> float:
        """5xx per second on the injection route now: errors errwatch caused on purpose."""
        return error_rate(self.current_test())

    def app_error_rate(self) -> float:
        """5xx per second on every other route now."""
        return error_rate(self.current_app())

    def ratio_points(self) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
        """5xx ratio over time: (all routes, application routes only); no point without traffic."""
        total = _by_time(self.series)
        test = _by_time(self.test_series)
        every, app = [], []
        for at, rates in sorted(total.items()):
            ratio = error_ratio(rates)
            if ratio is not None:
                every.append((at, ratio))
            # An estimated test part may run above the total for a moment: never below 0.
            own = {
                status: max(0.0, rate - test.get(at, {}).get(status, 0.0))
                for status, rate in rates.items()
            }
            ratio = error_ratio(own)
            if ratio is not None:
                app.append((at, ratio))
        return tuple(every), tuple(app)


@dataclass(frozen=True, slots=True)
class InstanceRates:
    """Rates by status of one scraped instance."""

    instance: str
    series: tuple[RateSeries, ...]

    def ratio_points(self) -> tuple[Point, ...]:
        """This instance's 5xx ratio over time (no point without traffic)."""
        points = []
        for at, rates in sorted(_by_time(self.series).items()):
            ratio = error_ratio(rates)
            if ratio is not None:
                points.append((at, ratio))
        return tuple(points)

    def current_ratio(self) -> float | None:
        """The newest 5xx ratio of this instance."""
        points = self.ratio_points()
        return points[-1][1] if points else None


def worst_first(instances: Iterable[InstanceRates]) -> tuple[InstanceRates, ...]:
    """Instances by their newest 5xx ratio, the worst first (no traffic last)."""
    return tuple(
        sorted(
            instances,
            key=lambda one: (one.current_ratio() is None, -(one.current_ratio() or 0.0)),
        )
    )


def _by_time(series: Iterable[RateSeries]) -> dict[float, dict[str, float]]:
    table: dict[float, dict[str, float]] = {}
    for one in series:
        for at, rate in one.points:
            row = table.setdefault(at, {})
            row[one.status] = row.get(one.status, 0.0) + rate
    return table


def add_series(*groups: Iterable[RateSeries]) -> tuple[RateSeries, ...]:
    """Sum series with the same status point by point (same timestamps, as a range query gives)."""
    sums: dict[str, dict[float, float]] = {}
    for group in groups:
        for one in group:
            bucket = sums.setdefault(one.status, {})
            for at, rate in one.points:
                bucket[at] = bucket.get(at, 0.0) + rate
    return tuple(
        RateSeries(name, tuple(sorted(points.items()))) for name, points in sorted(sums.items())
    )


def status_class(status: str) -> str:
    """ "500" -> "5xx"; anything not a 3-digit code is kept as is."""
    return f"{status[0]}xx" if len(status) == 3 and status.isdigit() else status


def normalize_status(value: str) -> str | None:
    """A status label's value as errwatch counts it, or None when it is not a status.

    Exporters write a code ("500"), a class ("5xx", "5XX") or, like Envoy, the class's
    digit alone ("5"); all three count. Anything else (VTS's "total", an enum's
    "HTTPStatus.OK") is not a status and is never summed.
    """
    text = value.strip()
    if len(text) == 3 and text.isdigit() and "1" <= text[0] <= "5":
        return text
    if len(text) == 3 and text[0] in "12345" and text[1:].lower() == "xx":
        return f"{text[0]}xx"
    if len(text) == 1 and text in "12345":
        return f"{text}xx"
    return None


def is_class(status: str) -> bool:
    """Whether a normalized status is a class ("5xx") rather than a code."""
    return status.endswith("xx")


def error_rate(current: Mapping[str, float]) -> float:
    """5xx requests per second."""
    return sum(rate for status, rate in current.items() if status.startswith("5"))


def error_ratio(current: Mapping[str, float]) -> float | None:
    """5xx rate over total rate; None when the total is 0."""
    total = sum(current.values())
    if total <= 0:
        return None
    return error_rate(current) / total


def by_class(series: Iterable[RateSeries]) -> tuple[RateSeries, ...]:
    """Sum series of codes into series of classes (2xx, 3xx, 4xx, 5xx), point by point."""
    return add_series(RateSeries(status_class(one.status), one.points) for one in series)


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
