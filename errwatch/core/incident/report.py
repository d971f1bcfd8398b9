"""The post-mortem, drafted from a recording, in the structure of the seed's report.

French by default (the seed's language), English on request. Every figure comes from
the recording: the timeline, the rate samples, the traceback groups and the metadata
(target, query, injection route). The sections a person must write (what to change)
are headings pre-filled with the facts errwatch noticed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from errwatch.core.incident.faultwindows import LOG_GRACE, FaultWindow, from_events
from errwatch.core.incident.recording import RecordedGroup, RecordedSession
from errwatch.core.incident.timeline import EventKind, TimelineEvent

LANGS = ("fr", "en")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


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


# -- words: one phrasebook per language, every sentence a template ---------------------

_PHRASES = {
    "fr": {
        "title": "Rapport d’incident et post‑mortem",
        "general": "Informations générales",
        "date": "Date et heure de l’incident",
        "services": "Services impactés",
        "service": "API exposée sur {target}",
        "severity": "Gravité",
        "low": "faible",
        "medium": "moyenne",
        "high": "élevée",
        "summary": "Résumé",
        "timeline": "Timeline",
        "time": "Heure",
        "event": "Événement",
        "detection": "Détection et diagnostic",
        "root": "Cause racine",
        "actions": "Actions correctives et rétablissement",
        "lessons": "Leçons apprises et actions de prévention",
        "chart": "Taux de requêtes pendant l’incident (req/s) :",
        "draft": "Brouillon rédigé par errwatch à partir de l’enregistrement {path}.",
        "s_runs": "Au cours d’un test de résilience, {runs} injection(s) de fautes vers la route "
        "{route} de l’API ont été lancées depuis errwatch.",
        "s_errors": "{errors} traceback(s) ont été relevées dans les logs, dont {injected} "
        "causée(s) par l’injection.",
        "s_errors_kind": "{errors} traceback(s) ont été relevées dans les logs, dont {injected} "
        "causée(s) par l’injection ; la plus fréquente est {kind}.",
        "s_detected": "L’incident a été détecté par l’alerte « {alert} » {delay} après la "
        "première erreur.",
        "s_test_only": "Aucune erreur applicative hors injection : l’incident n’a eu d’impact "
        "qu’en environnement de test et a validé la chaîne de supervision et d’alerte.",
        "d_metric": "- Métrique clé : `{metric}`, requête errwatch : `{query}`.",
        "d_reading": "- Série lue (trouvée par errwatch) : `{reading}`.",
        "d_estimated": "- Erreurs applicatives *estimées* : la série n’a pas de label de route ; "
        "errwatch a soustrait du total des 5xx ses propres réponses injectées, par statut et "
        "par seconde, sur la même fenêtre.",
        "d_ratio": "- Taux d’erreurs 5xx maximal : {ratio} (hors injection : {app_ratio}).",
        "d_first": "- Première erreur observée à {at}.",
        "d_detected": "- Détection à {at} par l’alerte « {alert} », {delay} après la première "
        "erreur.",
        "d_no_alert": "- Aucune alerte n’a été déclenchée.",
        "d_logs": "- Les logs montrent {type} ({count} occurrences) en {where}.",
        "r_none": "Aucune traceback enregistrée.",
        "r_head": "{type}: {message} en {where}",
        "r_route": ", route {route}",
        "r_test": " — erreurs provoquées par l’injection de test.",
        "r_sources": "Survenue sur : {sources}.",
        "a_stop": "- Arrêt de l’injection vers {route} à {at}.",
        "a_zero": "- Retour du taux d’erreurs 5xx à zéro à {at}.",
        "a_not_zero": "- Le taux d’erreurs 5xx n’était pas revenu à zéro à la fin de "
        "l’enregistrement.",
        "a_checks": "- Vérifications après correction : (à compléter)",
        "l_worked": "### Ce qui a bien fonctionné",
        "l_better": "### Améliorations envisagées",
        "l_process": "### Processus / outils",
        "l_todo": "- (à compléter)",
        "l_outside": "- La route de test {route} a répondu en dehors d’une fenêtre d’injection "
        "({type}, vue de {first} à {last}) : elle est joignable sans restriction.",
        "l_alerts": "- Alertes : {test} de test, {app} applicative(s) ; errwatch les distingue "
        "d’après le trafic injecté.",
        "l_delay": "- Délai de détection : {delay}.",
        "injection started": "Début de l’injection : {method} {route} à {rate:g} req/s",
        "injection stopped": "Arrêt de l’injection ({reason}) : {sent} requêtes, {errors} en 5xx",
        "injection aborted": "Injection interrompue ({reason}) : {sent} requêtes, {errors} en 5xx",
        "new traceback group": "Première occurrence de {type} en {where}",
        "alert firing": "Alerte « {name} » déclenchée",
        "alert resolved": "Alerte « {name} » résolue",
        "source": "{source} : {state}",
        "log": "Fichier de log {path} : {state}",
        "mark": "Note : {note}",
        "fault started": "Début de la faute sur le lien {name} : {fault}",
        "fault stopped": "Fin de la faute sur le lien {name} ({reason}) : {faulted} sur {seen} "
        "touchées",
        "during": " (pendant la faute {fault})",
        "s_faults": "{runs} faute(s) ont été injectées par errwatch sur les liens de l’API vers "
        "ses dépendances ({links}) ; {errors} traceback(s) sont apparues pendant ces fautes, "
        "sur les routes ordinaires de l’API.",
        "r_fault": " — erreurs provoquées par la faute injectée sur le lien {links}.",
        "a_fault": "- Fin de la faute sur le lien {name} à {at} : tout passe de nouveau.",
        "l_fault": "- Pendant la faute « {fault} » ({start}–{end}), l’API a produit : {errors}.",
        "l_fault_none": "- Pendant la faute « {fault} » ({start}–{end}), l’API n’a produit "
        "aucune traceback.",
        "l_fault_alerts": "- {count} alerte(s) déclenchée(s) pendant une faute : provoquées "
        "par le test.",
    },
    "en": {
        "title": "Incident report and post-mortem",
        "general": "General information",
        "date": "Date and time of the incident",
        "services": "Impacted services",
        "service": "API exposed on {target}",
        "severity": "Severity",
        "low": "low",
        "medium": "medium",
        "high": "high",
        "summary": "Summary",
        "timeline": "Timeline",
        "time": "Time",
        "event": "Event",
        "detection": "Detection and diagnosis",
        "root": "Root cause",
        "actions": "Corrective actions and recovery",
        "lessons": "Lessons learned and prevention",
        "chart": "Request rate during the incident (req/s):",
        "draft": "Draft written by errwatch from the recording {path}.",
        "s_runs": "During a resilience test, {runs} fault injection run(s) against the API's "
        "{route} route were started from errwatch.",
        "s_errors": "{errors} traceback(s) were found in the logs, {injected} of them caused by "
        "the injection.",
        "s_errors_kind": "{errors} traceback(s) were found in the logs, {injected} of them "
        "caused by the injection; the most frequent is {kind}.",
        "s_detected": 'The incident was detected by the alert "{alert}" {delay} after the '
        "first error.",
        "s_test_only": "No application error outside the injection: the incident only "
        "affected a test environment and validated the monitoring and alerting chain.",
        "d_metric": "- Key metric: `{metric}`, errwatch query: `{query}`.",
        "d_reading": "- Series read (found by errwatch): `{reading}`.",
        "d_estimated": "- Application errors are *estimated*: the series has no route label; "
        "errwatch subtracted its own injected answers, by status and second, from the total "
        "5xx over the same window.",
        "d_ratio": "- Highest 5xx ratio: {ratio} (without injection: {app_ratio}).",
        "d_first": "- First error seen at {at}.",
        "d_detected": '- Detected at {at} by the alert "{alert}", {delay} after the first error.',
        "d_no_alert": "- No alert fired.",
        "d_logs": "- The logs show {type} ({count} occurrences) at {where}.",
        "r_none": "No traceback recorded.",
        "r_head": "{type}: {message} at {where}",
        "r_route": ", route {route}",
        "r_test": " — errors caused by the test injection.",
        "r_sources": "Occurred on: {sources}.",
        "a_stop": "- Injection into {route} stopped at {at}.",
        "a_zero": "- The 5xx rate was back to zero at {at}.",
        "a_not_zero": "- The 5xx rate was not back to zero when the recording ended.",
        "a_checks": "- Checks after the fix: (to be completed)",
        "l_worked": "### What worked",
        "l_better": "### Improvements",
        "l_process": "### Process / tools",
        "l_todo": "- (to be completed)",
        "l_outside": "- The test route {route} answered outside an injection window ({type}, "
        "seen from {first} to {last}): it is reachable without restriction.",
        "l_alerts": "- Alerts: {test} test, {app} application; errwatch tells them apart by "
        "the injected traffic.",
        "l_delay": "- Time to detect: {delay}.",
        "injection started": "Injection started: {method} {route} at {rate:g} req/s",
        "injection stopped": "Injection stopped ({reason}): {sent} requests, {errors} 5xx",
        "injection aborted": "Injection aborted ({reason}): {sent} requests, {errors} 5xx",
        "new traceback group": "First {type} at {where}",
        "alert firing": 'Alert "{name}" firing',
        "alert resolved": 'Alert "{name}" resolved',
        "source": "{source}: {state}",
        "log": "Log file {path}: {state}",
        "mark": "Note: {note}",
        "fault started": "Fault started on the link {name}: {fault}",
        "fault stopped": "Fault stopped on the link {name} ({reason}): {faulted} of {seen} faulted",
        "during": " (during the fault {fault})",
        "s_faults": "{runs} fault(s) were injected by errwatch on the links from the API to its "
        "dependencies ({links}); {errors} traceback(s) appeared during these faults, on the "
        "API's ordinary routes.",
        "r_fault": " — errors caused by the fault injected on the link {links}.",
        "a_fault": "- Fault on the link {name} stopped at {at}: everything passes again.",
        "l_fault": '- During the fault "{fault}" ({start}–{end}), the API produced: {errors}.',
        "l_fault_none": '- During the fault "{fault}" ({start}–{end}), the API produced no '
        "traceback.",
        "l_fault_alerts": "- {count} alert(s) fired during a fault: caused by the test.",
    },
}


_STATES = {
    "fr": {
        "connecting": "connexion",
        "up": "disponible",
        "unreachable": "injoignable",
        "timeout": "délai dépassé",
        "starting": "en démarrage",
        "bad query": "requête invalide",
        "query error": "erreur de requête",
        "stale": "données anciennes",
        "target down": "cible arrêtée",
        "no data": "pas de données",
        "unauthorized": "accès refusé",
        "following": "suivi de nouveau",
        "rotated": "rotation",
        "truncated": "tronqué",
        "missing": "absent",
        "unreadable": "illisible",
        "waiting": "en attente",
        "listening": "à l’écoute",
        "failed": "en échec",
        "refusing": "refuse les connexions",
        "stopped": "arrêté",
        "running": "en cours",
        "exited": "terminé",
        "restarting": "redémarrage",
        "reconnecting": "reconnexion",
    }
}
"""States as errwatch says them (English), in the report's language."""


class _Phrases:
    """Formats one language's templates: ``say("d_first", at=...)``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.table = _PHRASES[lang]

    def __call__(self, key: str, **values: object) -> str:
        return self.table[key].format(**values)

    def seconds(self, value: float) -> str:
        if value < 10:
            text = f"{value:.1f} s"
        else:
            text = f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"
        return text.replace(".", ",") if self.lang == "fr" else text

    def state(self, state: str) -> str:
        """A source or log state in this language."""
        return _STATES.get(self.lang, {}).get(state, state)

    def percent(self, value: float | None) -> str:
        if value is None:
            return "—"
        text = f"{value:.1%}"
        return text.replace(".", ",").replace("%", " %") if self.lang == "fr" else text

    def date(self, at: float) -> str:
        local = time.localtime(at)
        when = f"{_clock(at)[:5]} {_zone(at)}"
        if self.lang == "fr":
            return f"{local.tm_mday} {_MONTHS_FR[local.tm_mon - 1]} {local.tm_year}, {when}"
        return f"{time.strftime('%B', local)} {local.tm_mday}, {local.tm_year}, {when}"


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def _zone(at: float) -> str:
    return time.strftime("%Z", time.localtime(at))


def _where(group: RecordedGroup) -> str:
    if group.file is None:
        return "?"
    return f"{group.file}:{group.line} ({group.function})"


def _event_text(event: TimelineEvent, say: _Phrases) -> str:
    data = dict(event.data)
    if "state" in data:
        data["state"] = say.state(str(data["state"]))
    try:
        text = say(str(event.kind), **data)
    except (KeyError, ValueError):  # an event recorded without its data: show it as written
        text = event.text
    if event.data.get("during") and event.kind is not EventKind.ALERT_RESOLVED:
        text += say("during", fault=event.data["during"])
    text = text.replace("|", "\\|")
    return f"{text} (test)" if event.test else text


# -- sections -------------------------------------------------------------------------


def _summary(facts: Facts, say: _Phrases) -> list[str]:
    sentences = []
    if facts.injections:
        sentences.append(say("s_runs", runs=len(facts.injections), route=facts.injection_route))
    group = facts.top_group
    sentences.append(
        say(
            "s_errors_kind" if group else "s_errors",
            errors=facts.errors,
            injected=facts.injected_errors,
            kind=group.type if group else "",
        )
    )
    if facts.faults:
        sentences.append(
            say("s_faults", runs=len(facts.faults), links=_links(facts), errors=facts.fault_errors)
        )
    if facts.detected is not None and facts.first_error is not None:
        delay = say.seconds(facts.detected - facts.first_error)
        sentences.append(say("s_detected", alert=facts.detected_by, delay=delay))
    if facts.errors == facts.injected_errors + facts.fault_errors:
        sentences.append(say("s_test_only"))
    return [" ".join(sentences)]


def _detection(facts: Facts, say: _Phrases) -> list[str]:
    metric = f'{facts.metric}{{{facts.status_label}="500"}}'
    lines = [say("d_metric", metric=metric, query=facts.query)]
    if facts.reading:
        lines = [say("d_reading", reading=facts.reading)]
        if "estimated" in facts.reading:
            lines.append(say("d_estimated"))
    lines += [
        say(
            "d_ratio",
            ratio=say.percent(facts.max_ratio),
            app_ratio=say.percent(facts.max_app_ratio),
        ),
    ]
    if facts.first_error is not None:
        lines.append(say("d_first", at=_clock(facts.first_error)))
    if facts.detected is not None and facts.first_error is not None:
        delay = say.seconds(facts.detected - facts.first_error)
        lines.append(
            say("d_detected", at=_clock(facts.detected), alert=facts.detected_by, delay=delay)
        )
    else:
        lines.append(say("d_no_alert"))
    group = facts.top_group
    if group is not None:
        lines.append(say("d_logs", type=group.type, count=group.count, where=_where(group)))
    return lines


def _root_cause(facts: Facts, say: _Phrases) -> list[str]:
    group = facts.top_group
    if group is None:
        return [say("r_none")]
    head = say("r_head", type=group.type, message=group.message, where=_where(group))
    if group.route:
        head += say("r_route", route=group.route)
    faulted = dict((g.fingerprint, n) for g, n in facts.fault_groups).get(group.fingerprint, 0)
    if group.application == 0:
        head += say("r_test")
    elif faulted >= group.application:
        head += say("r_fault", links=_links(facts))
    else:
        head += "."
    lines = [head]
    if group.sources:
        lines += ["", say("r_sources", sources=_sources(group))]
    return [*lines, "", "```", group.sample.rstrip(), "```"]


def _sources(group: RecordedGroup) -> str:
    """Where a group occurred, as code spans: names from the logs are data, not Markdown."""
    ranked = sorted(group.sources, key=lambda item: -item[1])
    return ", ".join(f"`{name.replace('`', '')}` ({count})" for name, count in ranked)


def _actions(facts: Facts, say: _Phrases) -> list[str]:
    lines = [
        say("a_stop", route=facts.injection_route, at=_clock(window.end))
        for window in facts.injections
        if window.end is not None
    ]
    lines += [
        say("a_fault", name=window.name, at=_clock(window.end))
        for window in facts.faults
        if window.end is not None
    ]
    if facts.recovered is not None:
        lines.append(say("a_zero", at=_clock(facts.recovered)))
    elif facts.first_error is not None:
        lines.append(say("a_not_zero"))
    lines.append(say("a_checks"))
    return lines


def _lessons(facts: Facts, say: _Phrases) -> list[str]:
    noticed = [
        say(
            "l_outside",
            route=facts.injection_route,
            type=group.type,
            first=_clock(group.first_seen),
            last=_clock(group.last_seen),
        )
        for group in facts.outside_window
    ]
    noticed += _fault_lessons(facts, say)
    if facts.test_alerts or facts.app_alerts:
        noticed.append(say("l_alerts", test=facts.test_alerts, app=facts.app_alerts))
    if facts.detected is not None and facts.first_error is not None:
        noticed.append(say("l_delay", delay=say.seconds(facts.detected - facts.first_error)))
    todo = say("l_todo")
    return [
        say("l_worked"),
        *noticed,
        "",
        say("l_better"),
        todo,
        "",
        say("l_process"),
        todo,
    ]


def _links(facts: Facts) -> str:
    return ", ".join(dict.fromkeys(window.name for window in facts.faults))


def _fault_lessons(facts: Facts, say: _Phrases) -> list[str]:
    """What the API did while each link was broken: the resilience test's answer."""
    lines = []
    for window in facts.faults:
        end = _clock(window.end) if window.end is not None else "…"
        seen = [
            f"{group.type} ({count})"
            for group, count in facts.fault_groups
            if window.start <= group.last_seen
            and (window.end is None or group.first_seen <= window.end + LOG_GRACE)
        ]
        key = "l_fault" if seen else "l_fault_none"
        lines.append(
            say(
                key, fault=window.label, start=_clock(window.start), end=end, errors=", ".join(seen)
            )
        )
    if facts.fault_alerts:
        lines.append(say("l_fault_alerts", count=facts.fault_alerts))
    return lines


def rate_chart(session: RecordedSession, start: float, end: float, width: int = 72) -> str:
    """The request rate of 2xx-4xx and 5xx between start and end, as plain text."""
    from plotext._figure import _figure_class

    others: dict[float, float] = {}
    errors: dict[float, float] = {}
    for at, status, rate in session.rates:
        if start <= at <= end:
            bucket = errors if status.startswith("5") else others
            bucket[at] = bucket.get(at, 0.0) + rate
            (others if bucket is errors else errors).setdefault(at, 0.0)
    if not others:
        return ""
    figure = _figure_class()
    figure.theme("clear")
    figure.plotsize(width, 16)
    xs = sorted(others)
    figure.plot([x - start for x in xs], [others[x] for x in xs], label="2xx-4xx", marker=".")
    figure.plot([x - start for x in xs], [errors[x] for x in xs], label="5xx", marker="x")
    span = max(1.0, xs[-1] - start)
    ticks = [span * i / 4 for i in range(5)]
    figure.xticks(ticks, [_clock(start + t) for t in ticks])
    return "\n".join(line.rstrip() for line in _ANSI.sub("", figure.build()).splitlines())


def render(session: RecordedSession, *, lang: str = "fr") -> str:
    """The whole report as Markdown."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r} (use fr or en)")
    say = _Phrases(lang)
    facts = analyse(session)
    first_injection = facts.injections[0].start if facts.injections else facts.started
    incident_at = facts.first_error or first_injection
    lines = [
        f"# {say('title')}",
        "",
        f"## {say('general')}",
        "",
        f"- **{say('date')}** : {say.date(incident_at)}",
        f"- **{say('services')}** : {say('service', target=facts.target)}",
        f"- **{say('severity')}** : {say(facts.severity)}",
        "",
        f"## {say('summary')}",
        "",
        *_summary(facts, say),
        "",
        f"## {say('timeline')}",
        "",
        f"| {say('time')} ({_zone(incident_at)}) | {say('event')} |",
        "|---|---|",
        *(f"| {_clock(e.at)} | {_event_text(e, say)} |" for e in session.events),
        "",
        f"## {say('detection')}",
        "",
        *_detection(facts, say),
        "",
    ]
    chart = rate_chart(session, incident_at - 30, (facts.recovered or facts.ended) + 30)
    if chart:
        lines += [say("chart"), "", "```", chart, "```", ""]
    lines += [
        f"## {say('root')}",
        "",
        *_root_cause(facts, say),
        "",
        f"## {say('actions')}",
        "",
        *_actions(facts, say),
        "",
        f"## {say('lessons')}",
        "",
        *_lessons(facts, say),
        "",
        "---",
        say("draft", path=session.path.name),
        "",
    ]
    return "\n".join(lines)
