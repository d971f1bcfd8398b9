"""The timeline panel (newest first) and the alert banner."""

from __future__ import annotations

import time

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from errwatch.core.alerts import AlertState, AlertStatus
from errwatch.core.timeline import EventKind, TimelineEvent

_STYLE = {
    EventKind.INJECTION_STARTED: "bold magenta",
    EventKind.INJECTION_STOPPED: "magenta",
    EventKind.INJECTION_ABORTED: "bold red",
    EventKind.NEW_GROUP: "red",
    EventKind.ALERT_FIRING: "bold red",
    EventKind.ALERT_RESOLVED: "green",
    EventKind.SOURCE: "yellow",
    EventKind.LOG: "yellow",
    EventKind.MARK: "bold cyan",
}


def event_line(event: TimelineEvent) -> Text:
    """``HH:MM:SS  text  [test]`` coloured by kind."""
    line = Text(time.strftime("%H:%M:%S ", time.localtime(event.at)), "dim")
    line.append(event.text, _STYLE.get(event.kind, ""))
    if event.test:
        line.append(" [test]", "dim magenta")
    return line


class TimelineView(Static):
    """Every notable moment of this run, newest first."""

    events: reactive[tuple[TimelineEvent, ...]] = reactive(())

    def watch_events(self, events: tuple[TimelineEvent, ...]) -> None:
        if not events:
            self.update(
                Text("nothing yet: injections, new errors, alerts and marks show here", "dim")
            )
            return
        self.update(Text("\n").join(event_line(event) for event in events))


class AlertBanner(Static):
    """The firing alerts, one per line; hidden when none fires."""

    statuses: reactive[tuple[AlertStatus, ...]] = reactive(())

    def watch_statuses(self, statuses: tuple[AlertStatus, ...]) -> None:
        firing = [s for s in statuses if s.state is AlertState.FIRING]
        self.display = bool(firing)
        self.set_class(bool(firing) and all(s.test for s in firing), "-test")
        text = Text()
        for status in firing:
            if text:
                text.append("\n")
            text.append(" TEST ALERT " if status.test else " ALERT ", "reverse bold")
            text.append(f" {status.rule.name}")
            if status.value is not None:
                text.append(f" ({status.value:.3g})")
            if status.since is not None:
                text.append(time.strftime(" since %H:%M:%S", time.localtime(status.since)), "dim")
            if status.detail:
                text.append(f" · {status.detail}", "dim")
        self.update(text)
