"""The application's 5xx without a route label: the counters' increases between the
engine's own scrapes, minus the injector's answers between the same scrapes.

Comparing like with like: no rate() extrapolation on one side and a guess of it on the
other, but the counts the engine holds at the times it holds them. What stays uncertain
is which answers a scrape saw: a request is counted by the application between the
moment it left the injector and the moment its answer came back, and a scrape reads the
counter within its scrape duration after its timestamp. Answers in flight across a
scrape may be on either side: they make the margin, and the guard acts only on what
stays above it (:attr:`ErrorSplit.app_ratio_low`).

Where the injector's answers can explain every 5xx of a status (the margin reaches zero
application errors), none of them is charged to the application, not even in the
central estimate: an answer in flight placed on the wrong side of a scrape would
otherwise show as an application error that never happened (one in the 15 to 20
requests of a few seconds of light traffic is a 5 % ratio). Once some 5xx are certainly
the application's, answers in flight are placed where they most likely were, and the
estimate is central.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from errwatch.core.injection.answers import Answer
from errwatch.core.injection.guard import ErrorSplit
from errwatch.core.metrics.rates import normalize_status, status_class
from errwatch.core.metrics.samples import TIMESTAMP_SLACK, CounterIncrease


@dataclass(frozen=True, slots=True)
class _Bounds:
    """Counts of one status: lowest, estimated, highest."""

    low: float = 0.0
    mid: float = 0.0
    high: float = 0.0

    def __add__(self, other: _Bounds) -> _Bounds:
        return _Bounds(self.low + other.low, self.mid + other.mid, self.high + other.high)


def estimated_split(
    increases: Sequence[CounterIncrease],
    status_label: str,
    answers: Iterable[Answer],
) -> ErrorSplit | None:
    """The 5xx split from raw counter increases and the injector's answers; None when no
    series rose over two scrapes yet (nothing to compare)."""
    by_status: dict[str, list[CounterIncrease]] = {}
    for one in increases:
        status = normalize_status(one.labels.get(status_label, ""))
        if status is not None:
            by_status.setdefault(status, []).append(one)
    if not by_status:
        return None
    classes = all(status.endswith("xx") for status in by_status)
    mine: dict[str, list[Answer]] = {}
    for answer in answers:
        key = normalize_status(answer.status) or answer.status
        mine.setdefault(status_class(key) if classes else key, []).append(answer)
    app_errors = app_ok = injected = _Bounds()
    for status, series in by_status.items():
        total = sum(one.increase for one in series)
        caused = _injected(series, mine.get(status, []))
        # The application's part: the total less the injector's, never below zero.
        app = _Bounds(
            max(0.0, total - caused.high),
            max(0.0, total - caused.mid),
            max(0.0, total - caused.low),
        )
        if status.startswith("5"):
            if app.low == 0:  # errwatch's own answers may explain them all
                app = _Bounds(0.0, 0.0, app.high)
            app_errors += app
            # What is not the application's is errwatch's.
            injected += _Bounds(min(total, caused.low), total - app.mid, min(total, caused.high))
        else:
            app_ok += app
    start = min(one.start for one in increases)
    end = max(one.end for one in increases)
    seconds = max(end - start, 1e-9)
    ratio = _ratio(app_errors.mid, app_ok.mid)
    return ErrorSplit(
        at=end,
        app_ratio=ratio,
        app_errors=app_errors.mid / seconds,
        injected_errors=injected.mid / seconds,
        estimated=True,
        # The lowest ratio the margin allows: fewest errors over the most requests.
        app_ratio_low=None if ratio is None else (_ratio(app_errors.low, app_ok.high) or 0.0),
    )


def _ratio(errors: float, ok: float) -> float | None:
    return errors / (errors + ok) if errors + ok > 0 else None


def _injected(series: Sequence[CounterIncrease], answers: Sequence[Answer]) -> _Bounds:
    """The injector's answers counted between the scrapes of ``series``: those the scrapes
    certainly saw (low), those most likely counted between them (mid), those they may
    have seen."""
    if not answers:
        return _Bounds()
    # Series of one status may differ in their first scrape (a new one): the widest and
    # the narrowest of their spans bound the count.
    first, last = min(one.start for one in series), max(one.start for one in series)
    early_end, late_end = min(one.end for one in series), max(one.end for one in series)
    first_read = max(one.start_read for one in series)
    last_read = max(one.end_read for one in series)
    low = mid = high = 0
    for answer in answers:
        # Certainly counted by the last scrape and not by the first.
        if answer.sent > last + first_read and answer.received <= early_end - TIMESTAMP_SLACK:
            low += 1
        # Counted, most likely, halfway between leaving and coming back; read, most
        # likely, halfway through the scrape.
        counted = (answer.sent + answer.received) / 2
        if first + first_read / 2 < counted <= late_end + last_read / 2:
            mid += 1
        # Maybe counted by the last scrape and maybe not by the first.
        if answer.received > first - TIMESTAMP_SLACK and answer.sent <= late_end + last_read:
            high += 1
    return _Bounds(low, mid, high)
