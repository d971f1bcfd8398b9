"""The facts of an incident, derived once from a recording; every section of the
post-mortem (errwatch/core/incident/report.py) is written from them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from errwatch.core.incident.faultwindows import FaultWindow, from_events
from errwatch.core.incident.recording import RecordedGroup, RecordedSession
from errwatch.core.incident.timeline import EventKind, TimelineEvent


@dataclass(frozen=True, slots=True)
class Window:
    """A time span; ``end`` None when it was still open at the end of the recording."""

    start: float
    end: float | None


@dataclass(frozen=True, slots=True)
class Facts:
    """What the recording says happened, derived once and used by every section."""

    started: float
    ended: float
    target: str
    injection_route: str
    query: str
    metric: str
    status_label: str
    injections: tuple[Window, ...]
    first_error: float | None
    detected: float | None
    detected_by: str
    recovered: float | None
    last_injection_stop: float | None
    errors: int
    injected_errors: int
    max_ratio: float | None
    max_app_ratio: float | None
    severity: str
    top_group: RecordedGroup | None
    test_alerts: int
    app_alerts: int
    outside_window: tuple[RecordedGroup, ...]
    faults: tuple[FaultWindow, ...] = ()
    """Fault windows of errwatch's proxies on the links to dependencies."""
    fault_errors: int = 0
    """Tracebacks seen during a fault window (test-induced, on the API's own routes)."""
    fault_groups: tuple[tuple[RecordedGroup, int], ...] = ()
    """Groups with tracebacks during fault windows, and how many, most first."""
    fault_alerts: int = 0
    """Alerts that fired inside a fault window (counted in test_alerts too)."""
    reading: str = ""
    """What discovery chose ("metric{job, instance} status ..., route ..."); "" if pinned."""


def _five_xx(session: RecordedSession) -> dict[float, float]:
    totals: dict[float, float] = {}
    for at, status, rate in session.rates:
        if status.startswith("5"):
            totals[at] = totals.get(at, 0.0) + rate
        else:
            totals.setdefault(at, 0.0)
    return totals


def _windows(events: Iterable[TimelineEvent]) -> tuple[Window, ...]:
    windows: list[Window] = []
    open_at: float | None = None
    for event in events:
        if event.kind is EventKind.INJECTION_STARTED:
            open_at = event.at
        elif event.kind in (EventKind.INJECTION_STOPPED, EventKind.INJECTION_ABORTED):
            if open_at is not None:
                windows.append(Window(open_at, event.at))
            open_at = None
    if open_at is not None:
        windows.append(Window(open_at, None))
    return tuple(windows)


def _inside(at: float, windows: Iterable[Window], grace: float) -> bool:
    return any(
        w.start - grace <= at <= (w.end if w.end is not None else at) + grace for w in windows
    )


def severity_of(app_errors: int, app_seconds: float, max_app_ratio: float | None) -> str:
    """low / medium / high from application errors only (test errors never raise it)."""
    ratio = max_app_ratio or 0.0
    if app_errors == 0:
        return "low"
    if ratio >= 0.5 or app_seconds >= 900:
        return "high"
    if ratio >= 0.05 or app_seconds >= 300 or app_errors >= 100:
        return "medium"
    return "low"


def analyse(session: RecordedSession) -> Facts:
    """Derive the facts of the incident from a recording."""
    meta = session.meta
    events = session.events
    injections = _windows(events)
    five_xx = _five_xx(session)
    error_times = [at for at, rate in sorted(five_xx.items()) if rate > 0]
    group_starts = [e.at for e in events if e.kind is EventKind.NEW_GROUP]
    candidates = [*error_times[:1], *group_starts[:1]]
    first_error = min(candidates) if candidates else None
    firing = [e for e in events if e.kind is EventKind.ALERT_FIRING]
    readings = [
        str(e.data.get("detail", ""))
        for e in events
        if e.kind is EventKind.SOURCE and e.data.get("state") == "reading"
    ]
    detection = next((e for e in firing if first_error is None or e.at >= first_error), None)
    stops = [w.end for w in injections if w.end is not None]
    last_stop = max(stops) if stops else None
    last_error = error_times[-1] if error_times else None
    recovered = None
    if last_error is not None:
        later = [at for at, rate in sorted(five_xx.items()) if at > last_error and rate == 0]
        recovered = later[0] if later else None
    ratios = [r for _, r, _ in session.ratios if r is not None]
    app_ratios = [r for _, _, r in session.ratios if r is not None]
    errors = sum(g.count for g in session.groups)
    injected = sum(g.injected for g in session.groups)
    during = session.fault_errors

    def own(group: RecordedGroup) -> int:  # neither injected nor during a fault
        return max(0, group.application - during.get(group.fingerprint, 0))

    app_groups = sorted(
        (g for g in session.groups if own(g)), key=lambda g: (-own(g), g.first_seen)
    )
    fault_groups = tuple(
        sorted(
            ((g, during[g.fingerprint]) for g in session.groups if during.get(g.fingerprint)),
            key=lambda pair: -pair[1],
        )
    )
    top = (
        app_groups[0]
        if app_groups
        else fault_groups[0][0]
        if fault_groups
        else (session.groups[0] if session.groups else None)
    )
    app_span = sum(max(0.0, g.last_seen - g.first_seen) for g in session.groups if own(g))
    fault_errors = sum(count for _, count in fault_groups)
    route = meta.get("injection_route", "/error")
    outside = tuple(
        g
        for g in session.groups
        if g.route == route
        and not (_inside(g.first_seen, injections, 5) and _inside(g.last_seen, injections, 5))
    )
    started = float(meta.get("started", events[0].at if events else 0.0))
    last = max([started, *(e.at for e in events), *(at for at, _, _ in session.rates)])
    return Facts(
        started=started,
        ended=float(meta.get("ended", last)),
        target=meta.get("target", "?"),
        injection_route=route,
        query=meta.get("query", ""),
        reading=readings[-1] if readings else "",
        metric=meta.get("metric", "http_requests_total"),
        status_label=meta.get("status_label", "status"),
        injections=injections,
        first_error=first_error,
        detected=detection.at if detection else None,
        detected_by=str(detection.data.get("name", detection.text)) if detection else "",
        recovered=recovered,
        last_injection_stop=last_stop,
        errors=errors,
        injected_errors=injected,
        max_ratio=max(ratios) if ratios else None,
        max_app_ratio=max(app_ratios) if app_ratios else None,
        severity=severity_of(
            errors - injected - fault_errors, app_span, max(app_ratios) if app_ratios else None
        ),
        top_group=top,
        test_alerts=sum(1 for e in firing if e.test),
        app_alerts=sum(1 for e in firing if not e.test),
        outside_window=outside,
        faults=from_events(events).all(),
        fault_errors=fault_errors,
        fault_groups=fault_groups,
        fault_alerts=sum(1 for e in firing if e.data.get("during")),
    )
