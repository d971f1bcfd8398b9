"""The incident timeline: every notable moment as a timestamped event."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

MAX_EVENTS = 5000
"""Events kept in memory; the recording keeps them all."""


class EventKind(StrEnum):
    """What kind of moment an event is."""

    INJECTION_STARTED = "injection started"
    INJECTION_STOPPED = "injection stopped"
    INJECTION_ABORTED = "injection aborted"
    FAULT_STARTED = "fault started"
    FAULT_STOPPED = "fault stopped"
    NEW_GROUP = "new traceback group"
    ALERT_FIRING = "alert firing"
    ALERT_RESOLVED = "alert resolved"
    SOURCE = "source"
    LOG = "log"
    MARK = "mark"


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One moment: when, what kind, a one-line text, whether test traffic caused it."""

    at: float
    kind: EventKind
    text: str
    test: bool = False
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


class Timeline:
    """Events in arrival order, bounded; read newest first."""

    def __init__(self, limit: int = MAX_EVENTS) -> None:
        self._events: deque[TimelineEvent] = deque(maxlen=limit)

    def add(self, event: TimelineEvent) -> TimelineEvent:
        """Append one event."""
        self._events.append(event)
        return event

    def extend(self, events: Iterable[TimelineEvent]) -> None:
        """Append several events."""
        self._events.extend(events)

    def newest_first(self) -> tuple[TimelineEvent, ...]:
        """Every event, newest first by its own time (a backfilled log's events are old);
        events of the same instant in causal order (a state, then what it caused)."""
        return tuple(sorted(self._events, key=_order, reverse=True))

    def __len__(self) -> int:
        return len(self._events)


_CAUSAL = {
    kind: rank
    for rank, kind in enumerate(
        (
            EventKind.SOURCE,
            EventKind.LOG,
            EventKind.INJECTION_STARTED,
            EventKind.FAULT_STARTED,
            EventKind.NEW_GROUP,
            EventKind.ALERT_FIRING,
            EventKind.ALERT_RESOLVED,
            EventKind.INJECTION_STOPPED,
            EventKind.INJECTION_ABORTED,
            EventKind.FAULT_STOPPED,
            EventKind.MARK,
        )
    )
}


def _order(event: TimelineEvent) -> tuple[float, int, str]:
    return event.at, _CAUSAL[event.kind], event.text


def event(
    at: float, kind: EventKind, text: str, *, test: bool = False, **data: Any
) -> TimelineEvent:
    """Build an event; ``data`` is kept read-only and must be JSON-able (it is recorded)."""
    return TimelineEvent(at, kind, text, test, MappingProxyType(dict(data)))


# -- the events errwatch records: one constructor each, so the data is always complete ---


def injection_started(
    at: float, *, method: str, route: str, rate: float, run: str
) -> TimelineEvent:
    """Fault injection began."""
    return event(
        at,
        EventKind.INJECTION_STARTED,
        f"injection started: {method} {route} at {rate:g}/s",
        test=True,
        method=method,
        route=route,
        rate=rate,
        run=run,
    )


def injection_stopped(
    at: float, *, route: str, reason: str, sent: int, errors: int, aborted: bool = False
) -> TimelineEvent:
    """Fault injection ended (``aborted`` when the guard stopped it)."""
    kind = EventKind.INJECTION_ABORTED if aborted else EventKind.INJECTION_STOPPED
    verb = "aborted" if aborted else "stopped"
    return event(
        at,
        kind,
        f"injection {verb} ({reason}): {sent} requests, {errors} 5xx",
        test=True,
        route=route,
        reason=reason,
        sent=sent,
        errors=errors,
    )


def fault_started(at: float, *, name: str, fault: str, listen: str, upstream: str) -> TimelineEvent:
    """A proxy's fault window opened on the link to a dependency."""
    return event(
        at,
        EventKind.FAULT_STARTED,
        f"fault started on {name}: {fault}",
        test=True,
        name=name,
        fault=fault,
        listen=listen,
        upstream=upstream,
    )


def fault_stopped(at: float, *, name: str, reason: str, seen: int, faulted: int) -> TimelineEvent:
    """A proxy's fault window closed: everything passes again."""
    return event(
        at,
        EventKind.FAULT_STOPPED,
        f"fault stopped on {name} ({reason}): {faulted} of {seen} faulted",
        test=True,
        name=name,
        reason=reason,
        seen=seen,
        faulted=faulted,
    )


def _during(fault: str) -> str:
    return f" during fault {fault}" if fault else ""


def new_group(
    at: float, *, type: str, where: str, injected: bool, fault: str = ""
) -> TimelineEvent:
    """The first occurrence of a traceback group (``fault``: the link's fault it came in)."""
    return event(
        at,
        EventKind.NEW_GROUP,
        f"first {type} at {where}{_during(fault)}",
        test=injected or bool(fault),
        type=type,
        where=where,
        during=fault,
    )


def alert_changed(
    at: float, *, name: str, firing: bool, value: float | None, test: bool, fault: str = ""
) -> TimelineEvent:
    """An alert fired or resolved (``fault``: it fired inside that fault's window)."""
    kind = EventKind.ALERT_FIRING if firing else EventKind.ALERT_RESOLVED
    shown = "" if value is None else f" ({value:.3g})"
    verb = "firing" if firing else "resolved"
    text = f"alert {name} {verb}{shown}{_during(fault) if firing else ''}"
    return event(at, kind, text, test=test, name=name, value=value, during=fault)


def source_changed(at: float, *, source: str, state: str, detail: str = "") -> TimelineEvent:
    """A data source changed state (Prometheus unreachable, target down, up again)."""
    text = f"{source} {state}" + (f": {detail}" if detail else "")
    return event(at, EventKind.SOURCE, text, source=source, state=state, detail=detail)


def log_changed(at: float, *, path: str, state: str, detail: str = "") -> TimelineEvent:
    """A followed log was rotated, truncated, went missing or came back."""
    name = path.rsplit("/", 1)[-1]
    text = f"log {name} {state}" + (f": {detail}" if detail else "")
    return event(at, EventKind.LOG, text, path=path, state=state, detail=detail)


def mark(at: float, note: str) -> TimelineEvent:
    """A note a person added."""
    return event(at, EventKind.MARK, f"mark: {note}", note=note)
