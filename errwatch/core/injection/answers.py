"""What the injector got back, by status and time: the part of the 5xx errwatch caused.

Where the request series has no route label (prometheus-flask-exporter's counter,
Traefik, Envoy), Prometheus cannot tell injected requests from the others. The injector
knows every answer it got; over the same rate window, its 5xx are the part of the total
5xx rate that errwatch caused, and the rest is the application's own: an *estimate*,
said as such everywhere it is shown.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from errwatch.core.metrics.rates import RateSeries, normalize_status, status_class

KEEP = 3600.0
"""Seconds of answers kept (longer than any chart range worth estimating over)."""


RESOLUTION = 0.1
"""Seconds of one bucket of answers."""
PHASES = (0.0, 0.25, 0.5, 0.75)
"""Scrape times tried, as fractions of the scrape interval (the engine's are not known)."""
EXACT_KEEP = 600.0
"""Seconds of answers kept one by one, with the times their requests left and their answers
came back (the guard's estimate compares them with the engine's own scrape times)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer: its status, when its request left and when the answer came back.

    The application counted the request somewhere in between: a scrape of its counter
    at ``t`` has certainly seen it when ``received <= t``, certainly not when ``sent > t``.
    """

    status: str
    sent: float
    received: float


class AnswerLedger:
    """Answers counted by status and tenth of a second.

    The injector writes from its event loop, the metrics sources read from their poll
    thread: every access takes the lock (a few dict operations).
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[int, dict[str, int]] = {}
        self._exact: deque[Answer] = deque()

    def add(self, status: str, at: float | None = None, sent: float | None = None) -> None:
        """Count one answer with HTTP ``status`` received at ``at`` (now by default) to a
        request sent at ``sent`` (``at`` when not given: a request that took no time)."""
        at = self._clock() if at is None else at
        bucket = math.floor(at / RESOLUTION)
        with self._lock:
            self._exact.append(Answer(status, at if sent is None else min(sent, at), at))
            while self._exact and self._exact[0].received < at - EXACT_KEEP:
                self._exact.popleft()
            row = self._buckets.setdefault(bucket, {})
            row[status] = row.get(status, 0) + 1
            oldest = bucket - KEEP / RESOLUTION
            if len(self._buckets) > KEEP / RESOLUTION:
                for old in [b for b in self._buckets if b < oldest]:
                    del self._buckets[old]

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._buckets)

    def _events(self, start: float, end: float) -> dict[str, list[tuple[float, int]]]:
        """(time, count) per status for the buckets within ``(start, end]``, in time order."""
        found: dict[str, list[tuple[float, int]]] = {}
        with self._lock:
            rows = [(b, row) for b, row in self._buckets.items() if start < b * RESOLUTION <= end]
        for bucket, row in sorted(rows, key=lambda pair: pair[0]):
            for status, count in row.items():
                found.setdefault(status, []).append((bucket * RESOLUTION, count))
        return found

    def answers(self, start: float, end: float) -> tuple[Answer, ...]:
        """Answers kept one by one whose request was in flight within ``[start, end]``."""
        with self._lock:
            return tuple(a for a in self._exact if a.received >= start and a.sent <= end)

    def counts(self, start: float, end: float) -> dict[str, int]:
        """Answers by status received within ``(start, end]`` (to a tenth of a second)."""
        return {
            status: sum(count for _, count in events)
            for status, events in self._events(start, end).items()
        }

    def rates(self, at: float, window: float, interval: float = 1.0) -> dict[str, float]:
        """Answers per second by status, as the engine's rate over ``window`` at ``at``
        could count them: an upper estimate, so errwatch's own errors are never taken
        for the application's.

        The engine sees the app's counter only at its scrapes (every ``interval``, at
        times errwatch does not know) and extrapolates between them (Prometheus's
        ``rate()``), so the plain count over the window can be short of it by up to a
        scrape's worth at the edges of an injection. Kept: the largest of the plain
        count over the window, the same window one scrape and half a scrape earlier (the
        engine's data lags), and Prometheus's extrapolation over scrapes at several
        phases.
        """
        events = self._events(at - window - 2 * interval, at)
        best: dict[str, float] = {}
        for status, rows in events.items():
            candidates = [
                sum(count for t, count in rows if at - shift - window < t <= at - shift) / window
                for shift in (0.0, interval / 2, interval)
            ]
            for phase in PHASES:
                scrapes = []
                when = at - phase * interval
                while when >= at - window:
                    scrapes.append(when)
                    when -= interval
                if len(scrapes) >= 2:
                    scrapes.reverse()
                    values = [sum(count for t, count in rows if t <= s) for s in scrapes]
                    candidates.append(_extrapolated(scrapes, values, at - window, at) / window)
            best[status] = max(candidates)
        return best

    def series(
        self, times: Iterable[float], window: float, interval: float = 1.0, *, classes: bool = False
    ) -> tuple[RateSeries, ...]:
        """Injected answers per second by status at each of ``times`` (classes if asked)."""
        points: dict[str, dict[float, float]] = {}
        for at in sorted(set(times)):
            for status, rate in self.rates(at, window, interval).items():
                shown = normalize_status(status) or status
                if classes:
                    shown = status_class(shown)
                row = points.setdefault(shown, {})
                row[at] = row.get(at, 0.0) + rate
        return tuple(
            RateSeries(status, tuple(sorted(row.items()))) for status, row in sorted(points.items())
        )


def _extrapolated(times: list[float], values: list[int], start: float, end: float) -> float:
    """The increase Prometheus's rate() reports for samples ``values`` at ``times`` over
    ``[start, end]``: the sampled increase, extrapolated to the window's ends when the
    first and last samples are close to them (within 1.1 average intervals), else by
    half an interval (promql's extrapolatedRate, without its zero clamp: a larger
    estimate is the safe side here)."""
    increase = float(values[-1] - values[0])
    sampled = times[-1] - times[0]
    if increase <= 0 or sampled <= 0:
        return 0.0
    average = sampled / (len(times) - 1)
    threshold = average * 1.1
    covered = sampled
    for gap in (times[0] - start, end - times[-1]):
        covered += gap if gap < threshold else average / 2
    return increase * covered / sampled
