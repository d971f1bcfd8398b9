"""Rate maths: classes, "now", the 5xx ratio split between test and application errors,
counter resets, backoff, spans and panel values."""

from __future__ import annotations

import pytest

from errwatch.core.incident.spans import Span, visible
from errwatch.core.metrics.panels import format_value
from errwatch.core.metrics.polling import Backoff
from errwatch.core.metrics.rates import (
    CounterHistory,
    MetricsSnapshot,
    RateSeries,
    SourceState,
    by_class,
)

T = 1_000.0


def snap(
    *series: RateSeries, test: tuple[RateSeries, ...] = (), split: bool = True
) -> MetricsSnapshot:
    return MetricsSnapshot(SourceState.UP, T, series, test_series=test, split=split, data_at=T)


def flat(status: str, rate: float, times: range = range(-2, 1)) -> RateSeries:
    return RateSeries(status, tuple((T + t, rate) for t in times))


def test_codes_sum_into_classes_point_by_point() -> None:
    classes = by_class([flat("200", 1.0), flat("201", 0.5), flat("404", 0.25), flat("500", 2)])
    assert [(s.status, s.points[-1][1]) for s in classes] == [
        ("2xx", 1.5),
        ("4xx", 0.25),
        ("5xx", 2.0),
    ]


def test_now_leaves_out_a_series_that_ended_earlier() -> None:
    # A label set that vanished two minutes ago is not "0.5 req/s now".
    gone = RateSeries("503", ((T - 120, 0.5),))
    assert snap(flat("200", 2.0), gone).current() == {"200": 2.0}


def test_injected_errors_do_not_count_as_application_errors() -> None:
    snapshot = snap(flat("200", 9.0), flat("500", 1.0 + 4.0), test=(flat("500", 4.0),))
    assert snapshot.error_ratio() == pytest.approx(5 / 14)
    assert snapshot.app_error_ratio() == pytest.approx(1 / 10)
    assert snapshot.test_error_rate() == 4.0
    assert snapshot.app_error_rate() == 1.0


def test_only_injection_traffic_means_no_application_ratio_at_all() -> None:
    snapshot = snap(flat("500", 4.0), test=(flat("500", 4.0),))
    assert snapshot.error_ratio() == 1.0
    assert snapshot.app_error_ratio() is None  # no traffic of its own: not "0 %"


def test_without_a_split_every_5xx_is_the_applications() -> None:
    snapshot = snap(flat("200", 3.0), flat("500", 1.0), split=False)
    assert snapshot.app_error_ratio() == snapshot.error_ratio() == 0.25


def test_no_traffic_has_no_ratio() -> None:
    assert snap(flat("200", 0.0), flat("500", 0.0)).error_ratio() is None


def test_ratio_over_time_skips_moments_without_traffic() -> None:
    ok = RateSeries("200", ((T - 2, 0.0), (T - 1, 3.0), (T, 3.0)))
    errors = RateSeries("500", ((T - 2, 0.0), (T - 1, 1.0), (T, 3.0)))
    test = (RateSeries("500", ((T - 1, 0.0), (T, 2.0))),)
    every, app = snap(ok, errors, test=test).ratio_points()
    assert every == ((T - 1, 0.25), (T, 0.5))
    assert app == ((T - 1, 0.25), (T, 0.25))


def test_a_counter_reset_never_gives_a_negative_rate() -> None:
    history = CounterHistory(window=10.0, keep=60.0)
    counts = [100.0, 110.0, 120.0, 3.0, 13.0, 23.0]  # the process restarted after 120
    for second, count in enumerate(counts):
        history.add(T + second, {"200": count})
    [series] = history.series()
    assert all(rate >= 0 for _, rate in series.points)
    # From 120 to 3 is a reset: 3 requests, not -117.
    assert series.points[-1] == (T + 5, pytest.approx((10 + 10 + 3 + 10 + 10) / 5))


def test_backoff_doubles_to_30s_and_resets_when_the_engine_answers() -> None:
    backoff = Backoff(refresh=2.0)
    delays = [backoff.next_delay(SourceState.UNREACHABLE) for _ in range(7)]
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.next_delay(SourceState.TARGET_DOWN) == 2.0  # answered: poll at refresh
    assert backoff.next_delay(SourceState.TIMEOUT) == 1.0


@pytest.mark.parametrize("state", [SourceState.BAD_QUERY, SourceState.UNAUTHORIZED])
def test_a_mistake_is_not_retried_fast(state: SourceState) -> None:
    assert Backoff(refresh=1.0).next_delay(state) == 30.0


def test_spans_are_clipped_to_the_chart_and_open_ones_run_to_now() -> None:
    spans = [
        Span(T - 500, T - 400, "long gone", "injection"),
        Span(T - 350, T - 200, "started before the range", "injection"),
        Span(T - 50, None, "still going", "alert"),
    ]
    shown = visible(spans, T - 300, T)
    assert [s.label for s in shown] == ["started before the range", "still going"]
    assert shown[0].clipped(T - 300, T) == (T - 300, T - 200)
    assert shown[1].clipped(T - 300, T) == (T - 50, T)


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.0523, "%", "5.2%"),
        (0.25, "s", "250ms"),
        (90.0, "s", "1m30s"),
        (1_500_000, "bytes", "1.5MB"),
        (12.345, "req/s", "12.3 req/s"),
        (2_500.0, "", "2.5k"),
        (float("nan"), "%", "NaN"),
        (float("inf"), "s", "+Inf"),
    ],
)
def test_panel_values_read_in_their_unit(value: float, unit: str, text: str) -> None:
    assert format_value(value, unit) == text
