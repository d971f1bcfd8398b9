"""The incident: what the panels see becomes timeline events, alerts, spans and a recording."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from errwatch.config import AlertConfig, LogConfig
from errwatch.core.incident.incident import Incident, run_alert_command
from errwatch.core.incident.recording import Recorder, load_session
from errwatch.core.incident.timeline import EventKind
from errwatch.core.injection.injector import InjectionStats
from errwatch.core.logs.follow import FileStatus, FollowState
from errwatch.core.logs.logwatch import TracebackMonitor, TracebackUpdate
from errwatch.core.metrics.rates import MetricsSnapshot, RateSeries, SourceState
from tests.realpython import logged

RATIO = AlertConfig("5xx ratio above 5%", "error_ratio", threshold=0.05, hold=2.0)
APP = AlertConfig("application 5xx", "app_error_ratio", threshold=0.01)
NEW = AlertConfig("new traceback group", "new_group", hold=60.0)


def snapshot(at: float, *, injected: float = 0.0, app_500: float = 0.0) -> MetricsSnapshot:
    """Rates at ``at``: 10 req/s of 200, some 500 on /error (injected) and elsewhere (app)."""
    series = (
        RateSeries("200", ((at, 10.0),)),
        RateSeries("500", ((at, injected + app_500),)),
    )
    return MetricsSnapshot(
        SourceState.UP,
        at,
        series,
        data_at=at,
        test_series=(RateSeries("500", ((at, injected),)),),
        split=True,
    )


def running(at: float, **changes: object) -> InjectionStats:
    values: dict[str, object] = {
        "run_id": "r1",
        "running": True,
        "route": "/error",
        "rate": 20.0,
        "started_at": at,
    }
    values.update(changes)
    return InjectionStats(**values)  # type: ignore[arg-type]


def kinds(incident: Incident) -> list[tuple[EventKind, bool]]:
    return [(e.kind, e.test) for e in reversed(incident.timeline.newest_first())]


def test_an_injection_is_a_test_incident_from_start_to_recovery() -> None:
    now = [1000.0]
    incident = Incident([RATIO, APP], injection_route="/error", clock=lambda: now[0])
    incident.observe_metrics(snapshot(1000.0))
    incident.observe_injection(running(1001.0))
    assert incident.spans()[0].kind == "injection" and incident.spans()[0].end is None
    incident.observe_metrics(snapshot(1002.0, injected=20.0))
    update = incident.observe_metrics(snapshot(1004.0, injected=20.0))
    [fired] = update.transitions
    assert (fired.rule.name, fired.state, fired.test) == ("5xx ratio above 5%", "firing", True)
    now[0] = 1011.0
    incident.observe_injection(
        running(
            1001.0,
            running=False,
            stopped_at=1011.0,
            stopped_by="user",
            sent=200,
            by_status={"500": 200},
        )
    )
    [resolved] = incident.observe_metrics(snapshot(1020.0)).transitions
    assert resolved.state == "resolved"
    assert kinds(incident) == [
        (EventKind.SOURCE, False),
        (EventKind.INJECTION_STARTED, True),
        (EventKind.ALERT_FIRING, True),
        (EventKind.INJECTION_STOPPED, True),
        (EventKind.ALERT_RESOLVED, True),
    ]
    stopped = [e for e in incident.timeline.newest_first() if e.kind is EventKind.INJECTION_STOPPED]
    assert stopped[0].data["sent"] == 200 and stopped[0].data["errors"] == 200
    assert [(s.kind, s.start, s.end) for s in incident.spans()] == [
        ("injection", 1001.0, 1011.0),
        ("alert", 1004.0, 1020.0),
    ]


def test_application_errors_fire_the_application_alert() -> None:
    incident = Incident([RATIO, APP], injection_route="/error")
    incident.observe_injection(running(1000.0))
    update = incident.observe_metrics(snapshot(1001.0, injected=20.0, app_500=1.0))
    [fired] = update.transitions
    assert (fired.rule.name, fired.test) == ("application 5xx", False)


def test_an_unreachable_prometheus_neither_fires_nor_resolves() -> None:
    incident = Incident([RATIO], injection_route="/error")
    incident.observe_metrics(snapshot(1000.0, app_500=5.0))
    incident.observe_metrics(snapshot(1003.0, app_500=5.0))
    [status] = incident.alerts.statuses()
    assert status.state == "firing"
    down = MetricsSnapshot(SourceState.UNREACHABLE, 1010.0, detail="connection refused")
    update = incident.observe_metrics(down)
    assert update.transitions == ()
    assert [e.text for e in update.events] == ["Prometheus unreachable: connection refused"]
    assert incident.observe_metrics(down).events == ()  # a state is said once


def test_new_traceback_groups_and_log_changes_from_a_real_log(tmp_path: Path) -> None:
    text = logged(
        tmp_path,
        """
        try:
            1 / 0
        except ZeroDivisionError:
            log.exception("Exception on /error [GET] (X-Errwatch-Injection: r1)")
        try:
            {}["user"]
        except KeyError:
            log.exception("Exception on /api/users/7 [GET]")
        """,
    )
    log = tmp_path / "app.log"
    assert "KeyError" in text
    monitor = TracebackMonitor([LogConfig(str(log))], injection_route="/error")
    incident = Incident([NEW], injection_route="/error")
    update = monitor.step(settle=0)
    assert update is not None
    result = incident.observe_tracebacks(update)
    groups = [e for e in result.events if e.kind is EventKind.NEW_GROUP]
    assert sorted((e.data["type"], e.test) for e in groups) == [
        ("KeyError", False),
        ("ZeroDivisionError", True),
    ]
    [fired] = result.transitions
    assert fired.rule.name == "new traceback group" and not fired.test
    log.rename(tmp_path / "app.log.1")
    log.write_text("fresh\n")
    later = monitor.step(settle=0)
    assert later is not None
    logs = [e for e in incident.observe_tracebacks(later).events if e.kind is EventKind.LOG]
    assert [e.data["state"] for e in logs] == ["rotated"]


def test_everything_is_recorded(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "session-x.sqlite", {"started": "1000"})
    recorder.start()
    incident = Incident([RATIO], injection_route="/error", recorder=recorder, clock=lambda: 1001.5)
    incident.observe_injection(running(1000.0))
    incident.observe_metrics(snapshot(1001.0, injected=20.0))
    incident.mark("load balancer drained")
    incident.close()
    session = load_session(tmp_path / "session-x.sqlite")
    assert [e.kind for e in session.events] == [
        EventKind.INJECTION_STARTED,
        EventKind.SOURCE,
        EventKind.MARK,
    ]
    assert session.rates == ((1001.0, "200", 10.0), (1001.0, "500", 20.0))
    assert session.ratios[0][1:] == (20.0 / 30.0, 0.0)


def test_an_alert_command_gets_the_alert_as_json(tmp_path: Path) -> None:
    out = tmp_path / "alert.json"
    rule = AlertConfig(
        "ratio",
        "error_ratio",
        threshold=0.05,
        command=(
            sys.executable,
            "-c",
            f"import sys; open({str(out)!r}, 'w').write(sys.stdin.read())",
        ),
    )
    incident = Incident([rule], injection_route="/error")
    [fired] = incident.observe_metrics(snapshot(time.time(), app_500=5.0)).transitions
    assert run_alert_command(fired) == ""
    sent = json.loads(out.read_text())
    assert (sent["alert"], sent["state"], sent["kind"]) == ("ratio", "firing", "application")
    failing = AlertConfig(
        "ratio", "error_ratio", command=(sys.executable, "-c", "raise SystemExit(3)")
    )
    broken = Incident([failing], injection_route="/error")
    [again] = broken.observe_metrics(snapshot(time.time(), app_500=5.0)).transitions
    assert "exited with 3" in run_alert_command(again)
    missing = AlertConfig("ratio", "error_ratio", command=("/nonexistent/notify",))
    nowhere = Incident([missing], injection_route="/error")
    [third] = nowhere.observe_metrics(snapshot(time.time(), app_500=5.0)).transitions
    assert run_alert_command(third).startswith("alert command /nonexistent/notify failed")


def test_a_command_that_exits_and_a_host_that_drops_are_on_the_timeline() -> None:
    incident = Incident([NEW], injection_route="/error")

    def seen(*changes: tuple[str, FollowState, str]) -> list[tuple[str, str, str]]:
        update = TracebackUpdate(
            groups=(),
            files=(),
            changes=tuple(FileStatus(path, state, detail) for path, state, detail in changes),
        )
        events = incident.observe_tracebacks(update).events
        return [(e.data["path"], e.data["state"], e.data["detail"]) for e in events]

    compose, host = "docker compose logs -f api", "ops@test-1:/var/log/api.log"
    assert seen((compose, FollowState.RUNNING, "pid 42"), (host, FollowState.FOLLOWING, "")) == []
    assert seen(
        (compose, FollowState.EXITED, "exited with code 1: no such service: api"),
        (compose, FollowState.RESTARTING, "restarting in 1 s"),
        (host, FollowState.RECONNECTING, "Connection reset by peer"),
    ) == [
        (compose, "exited", "exited with code 1: no such service: api"),
        (host, "reconnecting", "Connection reset by peer"),
    ]
    # Back: the command started again, the host reached again.
    assert seen((compose, FollowState.RUNNING, "pid 43"), (host, FollowState.FOLLOWING, "")) == [
        (compose, "running", "pid 43"),
        (host, "following", ""),
    ]
