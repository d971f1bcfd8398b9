"""Test errors told apart without a route label: the injector's own answers, by status and
time, subtracted from the totals over the same rate window (an estimate, said as such)."""

from __future__ import annotations

import pytest

from errwatch.core.injection.answers import AnswerLedger
from errwatch.core.injection.estimate import estimated_split
from errwatch.core.injection.guard import split_of
from errwatch.core.metrics.rates import MetricsSnapshot, Point, RateSeries, SourceState
from errwatch.core.metrics.samples import SCRAPE_DURATION, TIMESTAMP_SLACK, counter_increases

T0 = 1_800_000_000.0


def steady(ledger: AnswerLedger, start: float, seconds: float, rate: float, status: str) -> None:
    """``rate`` answers per second with ``status`` from ``start`` for ``seconds``."""
    count = round(seconds * rate)
    for index in range(count):
        ledger.add(status, start + index / rate)


def test_a_steady_injection_reads_as_its_rate() -> None:
    ledger = AnswerLedger()
    steady(ledger, T0, 30, 10, "500")
    steady(ledger, T0, 30, 1, "200")
    rates = ledger.rates(T0 + 20, window=10, interval=1)
    assert rates["500"] == pytest.approx(10, rel=0.12)
    assert rates["200"] == pytest.approx(1, rel=0.2)
    assert ledger.counts(T0 + 10, T0 + 20) == {"500": 100, "200": 10}


def test_at_the_edges_it_never_reads_less_than_prometheus_would() -> None:
    # 2.5 s into an injection at 10/s, Prometheus's rate() over 4 s extrapolates what its
    # scrapes saw to the whole window; the plain count over the window is short of it.
    ledger = AnswerLedger()
    steady(ledger, T0, 2.5, 10, "500")
    at = T0 + 2.5
    plain = ledger.counts(at - 4, at)["500"] / 4  # 25 answers: 6.25/s
    # Scrapes at T0-0.75, T0+0.25, T0+1.25, T0+2.25 read 0, 3, 13, 23: an increase of 23
    # over 3 s, the window's ends 0.75 s and 0.25 s away: extrapolated to 4 s, 7.67/s.
    prometheus = 23 * 4 / 3 / 4
    assert ledger.rates(at, window=4, interval=1)["500"] >= prometheus - 1e-9 > plain


def test_an_injection_just_stopped_still_counts_while_the_engine_lags() -> None:
    ledger = AnswerLedger()
    steady(ledger, T0, 10, 10, "500")
    # 2 s after the stop, the window (T0+8, T0+12] holds 20 answers (5/s), but scrapes at
    # T0+8.25 ... T0+11.25 read 83 then 100: 17 over 3 s, extrapolated to 4 s: 5.67/s.
    assert ledger.rates(T0 + 12, window=4, interval=1)["500"] >= 17 * 4 / 3 / 4 - 1e-9
    assert ledger.rates(T0 + 15, window=4, interval=1) == {"500": 0.0}
    assert ledger.rates(T0 + 30, window=4, interval=1) == {}


def test_series_follow_the_chart_and_the_series_shape() -> None:
    ledger = AnswerLedger()
    steady(ledger, T0, 20, 5, "503")
    [codes] = ledger.series([T0 + 10, T0 + 15], window=10)
    assert codes.status == "503" and [at for at, _ in codes.points] == [T0 + 10, T0 + 15]
    [classes] = ledger.series([T0 + 10], window=10, classes=True)
    assert classes.status == "5xx"


def matrix(*series: tuple[dict[str, str], list[tuple[float, float]]]) -> list[object]:
    """A range selector's answer, as the PromQL API writes it."""
    return [
        {"metric": labels, "values": [[at, f"{value:g}"] for at, value in values]}
        for labels, values in series
    ]


def scrapes(times: list[float], took: float = 0.01) -> tuple[dict[str, str], list[Point]]:
    return {"__name__": SCRAPE_DURATION, "instance": "app:80"}, [(t, took) for t in times]


def counter(status: str, values: list[Point]) -> tuple[dict[str, str], list[Point]]:
    labels = {"__name__": "flask_http_request_total", "instance": "app:80", "status": status}
    return labels, values


TIMES = [T0 + 0.3, T0 + 1.3, T0 + 2.3, T0 + 3.3]


def test_increases_count_from_the_engines_scrapes_and_a_new_series_from_zero() -> None:
    found = counter_increases(
        matrix(
            scrapes(TIMES, took=0.05),
            counter("200", [(t, 100 + 5 * i) for i, t in enumerate(TIMES)]),
            counter("500", [(TIMES[2], 4), (TIMES[3], 1)]),  # new, then a reset
        ),
        "flask_http_request_total",
        read_bound=1.0,
    )
    ok, errors = sorted(found, key=lambda one: one.labels["status"])
    assert (ok.start, ok.end, ok.increase) == (TIMES[0], TIMES[3], 15)
    assert ok.end_read == pytest.approx(0.05 + TIMESTAMP_SLACK)
    # Missing at the scrape before its first sample: 0 then (its first requests count).
    assert (errors.start, errors.increase) == (TIMES[1], 4 + 1)


def test_the_split_compares_the_counters_with_the_answers_between_the_same_scrapes() -> None:
    # Injection starts between two scrapes, at 10 answers/s, each answered in 20 ms; the
    # app answers 5/s of 200 of its own and no 500: the estimate finds none, whatever
    # rate() would extrapolate at this edge.
    ledger = AnswerLedger()
    for index in range(20):
        sent = T0 + 1.4 + index / 10
        ledger.add("500", sent + 0.02, sent)
    counted = [sum(1 for a in ledger.answers(0, t) if a.received - 0.01 <= t) for t in TIMES]
    increases = counter_increases(
        matrix(
            scrapes(TIMES),
            counter("200", [(t, 100 + 5 * i) for i, t in enumerate(TIMES)]),
            counter("500", [(t, 7 + n) for t, n in zip(TIMES, counted, strict=True)]),
        ),
        "flask_http_request_total",
        read_bound=1.0,
    )
    split = estimated_split(increases, "status", ledger.answers(T0, T0 + 5))
    assert split is not None and split.estimated
    assert split.app_ratio == 0.0 and split.app_ratio_low == 0.0
    assert split.injected_errors == pytest.approx(counted[-1] / 3)
    assert split.at == TIMES[-1]


def test_answers_in_flight_over_a_scrape_are_not_charged_to_a_healthy_app() -> None:
    # Seen on a real Flask app: the injector's sends fell a few ms after each scrape
    # (10/s, in phase with the 1 s scrapes, reads taking 15 ms). Over the window both
    # edge answers were counted inside it; placed at their midpoint, one of them fell
    # outside, and one 500 out of the 15 200 of the window read as a 6 % application
    # ratio. Every 500 can be errwatch's own: none is the application's.
    ledger = AnswerLedger()
    for index in range(31):
        sent = TIMES[0] + 0.0015 + index / 10
        ledger.add("500", sent + 0.0133, sent)
    increases = counter_increases(
        matrix(
            scrapes(TIMES, took=0.0155),
            counter("200", [(t, 100 + 5 * i) for i, t in enumerate(TIMES)]),
            counter("500", [(t, 40 + 10 * i + (i == 3)) for i, t in enumerate(TIMES)]),
        ),
        "flask_http_request_total",
        read_bound=1.0,
    )
    split = estimated_split(increases, "status", ledger.answers(T0 - 5, T0 + 5))
    assert split is not None
    assert (split.app_ratio, split.app_ratio_low, split.app_errors) == (0.0, 0.0, 0.0)
    assert split.injected_errors == pytest.approx(31 / 3)


def test_real_application_errors_stand_out_of_the_margin() -> None:
    ledger = AnswerLedger()
    for index in range(40):
        sent = T0 + index / 10
        ledger.add("500", sent + 0.3, sent)  # slow answers: a wide margin
    # 2 application 500 per second besides the injector's 10, and 5 200 per second.
    increases = counter_increases(
        matrix(
            scrapes(TIMES),
            counter("200", [(t, 100 + 5 * i) for i, t in enumerate(TIMES)]),
            counter("500", [(t, 50 + 12 * i) for i, t in enumerate(TIMES)]),
        ),
        "flask_http_request_total",
        read_bound=1.0,
    )
    split = estimated_split(increases, "status", ledger.answers(T0 - 5, T0 + 5))
    assert split is not None and split.app_ratio is not None and split.app_ratio_low is not None
    assert split.app_ratio == pytest.approx(6 / 21)
    assert 0.05 < split.app_ratio_low < split.app_ratio
    # The margin: answers in flight across the first or the last scrape.
    assert split.app_errors == pytest.approx(2.0)


def test_classes_take_the_answers_by_class_and_no_counter_is_no_split() -> None:
    ledger = AnswerLedger()
    ledger.add("503", T0 + 1.0, T0 + 0.9)
    labels = {"__name__": "m", "instance": "app:80", "code": "5xx"}
    increases = counter_increases(
        matrix(scrapes(TIMES), (labels, [(TIMES[0], 3), (TIMES[3], 4)])), "m", read_bound=1.0
    )
    split = estimated_split(increases, "code", ledger.answers(T0, T0 + 5))
    assert split is not None and split.app_ratio is None  # the one 5xx was errwatch's
    assert estimated_split(increases, "status", ledger.answers(T0, T0 + 5)) is None


def test_an_estimated_snapshot_says_so_and_keeps_the_app_ratio_clean() -> None:
    points = ((T0, 10.0),)
    snapshot = MetricsSnapshot(
        SourceState.UP,
        T0,
        (RateSeries("200", ((T0, 5.0),)), RateSeries("500", points)),
        test_series=(RateSeries("500", ((T0, 11.0),)),),  # the estimate runs a bit high
        split=True,
        estimated=True,
        data_at=T0,
    )
    assert snapshot.app_error_ratio() == 0.0
    every, app = snapshot.ratio_points()
    assert every == ((T0, 10 / 15),) and app == ((T0, 0.0),)


def test_the_dashboards_guard_gets_the_margins_lowest_ratio() -> None:
    snapshot = MetricsSnapshot(
        SourceState.UP,
        T0,
        (RateSeries("200", ((T0, 5.0),)), RateSeries("500", ((T0, 1.0),))),
        split=True,
        estimated=True,
        data_at=T0,
        app_ratio_low=0.01,
    )
    split = split_of(snapshot)
    assert split is not None and split.estimated
    assert (split.app_ratio, split.app_ratio_low) == (pytest.approx(1 / 6), 0.01)
