"""What every metrics source shares: the protocol the rates panel polls, the backoff
between polls, and failures turned into states that keep the last good data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from errwatch.core.metrics.promql import Failure, connection_detail
from errwatch.core.metrics.rates import MetricsSnapshot, SourceState
from errwatch.core.units import format_duration

Clock = Callable[[], float]


class MetricsSource(Protocol):
    """Anything the rates panel can poll."""

    @property
    def mode(self) -> str:
        """How the data is obtained: "prometheus" or "direct scrape"."""
        ...

    def poll(self) -> MetricsSnapshot:
        """Fetch once (blocking) and describe the outcome."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class Backoff:
    """Delay before the next poll: the refresh interval while the engine answers, else
    doubling from 1 s to 30 s; straight to 30 s when retrying cannot help (a bad query,
    refused credentials), so a mistake is not hammered at the refresh rate."""

    def __init__(self, refresh: float, first: float = 1.0, ceiling: float = 30.0) -> None:
        self.refresh = refresh
        self.first = first
        self.ceiling = ceiling
        self._failures = 0

    def next_delay(self, state: SourceState) -> float:
        """Seconds to wait after a poll that ended in ``state``."""
        if state.answered:
            self._failures = 0
            return self.refresh
        self._failures += 1
        if state in (SourceState.BAD_QUERY, SourceState.UNAUTHORIZED):
            return self.ceiling
        return min(self.ceiling, self.first * 2.0 ** (self._failures - 1))


def failed_snapshot(
    last: MetricsSnapshot | None, now: float, failure: Failure, mode: str
) -> MetricsSnapshot:
    """A failure that keeps the last good data, marked with the time it was current."""
    if last is None:
        return MetricsSnapshot(failure.state, now, detail=failure.detail, mode=mode)
    return replace(last, state=failure.state, at=now, detail=failure.detail, mode=mode)


TOO_DEEP = Failure(SourceState.QUERY_ERROR, "unreadable answer: its JSON is nested too deeply")
"""A JSON answer nested beyond what a parser can follow (no PromQL API sends one)."""


def request_failure(error: BaseException, where: str, timeout: float) -> Failure:
    """A request that got no (whole) answer: a timeout, or why the connection failed."""
    import requests

    # Without client retries urllib3 wraps a read timeout in a connection error.
    if isinstance(error, requests.Timeout) or "timed out" in str(error):
        return Failure(SourceState.TIMEOUT, f"no answer within {format_duration(timeout)}")
    return connection_detail(error, where)


def unreadable(error: BaseException) -> Failure:
    return Failure(
        SourceState.QUERY_ERROR,
        f"unreadable answer (cut short, or not the PromQL API's JSON): {type(error).__name__}",
    )
