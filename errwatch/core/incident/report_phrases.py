"""The post-mortem's words: one phrasebook per language, every sentence a template."""

from __future__ import annotations

import time

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

PHRASES = {
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
        "d_metric": "- Métrique clé : {metric}, requête errwatch : {query}.",
        "d_reading": "- Série lue (trouvée par errwatch) : {reading}.",
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
        "d_metric": "- Key metric: {metric}, errwatch query: {query}.",
        "d_reading": "- Series read (found by errwatch): {reading}.",
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


STATES = {
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


class Phrases:
    """Formats one language's templates: ``say("d_first", at=...)``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.table = PHRASES[lang]

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
        return STATES.get(self.lang, {}).get(state, state)

    def percent(self, value: float | None) -> str:
        if value is None:
            return "—"
        text = f"{value:.1%}"
        return text.replace(".", ",").replace("%", " %") if self.lang == "fr" else text

    def date(self, at: float) -> str:
        local = time.localtime(at)
        when = f"{clock(at)[:5]} {zone(at)}"
        if self.lang == "fr":
            return f"{local.tm_mday} {_MONTHS_FR[local.tm_mon - 1]} {local.tm_year}, {when}"
        return f"{time.strftime('%B', local)} {local.tm_mday}, {local.tm_year}, {when}"


def clock(at: float) -> str:
    """HH:MM:SS in local time."""
    return time.strftime("%H:%M:%S", time.localtime(at))


def zone(at: float) -> str:
    """The local time zone's abbreviation at ``at``."""
    return time.strftime("%Z", time.localtime(at))
