"""Without a route label the application's part is an estimate: alerts and the report say so."""

from __future__ import annotations

from pathlib import Path

from errwatch.config import AlertConfig
from errwatch.core.incident.alerts import ESTIMATED
from errwatch.core.incident.incident import Incident
from errwatch.core.incident.recording import Recorder, load_session
from errwatch.core.incident.report import render
from errwatch.core.metrics.rates import MetricsSnapshot, RateSeries, SourceState

T0 = 1_800_000_000.0
FOUND = (
    'flask_http_request_total{job="flask", instance="127.0.0.1:5000"} status status, '
    "no route label: test errors estimated"
)


def snapshot(at: float) -> MetricsSnapshot:
    """Half of the requests fail, none of them injected (the estimate says so)."""
    return MetricsSnapshot(
        SourceState.UP,
        at,
        (RateSeries("200", ((at, 5.0),)), RateSeries("500", ((at, 5.0),))),
        data_at=at,
        split=True,
        estimated=True,
        found=FOUND,
    )


def test_an_alert_on_an_estimated_ratio_and_the_report_say_estimated(tmp_path: Path) -> None:
    path = tmp_path / "session.sqlite"
    recorder = Recorder(path, {"started": str(T0), "metric": "auto", "query": "discovered"})
    recorder.start()
    rule = AlertConfig("app 5xx", "app_error_ratio", threshold=0.05, hold=0.0)
    now = [T0]
    incident = Incident([rule], injection_route="/error", recorder=recorder, clock=lambda: now[0])
    transitions = []
    for second in range(3):
        now[0] = T0 + second
        transitions += incident.observe_metrics(snapshot(T0 + second)).transitions
    incident.close()
    [fired] = transitions
    assert (fired.state, fired.test, fired.detail) == ("firing", False, ESTIMATED)
    readings = [e for e in incident.timeline.newest_first() if e.data.get("state") == "reading"]
    assert [e.text for e in readings] == [f"Prometheus reading: {FOUND}"]  # once, not per poll
    report = render(load_session(path), lang="en")
    assert f"- Series read (found by errwatch): `{FOUND}`." in report
    assert "Application errors are *estimated*" in report
