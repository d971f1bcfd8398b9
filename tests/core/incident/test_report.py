"""The post-mortem drafted from a recording, in the seed's structure, French and English."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from errwatch.core.incident import timeline
from errwatch.core.incident.recording import RecordedSession, Recorder, load_session
from errwatch.core.incident.report import analyse, render
from errwatch.core.incident.report_facts import severity_of
from errwatch.core.logs.grouping import GroupStore
from errwatch.core.logs.tracebacks import parse_text

T0 = time.mktime((2025, 7, 29, 14, 35, 0, 0, 0, -1))


def error_log(at: float, route: str = "/error", function: str = "error") -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))
    return (
        f"{stamp},000 ERROR [api] Exception on {route} [GET]\n"
        "Traceback (most recent call last):\n"
        f'  File "/srv/api/app.py", line 57, in {function}\n'
        "    ratio = 1 / 0\n"
        "ZeroDivisionError: division by zero\n"
    )


def record(tmp_path: Path, *, outside: bool = False, app_errors: int = 0) -> RecordedSession:
    """An injection of 10 s at 5 req/s with its alert, as the dashboard records it."""
    path = tmp_path / "session-test.sqlite"
    recorder = Recorder(
        path,
        {
            "started": str(T0 - 60),
            "target": "http://127.0.0.1:5000",
            "injection_route": "/error",
            "query": "sum by (status) (rate(http_requests_total[10s]))",
            "metric": "http_requests_total",
            "status_label": "status",
        },
    )
    recorder.start()
    store = GroupStore(injection_route="/error")
    recorder.add_event(
        timeline.injection_started(T0, method="GET", route="/error", rate=5, run="r1")
    )
    for second in range(-5, 30):
        at = T0 + second
        five = 5.0 if 1 <= second <= 12 else 0.0
        recorder.add_rates(at, {"200": 2.0, "500": five}, five / (five + 2), 0.0)
    for n in range(50):
        group, new = store.add(parse_text(error_log(T0 + 1 + n * 0.2))[0])
        if new:
            recorder.add_event(
                timeline.new_group(
                    T0 + 1, type="ZeroDivisionError", where="app.py:57 in error", injected=True
                )
            )
    for n in range(app_errors):
        group, new = store.add(parse_text(error_log(T0 + 4 + n, "/api/users/1", "get_user"))[0])
        if new:
            recorder.add_event(
                timeline.new_group(
                    T0 + 4, type="ZeroDivisionError", where="app.py:57 in get_user", injected=False
                )
            )
    if outside:
        store.add(parse_text(error_log(T0 + 600))[0])
    for group in store.groups():
        recorder.add_group(group)
    recorder.add_event(
        timeline.alert_changed(T0 + 3, name="5xx ratio", firing=True, value=0.71, test=True)
    )
    recorder.add_event(
        timeline.injection_stopped(T0 + 10, route="/error", reason="user", sent=50, errors=50)
    )
    recorder.add_event(
        timeline.alert_changed(T0 + 14, name="5xx ratio", firing=False, value=0.0, test=True)
    )
    recorder.close()
    return load_session(path)


def test_facts_of_a_test_only_incident(tmp_path: Path) -> None:
    facts = analyse(record(tmp_path))
    assert facts.first_error == T0 + 1
    assert facts.detected == T0 + 3
    assert facts.recovered == T0 + 13
    assert facts.errors == facts.injected_errors == 50
    assert facts.severity == "low"
    assert facts.test_alerts == 1 and facts.app_alerts == 0
    assert facts.outside_window == ()


def test_the_french_report_follows_the_seed(tmp_path: Path) -> None:
    text = render(record(tmp_path))
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# Rapport d’incident et post‑mortem",
        "## Informations générales",
        "## Résumé",
        "## Timeline",
        "## Détection et diagnostic",
        "## Cause racine",
        "## Actions correctives et rétablissement",
        "## Leçons apprises et actions de prévention",
        "### Ce qui a bien fonctionné",
        "### Améliorations envisagées",
        "### Processus / outils",
    ]
    assert "- **Date et heure de l’incident** : 29 juillet 2025, 14:35" in text
    assert "- **Services impactés** : API exposée sur `http://127.0.0.1:5000`" in text
    assert "- **Gravité** : faible" in text
    rows = [line for line in text.splitlines() if line.startswith("| 14:")]
    assert [row.split(" | ")[1].removesuffix(" |") for row in rows] == [
        "Début de l’injection : GET `/error` à 5 req/s (test)",
        "Première occurrence de `ZeroDivisionError` en `app.py:57 in error` (test)",
        "Alerte « 5xx ratio » déclenchée (test)",
        "Arrêt de l’injection (user) : 50 requêtes, 50 en 5xx (test)",
        "Alerte « 5xx ratio » résolue (test)",
    ]
    assert '`http_requests_total{status="500"}`' in text
    assert "2,0 s après la première erreur" in text
    assert "L’incident a été détecté par l’alerte « 5xx ratio »" in text
    assert "`ZeroDivisionError` (50 occurrences) en `/srv/api/app.py:57 (error)`" in text
    assert "Retour du taux d’erreurs 5xx à zéro à 14:35:13." in text
    assert "ratio = 1 / 0" in text
    assert "Aucune erreur applicative hors injection" in text
    assert "5xx" in text and "┤" in text  # the rate chart drawn as text


def test_states_are_said_in_the_report_language(tmp_path: Path) -> None:
    session = record(tmp_path)
    down = timeline.source_changed(T0 + 20, source="Prometheus", state="unreachable", detail="x")
    session = replace(session, events=(*session.events, down))
    assert "| 14:35:20 | Prometheus : injoignable |" in render(session)
    assert "| 14:35:20 | Prometheus: unreachable |" in render(session, lang="en")


def test_the_english_report(tmp_path: Path) -> None:
    text = render(record(tmp_path, app_errors=3), lang="en")
    assert text.startswith("# Incident report and post-mortem\n")
    assert "- **Date and time of the incident** : July 29, 2025, 14:35" in text
    assert "## Lessons learned and prevention" in text
    assert "The 5xx rate was back to zero at 14:35:13." in text
    # the root cause is the top application group, not the injected one
    root = text.split("## Root cause", 1)[1].split("##", 1)[0]
    assert "(get_user)`" in root and "route `/api/users/1`" in root
    assert "No application error outside the injection" not in text


def test_a_test_route_answering_outside_an_injection_window_is_a_lesson(tmp_path: Path) -> None:
    text = render(record(tmp_path, outside=True))
    assert "La route de test `/error` a répondu en dehors d’une fenêtre d’injection" in text


def test_unknown_language() -> None:
    with pytest.raises(ValueError, match="unknown language 'de'"):
        render(RecordedSession(Path("x"), {}, (), (), (), ()), lang="de")


def test_severity_comes_from_application_errors_only() -> None:
    assert severity_of(0, 0, None) == "low"
    assert severity_of(3, 20, 0.01) == "low"
    assert severity_of(3, 20, 0.2) == "medium"
    assert severity_of(500, 60, 0.01) == "medium"
    assert severity_of(10, 1200, 0.02) == "high"
    assert severity_of(10, 30, 0.6) == "high"
