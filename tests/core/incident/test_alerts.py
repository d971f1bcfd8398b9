"""The alert state machine: pending, firing, resolved; test alerts told apart."""

from __future__ import annotations

import json

from errwatch.core.incident.alerts import AlertEngine, AlertRule, AlertState, Observation

RATIO = AlertRule("5xx ratio", "error_ratio", threshold=0.05, hold=2.0)


def states(engine: AlertEngine) -> AlertState:
    [status] = engine.statuses()
    return status.state


def test_pending_until_the_condition_has_held_for_its_duration() -> None:
    engine = AlertEngine([RATIO])
    assert engine.evaluate(Observation(0.0, error_ratio=0.5, app_error_ratio=0.5)) == []
    assert states(engine) is AlertState.PENDING
    assert engine.evaluate(Observation(1.9, error_ratio=0.5, app_error_ratio=0.5)) == []
    [fired] = engine.evaluate(Observation(2.0, error_ratio=0.4, app_error_ratio=0.4))
    assert (fired.state, fired.at, fired.value, fired.test) == ("firing", 2.0, 0.4, False)
    assert states(engine) is AlertState.FIRING


def test_a_condition_that_stops_before_its_duration_never_fires() -> None:
    engine = AlertEngine([RATIO])
    engine.evaluate(Observation(0.0, error_ratio=0.5))
    assert engine.evaluate(Observation(1.0, error_ratio=0.01)) == []
    assert states(engine) is AlertState.INACTIVE
    assert engine.evaluate(Observation(2.5, error_ratio=0.5)) == []  # pending again, from 2.5
    assert states(engine) is AlertState.PENDING


def test_firing_resolves_when_the_condition_stops() -> None:
    engine = AlertEngine([RATIO])
    for at in (0.0, 2.0):
        engine.evaluate(Observation(at, error_ratio=0.5))
    [resolved] = engine.evaluate(Observation(3.0, error_ratio=0.0))
    assert (resolved.state, resolved.at) == ("resolved", 3.0)
    assert states(engine) is AlertState.INACTIVE


def test_no_traffic_is_not_an_error_ratio() -> None:
    engine = AlertEngine([RATIO])
    for at in (0.0, 2.0):
        engine.evaluate(Observation(at, error_ratio=0.5))
    [resolved] = engine.evaluate(Observation(3.0, error_ratio=None))
    assert resolved.state == "resolved"


def test_an_alert_caused_only_by_injected_traffic_is_a_test_alert() -> None:
    engine = AlertEngine([RATIO])
    engine.evaluate(Observation(0.0, error_ratio=0.6, app_error_ratio=0.0, injecting=True))
    [fired] = engine.evaluate(
        Observation(2.0, error_ratio=0.6, app_error_ratio=0.0, injecting=True)
    )
    assert fired.test
    assert json.loads(fired.to_json())["kind"] == "test"


def test_application_errors_during_injection_make_an_application_alert() -> None:
    engine = AlertEngine([RATIO])
    engine.evaluate(Observation(0.0, error_ratio=0.6, app_error_ratio=0.2, injecting=True))
    [fired] = engine.evaluate(
        Observation(2.0, error_ratio=0.6, app_error_ratio=0.2, injecting=True)
    )
    assert not fired.test


def test_a_test_alert_is_upgraded_when_the_application_starts_failing() -> None:
    engine = AlertEngine([RATIO])
    for at in (0.0, 2.0):
        engine.evaluate(Observation(at, error_ratio=0.6, app_error_ratio=0.0, injecting=True))
    engine.evaluate(Observation(3.0, error_ratio=0.7, app_error_ratio=0.3, injecting=True))
    [status] = engine.statuses()
    assert status.state is AlertState.FIRING and not status.test


def test_status_rate_by_code_or_by_class() -> None:
    engine = AlertEngine(
        [
            AlertRule("500s", "status_rate", threshold=1.0, status="500"),
            AlertRule("5xx", "status_rate", threshold=1.0, status="5xx"),
        ]
    )
    fired = engine.evaluate(Observation(0.0, rates={"200": 9.0, "500": 0.8, "503": 0.7}))
    assert [t.rule.name for t in fired] == ["5xx"]


def test_a_new_group_fires_at_once_and_resolves_after_its_hold() -> None:
    engine = AlertEngine([AlertRule("new error", "new_group", hold=60.0)])
    [fired] = engine.evaluate(Observation(10.0, new_groups=(("KeyError at api.py:3", False),)))
    assert fired.state == "firing" and not fired.test and fired.detail == "KeyError at api.py:3"
    assert engine.evaluate(Observation(40.0)) == []
    engine.evaluate(Observation(50.0, new_groups=(("ValueError at api.py:9", True),)))
    assert engine.evaluate(Observation(100.0)) == []  # 50 s after the second group
    [resolved] = engine.evaluate(Observation(111.0))
    assert resolved.state == "resolved"


def test_a_new_group_from_injected_traffic_only_is_a_test_alert() -> None:
    engine = AlertEngine([AlertRule("new error", "new_group", hold=60.0)])
    [fired] = engine.evaluate(Observation(0.0, new_groups=(("ZeroDivisionError", True),)))
    assert fired.test
