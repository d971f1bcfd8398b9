"""Test errors told apart without a route label: the injector's own answers, by status and
time, subtracted from the totals over the same rate window (an estimate, said as such)."""

from __future__ import annotations

import pytest

from errwatch.core.injection.answers import AnswerLedger
from errwatch.core.injection.guard import split_errors
from errwatch.core.injection.probe import INJECTED, estimated_rows
from errwatch.core.metrics.rates import MetricsSnapshot, RateSeries, SourceState

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


def test_estimated_rows_take_the_injected_part_from_its_status_or_class() -> None:
    rows = [("", "5xx", 12.0), ("", "2xx", 8.0)]
    split = split_errors(estimated_rows(rows, {"500": 10.0}), INJECTED, T0)
    assert split.injected_errors == pytest.approx(10.0)
    assert split.app_errors == pytest.approx(2.0)
    assert split.app_ratio == pytest.approx(2.0 / 10.0)
    # Never below zero: more injected than the engine has seen yet.
    split = split_errors(estimated_rows([("", "500", 3.0)], {"500": 10.0}), INJECTED, T0)
    assert (split.injected_errors, split.app_errors) == (3.0, 0.0)


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
