"""One dashboard run as an incident: its timeline, its alerts, its recording.

The dashboard hands :class:`Incident` what its panels see (metrics snapshots, traceback
updates, injection counters, a person's marks); the incident turns them into timeline
events, evaluates the alert rules, records everything, and says which spans the chart
should mark. It holds no reference to the UI.
"""

from __future__ import annotations

import subprocess
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from errwatch.core.incident import timeline as tl
from errwatch.core.incident.alerts import (
    AlertEngine,
    AlertRule,
    AlertStatus,
    AlertTransition,
    Observation,
)
from errwatch.core.incident.faultwindows import FaultWindow, FaultWindows
from errwatch.core.incident.recording import Recorder
from errwatch.core.incident.spans import Span
from errwatch.core.incident.timeline import Timeline, TimelineEvent
from errwatch.core.injection.faults import ProxyStats
from errwatch.core.injection.injector import InjectionStats
from errwatch.core.logs.follow import FollowState
from errwatch.core.logs.grouping import ErrorGroup, fingerprint, fingerprint_parts, injected
from errwatch.core.logs.logwatch import TracebackUpdate
from errwatch.core.metrics.rates import MetricsSnapshot, SourceState

TRACEBACK_WINDOW = 60.0
"""Tracebacks are counted over the last minute for the traceback_rate alerts."""
COMMAND_TIMEOUT = 10.0
"""An alert command has this long to finish."""
_NOTABLE_FILE_STATES = (
    FollowState.ROTATED,
    FollowState.TRUNCATED,
    FollowState.MISSING,
    FollowState.UNREADABLE,
    FollowState.EXITED,
    FollowState.RECONNECTING,
)
_RECOVERIES = {
    FollowState.FOLLOWING: (
        FollowState.MISSING,
        FollowState.UNREADABLE,
        FollowState.RECONNECTING,
    ),
    FollowState.RUNNING: (FollowState.EXITED, FollowState.RESTARTING),
}
"""A source back from a notable state: a file found again, a host reached again, a
command started again."""


@dataclass(frozen=True, slots=True)
class IncidentUpdate:
    """What one observation changed: new timeline events, alert transitions, alert states."""

    events: tuple[TimelineEvent, ...] = ()
    transitions: tuple[AlertTransition, ...] = ()
    statuses: tuple[AlertStatus, ...] = ()


def where(group: ErrorGroup) -> str:
    """``file.py:12 in function`` of a group's location."""
    frame = group.location
    if frame is None:
        return "?"
    return f"{frame.file.rsplit('/', 1)[-1]}:{frame.line} in {frame.function}"


def run_alert_command(transition: AlertTransition) -> str:
    """Run the rule's command with the alert as JSON on stdin; "" or a line saying what failed."""
    argv = list(transition.rule.command)
    try:
        done = subprocess.run(
            argv,
            input=transition.to_json(),
            text=True,
            capture_output=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"alert command {argv[0]} failed: {error}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1]
        return f"alert command {argv[0]} exited with {done.returncode} {last}".rstrip()
    return ""


class Incident:
    """Timeline + alert rules + recording of one dashboard run."""

    def __init__(
        self,
        rules: Sequence[AlertRule],
        *,
        injection_route: str,
        method: str = "GET",
        recorder: Recorder | None = None,
        rate_window: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.timeline = Timeline()
        self.alerts = AlertEngine(rules)
        self.recorder = recorder
        self.injection_route = injection_route
        self.method = method
        # Injected requests stay in rate() this long after the injection stops.
        self.linger = rate_window + 5.0
        self._clock = clock
        self._source: tuple[str, SourceState] | None = None
        self._found = ""
        self._metrics: MetricsSnapshot | None = None
        self._files: dict[str, FollowState] = {}
        self._tracebacks: deque[tuple[float, bool]] = deque()
        self._new_groups: list[tuple[str, bool]] = []
        self._recorded: dict[str, int] = {}
        self._injection: InjectionStats | None = None
        self._spans: list[Span] = []
        self._firing: dict[str, float] = {}
        self.faults = FaultWindows()
        """When each proxy's fault was on: errors then are during a fault, not the app's."""
        self._proxies: dict[str, ProxyStats] = {}
        self.fault_errors: dict[str, int] = {}
        """Tracebacks seen during a fault window, per group fingerprint."""

    # -- what the panels see -----------------------------------------------------------

    def observe_metrics(self, snapshot: MetricsSnapshot) -> IncidentUpdate:
        """A metrics poll: its state change, its rates (recorded), then the alerts."""
        events = []
        state = snapshot.state
        source = (snapshot.mode, state)  # a hand-over (direct scrape -> Prometheus) is news too
        if source != self._source and not (
            self._source is None and state is SourceState.CONNECTING
        ):
            name = "Prometheus" if snapshot.mode == "prometheus" else snapshot.mode
            detail = "" if state.healthy else snapshot.detail
            events.append(
                tl.source_changed(snapshot.at, source=name, state=str(state), detail=detail)
            )
        self._source = source
        if snapshot.found and snapshot.found != self._found:
            # What discovery chose, once: the report's "key metric" and "estimated" come
            # from it.
            self._found = snapshot.found
            name = "Prometheus" if snapshot.mode == "prometheus" else snapshot.mode
            events.append(
                tl.source_changed(snapshot.at, source=name, state="reading", detail=snapshot.found)
            )
        if state.healthy and snapshot.data_at is not None:
            # Failed polls keep the last good values: an unreachable Prometheus is not
            # a recovery, so it neither fires nor resolves an alert.
            self._metrics = snapshot
            if self.recorder is not None:
                self.recorder.add_rates(
                    snapshot.data_at,
                    snapshot.current(),
                    snapshot.error_ratio(),
                    snapshot.app_error_ratio(),
                )
        return self._evaluate(events, snapshot.at)

    def observe_tracebacks(self, update: TracebackUpdate) -> IncidentUpdate:
        """New traceback groups, log file changes, traceback counts for the rate alerts."""
        now = self._clock()
        events = []
        for group in update.new_groups:
            window = self.faults.during(group.first_seen)
            fault = window.label if window is not None else ""
            test = group.application == 0 or window is not None
            events.append(
                tl.new_group(
                    group.first_seen,
                    type=group.type,
                    where=where(group),
                    injected=group.application == 0,
                    fault=fault,
                )
            )
            self._new_groups.append((f"{group.type} at {where(group)}", test))
        for change in update.changes:
            before = self._files.get(change.path)
            back = before in _RECOVERIES.get(change.state, ())
            if change.state in _NOTABLE_FILE_STATES or back:
                events.append(
                    tl.log_changed(
                        now, path=change.path, state=str(change.state), detail=change.detail
                    )
                )
            self._files[change.path] = change.state
        for event in update.new_events:
            during = self.faults.during(event.seen_at) is not None
            self._tracebacks.append(
                (event.arrived, during or injected(event, self.injection_route))
            )
            if during:
                key = fingerprint(fingerprint_parts(event))
                self.fault_errors[key] = self.fault_errors.get(key, 0) + 1
                if self.recorder is not None:
                    self.recorder.add_fault_error(key)
        if self.recorder is not None:
            for group in update.groups:
                if self._recorded.get(group.fingerprint) != group.count:
                    self.recorder.add_group(group)
                    self._recorded[group.fingerprint] = group.count
        return self._evaluate(events, now)

    def observe_injection(self, stats: InjectionStats) -> IncidentUpdate:
        """Injection started or stopped."""
        now = self._clock()
        events = []
        was = self._injection
        if stats.running and (was is None or not was.running):
            start = stats.started_at or now
            events.append(
                tl.injection_started(
                    start, method=self.method, route=stats.route, rate=stats.rate, run=stats.run_id
                )
            )
        elif not stats.running and was is not None and was.running:
            end = stats.stopped_at or now
            reason = stats.stopped_by + (f": {stats.detail}" if stats.detail else "")
            events.append(
                tl.injection_stopped(
                    end,
                    route=stats.route,
                    reason=reason,
                    sent=stats.sent,
                    errors=stats.server_errors,
                    aborted=stats.stopped_by in ("guard", "error"),
                )
            )
            start = was.started_at or end
            self._spans.append(Span(start, end, f"injection {stats.rate:g}/s", "injection"))
        self._injection = stats
        return self._evaluate(events, now)

    def observe_fault(self, stats: ProxyStats) -> IncidentUpdate:
        """A proxy's state or fault window changed (started, stopped, failed to listen)."""
        now = self._clock()
        events = []
        was = self._proxies.get(stats.name)
        if stats.state not in (was.state if was else "starting", "starting"):
            detail = stats.detail or f"{stats.listen} -> {stats.upstream}"
            events.append(
                tl.source_changed(
                    now, source=f"proxy {stats.name}", state=stats.state, detail=detail
                )
            )
        opened = stats.active and (was is None or not was.active or was.window != stats.window)
        if opened:
            start = stats.started_at or now
            self.faults.open(stats.name, stats.fault, start)
            events.append(
                tl.fault_started(
                    start,
                    name=stats.name,
                    fault=stats.fault,
                    listen=stats.listen,
                    upstream=stats.upstream,
                )
            )
        elif not stats.active and was is not None and was.active:
            end = stats.stopped_at or now
            window = self.faults.close(stats.name, end)
            events.append(
                tl.fault_stopped(
                    end,
                    name=stats.name,
                    reason=stats.stopped_by,
                    seen=stats.window_seen,
                    faulted=stats.window_faulted,
                )
            )
            if window is not None:
                self._spans.append(Span(window.start, end, f"fault {stats.name}", "fault"))
        self._proxies[stats.name] = stats
        return self._evaluate(events, now)

    def during_fault(self, at: float) -> FaultWindow | None:
        """The fault window whose errors ``at`` still shows (rates look back a while)."""
        return self.faults.during(at, self.linger)

    def mark(self, note: str) -> IncidentUpdate:
        """A note a person adds to the timeline."""
        now = self._clock()
        self._spans.append(Span(now, now, note, "mark"))
        return self._evaluate([tl.mark(now, note)], now)

    # -- what the dashboard shows ------------------------------------------------------

    def spans(self) -> tuple[Span, ...]:
        """Injection and fault windows, alerts while they fired, marks: for the chart."""
        spans = list(self._spans)
        injection = self._injection
        if injection is not None and injection.running and injection.started_at is not None:
            spans.append(
                Span(injection.started_at, None, f"injection {injection.rate:g}/s", "injection")
            )
        spans += [
            Span(window.start, None, f"fault {window.name}", "fault")
            for window in self.faults.all()
            if window.end is None
        ]
        spans += [Span(since, None, name, "alert") for name, since in self._firing.items()]
        return tuple(sorted(spans, key=lambda span: span.start))

    def close(self) -> None:
        """Write what is pending and close the recording."""
        if self.recorder is not None:
            self.recorder.close()

    # -- inside ------------------------------------------------------------------------

    def _traceback_rates(self, now: float) -> tuple[float, float]:
        while self._tracebacks and self._tracebacks[0][0] < now - TRACEBACK_WINDOW:
            self._tracebacks.popleft()
        every = len(self._tracebacks)
        app = sum(1 for _, test in self._tracebacks if not test)
        return every * 60 / TRACEBACK_WINDOW, app * 60 / TRACEBACK_WINDOW

    def _injected_traffic(self, at: float) -> bool:
        injection = self._injection
        if injection is None or injection.started_at is None:
            return False
        return injection.running or at - (injection.stopped_at or at) < self.linger

    def _observation(self, at: float) -> Observation:
        per_minute, app_per_minute = self._traceback_rates(at)
        injecting = self._injected_traffic(at)
        window = self.during_fault(at)
        fault = window.label if window is not None else ""
        snapshot = self._metrics
        new, self._new_groups = tuple(self._new_groups), []
        if snapshot is None:
            return Observation(
                at,
                traceback_rate=per_minute,
                app_traceback_rate=app_per_minute,
                new_groups=new,
                injecting=injecting,
                fault=fault,
            )
        # Without a route split the metrics cannot tell the application's errors apart.
        return Observation(
            at,
            estimated=snapshot.estimated,
            error_ratio=snapshot.error_ratio(),
            app_error_ratio=snapshot.app_error_ratio() if snapshot.split else None,
            rates=snapshot.current(),
            app_rates=snapshot.current_app() if snapshot.split else None,
            traceback_rate=per_minute,
            app_traceback_rate=app_per_minute,
            new_groups=new,
            injecting=injecting,
            fault=fault,
        )

    def _evaluate(self, events: list[TimelineEvent], at: float) -> IncidentUpdate:
        transitions = self.alerts.evaluate(self._observation(at))
        for change in transitions:
            firing = change.state == "firing"
            events.append(
                tl.alert_changed(
                    change.at,
                    name=change.rule.name,
                    firing=firing,
                    value=change.value,
                    test=change.test,
                    fault=change.fault,
                )
            )
            if firing:
                self._firing[change.rule.name] = change.at
            else:
                since = self._firing.pop(change.rule.name, change.at)
                self._spans.append(Span(since, change.at, change.rule.name, "alert"))
        for event in events:
            self.timeline.add(event)
            if self.recorder is not None:
                self.recorder.add_event(event)
        return IncidentUpdate(tuple(events), tuple(transitions), self.alerts.statuses())
