"""The timeline panel (it owns the incident: timeline, alerts, recording) and the alert banner."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from errwatch.core.incident.alerts import AlertState, AlertStatus, AlertTransition
from errwatch.core.incident.incident import Incident, IncidentUpdate, run_alert_command
from errwatch.core.incident.spans import Span
from errwatch.core.incident.timeline import EventKind, TimelineEvent
from errwatch.core.injection.faults import ProxyStats
from errwatch.core.injection.injector import InjectionStats
from errwatch.core.logs.logwatch import TracebackUpdate
from errwatch.core.metrics.rates import MetricsSnapshot
from errwatch.core.textsafe import for_terminal, plain
from errwatch.ui.readout import Readout

_STYLE = {
    EventKind.INJECTION_STARTED: "bold magenta",
    EventKind.INJECTION_STOPPED: "magenta",
    EventKind.INJECTION_ABORTED: "bold red",
    EventKind.FAULT_STARTED: "bold magenta",
    EventKind.FAULT_STOPPED: "magenta",
    EventKind.NEW_GROUP: "red",
    EventKind.ALERT_FIRING: "bold red",
    EventKind.ALERT_RESOLVED: "green",
    EventKind.SOURCE: "yellow",
    EventKind.LOG: "yellow",
    EventKind.MARK: "bold cyan",
}


def event_line(event: TimelineEvent) -> Text:
    """``HH:MM:SS  text  [test]`` coloured by kind; the text (an exception, a file, a
    server's words, a note) as written."""
    line = Text(time.strftime("%H:%M:%S ", time.localtime(event.at)), "dim")
    line.append_text(plain(event.text, _STYLE.get(event.kind, ""), one_line=True))
    if event.test:
        line.append(" [test]", "dim magenta")
    return line


class TimelinePanel(Vertical):
    """Every notable moment of this run, newest first; the incident behind it.

    The app sets what the other panels saw (``metrics``, ``tracebacks``, ``injection``)
    and the panel feeds the incident; alert changes and chart spans go back up.
    """

    metrics: reactive[MetricsSnapshot | None] = reactive(None, init=False, repaint=False)
    tracebacks: reactive[TracebackUpdate | None] = reactive(None, init=False, repaint=False)
    injection: reactive[InjectionStats | None] = reactive(None, init=False, repaint=False)
    fault: reactive[ProxyStats | None] = reactive(
        None, init=False, repaint=False, always_update=True
    )

    class Changed(Message):
        """Alerts changed state or the chart's spans moved."""

        def __init__(
            self,
            statuses: tuple[AlertStatus, ...],
            transitions: tuple[AlertTransition, ...],
            spans: tuple[Span, ...],
        ) -> None:
            super().__init__()
            self.statuses = statuses
            self.transitions = transitions
            self.spans = spans

    class DuringFaults(Message):
        """More tracebacks were seen during a proxy's fault: counts per group fingerprint."""

        def __init__(self, counts: Mapping[str, int]) -> None:
            super().__init__()
            self.counts = counts

    def __init__(self, incident: Incident, *, report_lang: str = "fr", id: str | None = None):
        super().__init__(id=id)
        self.incident = incident
        self.report_lang = report_lang
        self._during: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="timeline-scroll"):
            yield Readout("", fixed=False, id="timeline-events")

    def on_mount(self) -> None:
        self.border_title = "Timeline"
        self._show()

    def watch_metrics(self, snapshot: MetricsSnapshot | None) -> None:
        if snapshot is not None:
            self._apply(self.incident.observe_metrics(snapshot))

    def watch_tracebacks(self, update: TracebackUpdate | None) -> None:
        if update is not None:
            self._apply(self.incident.observe_tracebacks(update))
            during = self.incident.fault_errors
            if during != self._during:
                self._during = dict(during)
                self.post_message(self.DuringFaults(MappingProxyType(dict(during))))

    def watch_injection(self, stats: InjectionStats | None) -> None:
        if stats is not None:
            self._apply(self.incident.observe_injection(stats))

    def watch_fault(self, stats: ProxyStats | None) -> None:
        if stats is not None:
            self._apply(self.incident.observe_fault(stats))

    def mark(self, note: str) -> None:
        """Add a person's note to the timeline."""
        self._apply(self.incident.mark(note))

    def _apply(self, update: IncidentUpdate) -> None:
        if update.events:
            self._show()
        for change in update.transitions:
            self._announce(change)
        if update.events or update.transitions:
            self.post_message(
                self.Changed(update.statuses, update.transitions, self.incident.spans())
            )

    def _show(self) -> None:
        events = self.incident.timeline.newest_first()
        text = (
            Text("\n").join(event_line(event) for event in events)
            if events
            else Text(
                "nothing yet: injections, faults, new errors, alerts and marks show here", "dim"
            )
        )
        self.query_one("#timeline-events", Readout).show(text)

    def _announce(self, change: AlertTransition) -> None:
        kind = "Test alert" if change.test else "Alert"
        if change.state == "firing":
            self.notify(change.rule.name, title=f"{kind} firing", severity="error", timeout=6)
            if change.rule.bell:
                self.app.bell()
        if change.rule.command:
            self.run_command(change)

    @work(thread=True, exit_on_error=False, group="alert-commands")
    def run_command(self, change: AlertTransition) -> None:
        """The rule's command, off the UI thread; a failure becomes a notification."""
        problem = run_alert_command(change)
        if problem:
            self.app.call_from_thread(self.notify, problem, severity="warning", timeout=8)

    @work(thread=True, exit_on_error=False, group="report", exclusive=True)
    def write_report(self, directory: Path) -> None:
        """Draft the post-mortem of this run into ``directory`` and say where."""
        from errwatch.core.incident.recording import load_session
        from errwatch.core.incident.report import render

        recorder = self.incident.recorder
        if recorder is None:
            self.app.call_from_thread(
                self.notify,
                "recording is off ([recording] enabled = false): no report",
                severity="warning",
            )
            return
        recorder.sync()
        text = render(load_session(recorder.path), lang=self.report_lang)
        path = directory / f"postmortem-{time.strftime('%Y%m%d-%H%M%S')}.md"
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as error:
            self.app.call_from_thread(
                self.notify, f"cannot write {path}: {error.strerror}", severity="error"
            )
            return
        self.app.call_from_thread(self.notify, str(path), title="Post-mortem written", timeout=10)


class AlertBanner(Static):
    """The firing alerts, one per line; hidden when none fires."""

    statuses: reactive[tuple[AlertStatus, ...]] = reactive(())

    def watch_statuses(self, statuses: tuple[AlertStatus, ...]) -> None:
        firing = [s for s in statuses if s.state is AlertState.FIRING]
        self.display = bool(firing)
        self.set_class(bool(firing) and all(s.test for s in firing), "-test")
        lines = []
        for status in firing:
            text = Text()  # one line per alert whatever the width: the CSS does not wrap
            lines.append(text)
            text.append(" TEST ALERT " if status.test else " ALERT ", "reverse bold")
            text.append(f" {for_terminal(status.rule.name, one_line=True)}")
            if status.value is not None:
                text.append(f" ({status.value:.3g})")
            if status.since is not None:
                text.append(time.strftime(" since %H:%M:%S", time.localtime(status.since)), "dim")
            if status.detail:
                text.append(f" · {for_terminal(status.detail, one_line=True)}", "dim")
            if status.fault:
                text.append(f" · during fault {for_terminal(status.fault, one_line=True)}", "bold")
        self.update(Text("\n").join(lines))
