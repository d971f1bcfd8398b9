"""What the injector got back, by status and second: the part of the 5xx errwatch caused.

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
from collections.abc import Callable, Iterable

from errwatch.core.metrics.rates import RateSeries, normalize_status, status_class

KEEP = 3600.0
"""Seconds of answers kept (longer than any chart range worth estimating over)."""


class AnswerLedger:
    """Answers counted by status and whole second.

    The injector writes from its event loop, the metrics sources read from their poll
    thread: every access takes the lock (a few dict operations).
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._seconds: dict[int, dict[str, int]] = {}

    def add(self, status: str, at: float | None = None) -> None:
        """Count one answer with HTTP ``status`` received at ``at`` (now by default)."""
        second = math.floor(self._clock() if at is None else at)
        with self._lock:
            row = self._seconds.setdefault(second, {})
            row[status] = row.get(status, 0) + 1
            if len(self._seconds) > KEEP:
                for old in [s for s in self._seconds if s < second - KEEP]:
                    del self._seconds[old]

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._seconds)

    def counts(self, start: float, end: float) -> dict[str, int]:
        """Answers by status received in the seconds within ``(start, end]``."""
        found: dict[str, int] = {}
        with self._lock:
            for second, row in self._seconds.items():
                if start < second + 0.5 <= end:
                    for status, count in row.items():
                        found[status] = found.get(status, 0) + count
        return found

    def rates(self, at: float, window: float, lag: float = 0.0) -> dict[str, float]:
        """Answers per second by status over the rate window ending at ``at``.

        Prometheus's rate at ``at`` covers its last scrapes, up to one scrape interval
        (``lag``) older than ``at``: the window is also taken ``lag`` earlier, and the
        larger count kept, so an injection that just stopped is not taken for the
        application's errors while it is still in Prometheus's window.
        """
        best: dict[str, float] = {}
        for shift in {0.0, lag / 2, lag}:
            for status, count in self.counts(at - shift - window, at - shift).items():
                best[status] = max(best.get(status, 0.0), count / window)
        return best

    def series(
        self, times: Iterable[float], window: float, lag: float = 0.0, *, classes: bool = False
    ) -> tuple[RateSeries, ...]:
        """Injected answers per second by status at each of ``times`` (classes if asked)."""
        points: dict[str, dict[float, float]] = {}
        for at in sorted(set(times)):
            for status, rate in self.rates(at, window, lag).items():
                shown = normalize_status(status) or status
                if classes:
                    shown = status_class(shown)
                row = points.setdefault(shown, {})
                row[at] = row.get(at, 0.0) + rate
        return tuple(
            RateSeries(status, tuple(sorted(row.items()))) for status, row in sorted(points.items())
        )
