"""Fault windows: when a proxy's fault was on, and whether a moment falls inside one.

Errors on the API's ordinary routes cannot be told apart by route when a dependency's
link is broken: the API fails on its own routes, as it would for real. What tells them
apart is time. An error seen while a fault window is open (or just after: a delayed
request times out later, and rates look back over their window) is *during a fault*:
test-induced; the others are the application's own. This module only knows windows and
moments, so it composes with however the metrics split traffic by route.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from errwatch.core.incident.timeline import EventKind, TimelineEvent

LOG_GRACE = 5.0
"""Seconds after a window during which a new traceback still counts as during it: a
request held by a delay, or one that timed out, is logged after the fault ended."""


@dataclass(frozen=True, slots=True)
class FaultWindow:
    """One fault on one link, from ``start`` to ``end`` (None: still on), unix seconds."""

    name: str
    """The proxy's name, e.g. "inventory"."""
    fault: str
    """The fault in words, e.g. "delay 2s on 50% of requests"."""
    start: float
    end: float | None = None

    @property
    def label(self) -> str:
        """``inventory: delay 2s on 50% of requests``."""
        return f"{self.name}: {self.fault}"

    def covers(self, at: float, after: float) -> bool:
        """Whether ``at`` is inside the window, or within ``after`` seconds of its end."""
        return self.start <= at and (self.end is None or at <= self.end + after)


class FaultWindows:
    """Every fault window of a run, in order."""

    def __init__(self) -> None:
        self._windows: list[FaultWindow] = []

    def open(self, name: str, fault: str, start: float) -> None:
        """A fault window began."""
        self._windows.append(FaultWindow(name, fault, start))

    def close(self, name: str, end: float) -> FaultWindow | None:
        """The newest open window of ``name`` ended; that window, or None if none was open."""
        for index in range(len(self._windows) - 1, -1, -1):
            window = self._windows[index]
            if window.name == name and window.end is None:
                self._windows[index] = replace(window, end=end)
                return self._windows[index]
        return None

    def during(self, at: float, after: float = LOG_GRACE) -> FaultWindow | None:
        """The newest window ``at`` falls in (``after`` seconds past its end included)."""
        return next((w for w in reversed(self._windows) if w.covers(at, after)), None)

    def all(self) -> tuple[FaultWindow, ...]:
        """Every window, oldest first."""
        return tuple(self._windows)

    def __bool__(self) -> bool:
        return bool(self._windows)


def from_events(events: Iterable[TimelineEvent]) -> FaultWindows:
    """The windows a recorded timeline tells (fault started / stopped events)."""
    windows = FaultWindows()
    for event in events:
        name = str(event.data.get("name", ""))
        if event.kind is EventKind.FAULT_STARTED:
            windows.open(name, str(event.data.get("fault", "")), event.at)
        elif event.kind is EventKind.FAULT_STOPPED:
            windows.close(name, event.at)
    return windows
