"""Fault windows in the incident: errors on ordinary routes while a link is broken are
*during a fault* (test-induced); outside windows they are the application's own; alerts
that fire inside a window say so; the timeline, spans, recording and report show it."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from errwatch.config import AlertConfig, LogConfig
from errwatch.core.incident.alerts import AlertEngine, Observation
from errwatch.core.incident.faultwindows import FaultWindows
from errwatch.core.incident.incident import Incident
from errwatch.core.incident.recording import Recorder, load_session
from errwatch.core.incident.report import analyse, render
from errwatch.core.incident.timeline import EventKind
from errwatch.core.injection.faults import ProxyStats
from errwatch.core.logs.logwatch import TracebackMonitor
from errwatch.core.metrics.rates import MetricsSnapshot, RateSeries, SourceState
from tests.realpython import logged

APP = AlertConfig("application 5xx ratio above 1%", "app_error_ratio", threshold=0.01)
NEW = AlertConfig("new traceback group", "new_group", hold=60.0)
TIMEOUT = """
try:
    raise TimeoutError("timed out")
except TimeoutError:
    log.exception("Exception on /api/products/1 [GET]")
"""
KEYERROR = """
try:
    {}["sku"]
except KeyError:
    log.exception("Exception on /api/users/7 [GET]")
"""


def proxy(**changes: object) -> ProxyStats:
    stats = ProxyStats(
        name="inventory",
        listen="127.0.0.1:8081",
        upstream="http://127.0.0.1:8080",
        fault="delay 2s on 50% of requests",
        state="listening",
    )
    return replace(stats, **changes)  # type: ignore[arg-type]


def app_errors(at: float, rate: float) -> MetricsSnapshot:
    series = (RateSeries("200", ((at, 10.0),)), RateSeries("504", ((at, rate),)))
    return MetricsSnapshot(SourceState.UP, at, series, data_at=at, split=True)


def test_windows_cover_their_time_and_a_grace_after() -> None:
    windows = FaultWindows()
    windows.open("inventory", "reset", 100.0)
    assert windows.during(99.0) is None
    assert windows.during(150.0) is not None, "an open window covers everything after it"
    closed = windows.close("inventory", 110.0)
    assert closed is not None and closed.label == "inventory: reset"
    assert windows.during(114.0, after=5.0) is closed
    assert windows.during(116.0, after=5.0) is None
    assert windows.close("inventory", 120.0) is None, "nothing left open"


def test_an_alert_inside_a_window_is_a_test_alert_that_names_the_fault() -> None:
    engine = AlertEngine([APP])
    inside = Observation(100.0, error_ratio=0.3, app_error_ratio=0.3, fault="inventory: reset")
    [fired] = engine.evaluate(inside)
    assert fired.test and fired.fault == "inventory: reset"
    assert '"during_fault": "inventory: reset"' in fired.to_json()
    [status] = engine.statuses()
    assert status.fault == "inventory: reset"
    outside = AlertEngine([APP]).evaluate(Observation(100.0, error_ratio=0.3, app_error_ratio=0.3))
    assert not outside[0].test and outside[0].fault == ""


def test_errors_during_a_fault_are_told_from_the_applications_own(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "session-f.sqlite", {"started": str(time.time())})
    recorder.start()
    incident = Incident([APP, NEW], injection_route="/error", recorder=recorder)
    listening = incident.observe_fault(proxy())
    assert [e.text for e in listening.events] == [
        "proxy inventory listening: 127.0.0.1:8081 -> http://127.0.0.1:8080"
    ]
    begun = time.time()
    update = incident.observe_fault(proxy(active=True, window=1, started_at=begun))
    assert [e.kind for e in update.events] == [EventKind.FAULT_STARTED]
    assert update.events[0].text == "fault started on inventory: delay 2s on 50% of requests"
    assert [(s.kind, s.end) for s in incident.spans()] == [("fault", None)]

    log = tmp_path / "app.log"
    logged(tmp_path, TIMEOUT)
    monitor = TracebackMonitor([LogConfig(str(log))], injection_route="/error")
    first = monitor.step(settle=0)
    assert first is not None
    during = incident.observe_tracebacks(first)
    [group] = [e for e in during.events if e.kind is EventKind.NEW_GROUP]
    assert group.test and group.data["during"] == "inventory: delay 2s on 50% of requests"
    assert group.text.endswith("during fault inventory: delay 2s on 50% of requests")
    [fired] = during.transitions
    assert fired.rule.name == "new traceback group" and fired.test
    assert list(incident.fault_errors.values()) == [1]

    alert = incident.observe_metrics(app_errors(time.time(), 5.0))
    [app_alert] = alert.transitions
    assert app_alert.test and app_alert.fault.startswith("inventory: ")

    ended = time.time()
    stopped = proxy(
        stopped_at=ended, started_at=begun, stopped_by="user", window_seen=8, window_faulted=4
    )
    update = incident.observe_fault(stopped)
    assert update.events[0].text == "fault stopped on inventory (user): 4 of 8 faulted"
    first = incident.spans()[0]
    assert (first.kind, first.start, first.end) == ("fault", begun, ended)

    # Past the window and its grace, a new error is the application's own again.
    late = Incident([NEW], injection_route="/error")
    late.observe_fault(proxy(active=True, window=1, started_at=begun - 100))
    late.observe_fault(proxy(stopped_at=begun - 90, started_at=begun - 100, stopped_by="user"))
    logged(tmp_path, KEYERROR)
    second = monitor.step(settle=0)
    assert second is not None
    [own] = [e for e in late.observe_tracebacks(second).events if e.kind is EventKind.NEW_GROUP]
    assert not own.test and own.data["during"] == ""
    incident.close()

    session = load_session(tmp_path / "session-f.sqlite")
    assert list(session.fault_errors.values()) == [1]
    facts = analyse(session)
    assert facts.fault_errors == 1 and facts.fault_alerts >= 1
    assert [w.label for w in facts.faults] == ["inventory: delay 2s on 50% of requests"]
    assert facts.top_group is not None and facts.top_group.type == "TimeoutError"
    assert facts.severity == "low", "errors the test caused do not make it worse"

    english = render(session, lang="en")
    assert "Fault started on the link inventory: delay 2s on 50% of requests" in english
    assert "Fault stopped on the link inventory (user): 4 of 8 faulted" in english
    assert "1 fault(s) were injected by errwatch on the links" in english
    assert "the API produced: `TimeoutError` (1)" in english
    assert "(during the fault inventory: delay 2s on 50% of requests) (test)" in english
    started = "Fault started on the link inventory: delay 2s on 50% of requests (test) |"
    assert started in english, "a fault's own start is not during itself"
    assert "errors caused by the fault injected on the link inventory" in english
    french = render(session, lang="fr")
    assert "Début de la faute sur le lien inventory" in french
    assert "API a produit : `TimeoutError` (1)" in french


def test_a_proxy_that_cannot_listen_is_a_timeline_event() -> None:
    incident = Incident([], injection_route="/error")
    update = incident.observe_fault(
        proxy(state="failed", detail="cannot listen on 127.0.0.1:8081: Address already in use")
    )
    assert [e.text for e in update.events] == [
        "proxy inventory failed: cannot listen on 127.0.0.1:8081: Address already in use"
    ]
    assert incident.observe_fault(proxy(state="failed")).events == (), "said once"
