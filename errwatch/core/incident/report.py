"""The post-mortem, drafted from a recording, in the structure of the seed's report.

French by default (the seed's language), English on request. Every figure comes from
the recording: the timeline, the rate samples, the traceback groups and the metadata
(target, query, injection route). The sections a person must write (what to change)
are headings pre-filled with the facts errwatch noticed.
"""

from __future__ import annotations

import re

from errwatch.core.incident.faultwindows import LOG_GRACE
from errwatch.core.incident.recording import RecordedGroup, RecordedSession
from errwatch.core.incident.report_facts import Facts, analyse
from errwatch.core.incident.report_phrases import Phrases, clock, zone
from errwatch.core.incident.timeline import EventKind, TimelineEvent
from errwatch.core.textsafe import markdown_block
from errwatch.core.textsafe import markdown_code as code
from errwatch.core.textsafe import markdown_inline as md

LANGS = ("fr", "en")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# Text from the recording (log text, names, labels, answers) is data, never Markdown:
# code() and markdown_block() hold it verbatim (names, places, samples); md() escapes it
# where code cannot go (messages, notes, the timeline table's cells).


def _place(group: RecordedGroup) -> str:
    if group.file is None:
        return "?"
    return f"{group.file}:{group.line} ({group.function})"


_CODE_KEYS = frozenset({"type", "where", "route", "path"})
"""Event data shown as code in the timeline: names and places, verbatim."""


def _event_text(event: TimelineEvent, say: Phrases) -> str:
    """One timeline row's text, safe in a table cell."""
    data = dict(event.data)
    if "state" in data:
        data["state"] = say.state(str(data["state"]))
    data = {
        key: (code(value, cell=True) if key in _CODE_KEYS else md(value))
        if isinstance(value, str)
        else value
        for key, value in data.items()
    }
    try:
        text = say(str(event.kind), **data)
    except (KeyError, ValueError):  # an event recorded without its data: show it as written
        text = md(event.text)
    if event.data.get("during") and event.kind is not EventKind.ALERT_RESOLVED:
        text += say("during", fault=md(str(event.data["during"])))
    return f"{text} (test)" if event.test else text


# -- sections -------------------------------------------------------------------------


def _summary(facts: Facts, say: Phrases) -> list[str]:
    sentences = []
    if facts.injections:
        sentences.append(
            say("s_runs", runs=len(facts.injections), route=code(facts.injection_route))
        )
    group = facts.top_group
    sentences.append(
        say(
            "s_errors_kind" if group else "s_errors",
            errors=facts.errors,
            injected=facts.injected_errors,
            kind=code(group.type) if group else "",
        )
    )
    if facts.faults:
        sentences.append(
            say("s_faults", runs=len(facts.faults), links=_links(facts), errors=facts.fault_errors)
        )
    if facts.detected is not None and facts.first_error is not None:
        delay = say.seconds(facts.detected - facts.first_error)
        sentences.append(say("s_detected", alert=md(facts.detected_by), delay=delay))
    if facts.errors == facts.injected_errors + facts.fault_errors:
        sentences.append(say("s_test_only"))
    return [" ".join(sentences)]


def _detection(facts: Facts, say: Phrases) -> list[str]:
    metric = f'{facts.metric}{{{facts.status_label}="500"}}'
    lines = [say("d_metric", metric=code(metric), query=code(facts.query))]
    if facts.reading:
        lines = [say("d_reading", reading=code(facts.reading))]
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
        lines.append(say("d_first", at=clock(facts.first_error)))
    if facts.detected is not None and facts.first_error is not None:
        delay = say.seconds(facts.detected - facts.first_error)
        lines.append(
            say("d_detected", at=clock(facts.detected), alert=md(facts.detected_by), delay=delay)
        )
    else:
        lines.append(say("d_no_alert"))
    group = facts.top_group
    if group is not None:
        lines.append(
            say("d_logs", type=code(group.type), count=group.count, where=code(_place(group)))
        )
    return lines


def _root_cause(facts: Facts, say: Phrases) -> list[str]:
    group = facts.top_group
    if group is None:
        return [say("r_none")]
    head = say(
        "r_head", type=code(group.type), message=md(group.message), where=code(_place(group))
    )
    if group.route:
        head += say("r_route", route=code(group.route))
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
    return [*lines, "", markdown_block(group.sample).rstrip("\n")]


def _sources(group: RecordedGroup) -> str:
    """Where a group occurred, as code spans: names from the logs are data, not Markdown."""
    ranked = sorted(group.sources, key=lambda item: -item[1])
    return ", ".join(f"{code(name)} ({count})" for name, count in ranked)


def _actions(facts: Facts, say: Phrases) -> list[str]:
    lines = [
        say("a_stop", route=code(facts.injection_route), at=clock(window.end))
        for window in facts.injections
        if window.end is not None
    ]
    lines += [
        say("a_fault", name=md(window.name), at=clock(window.end))
        for window in facts.faults
        if window.end is not None
    ]
    if facts.recovered is not None:
        lines.append(say("a_zero", at=clock(facts.recovered)))
    elif facts.first_error is not None:
        lines.append(say("a_not_zero"))
    lines.append(say("a_checks"))
    return lines


def _lessons(facts: Facts, say: Phrases) -> list[str]:
    noticed = [
        say(
            "l_outside",
            route=code(facts.injection_route),
            type=code(group.type),
            first=clock(group.first_seen),
            last=clock(group.last_seen),
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
    return ", ".join(dict.fromkeys(md(window.name) for window in facts.faults))


def _fault_lessons(facts: Facts, say: Phrases) -> list[str]:
    """What the API did while each link was broken: the resilience test's answer."""
    lines = []
    for window in facts.faults:
        end = clock(window.end) if window.end is not None else "…"
        seen = [
            f"{code(group.type)} ({count})"
            for group, count in facts.fault_groups
            if window.start <= group.last_seen
            and (window.end is None or group.first_seen <= window.end + LOG_GRACE)
        ]
        key = "l_fault" if seen else "l_fault_none"
        lines.append(
            say(
                key,
                fault=md(window.label),
                start=clock(window.start),
                end=end,
                errors=", ".join(seen),
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
    figure.xticks(ticks, [clock(start + t) for t in ticks])
    return "\n".join(line.rstrip() for line in _ANSI.sub("", figure.build()).splitlines())


def render(session: RecordedSession, *, lang: str = "fr") -> str:
    """The whole report as Markdown."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r} (use fr or en)")
    say = Phrases(lang)
    facts = analyse(session)
    first_injection = facts.injections[0].start if facts.injections else facts.started
    incident_at = facts.first_error or first_injection
    lines = [
        f"# {say('title')}",
        "",
        f"## {say('general')}",
        "",
        f"- **{say('date')}** : {say.date(incident_at)}",
        f"- **{say('services')}** : {say('service', target=code(facts.target))}",
        f"- **{say('severity')}** : {say(facts.severity)}",
        "",
        f"## {say('summary')}",
        "",
        *_summary(facts, say),
        "",
        f"## {say('timeline')}",
        "",
        f"| {say('time')} ({zone(incident_at)}) | {say('event')} |",
        "|---|---|",
        *(f"| {clock(e.at)} | {_event_text(e, say)} |" for e in session.events),
        "",
        f"## {say('detection')}",
        "",
        *_detection(facts, say),
        "",
    ]
    chart = rate_chart(session, incident_at - 30, (facts.recovered or facts.ended) + 30)
    if chart:
        lines += [say("chart"), "", markdown_block(chart)]
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
        say("draft", path=code(session.path.name)),
        "",
    ]
    return "\n".join(lines)
