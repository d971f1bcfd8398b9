"""The post-mortem on a recording full of hostile text: every heading, link, HTML tag,
table cell and code block in it is the report's own, never one from a log line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from errwatch.core.incident import timeline
from errwatch.core.incident.recording import RecordedGroup, RecordedSession
from errwatch.core.incident.report import render
from errwatch.core.incident.report_phrases import PHRASES
from errwatch.core.textsafe import for_terminal
from tests.hostile import corpus

T0 = time.mktime((2025, 7, 29, 14, 35, 0, 0, 0, -1))
HOSTILE = corpus.MESSAGE
"""Every hostile line at once: escapes, markup, a fence, a link, a table row, HTML."""
SAMPLE = (
    "Traceback (most recent call last):\n"
    f'  File "/srv/{corpus.RICH_CLOSE}/app.py", line 3, in handler\n'
    "    raise ValueError(msg)\n"
    f"ValueError: {HOSTILE}\n"
    "``````\n"
    "# not a heading\n"
)


def hostile_session(path: Path) -> RecordedSession:
    """A run where every piece of text that came from outside errwatch is hostile."""
    group = RecordedGroup(
        fingerprint="f" * 16,
        type=f"Error{corpus.MARKDOWN_TABLE}",
        message=HOSTILE,
        file=f"/srv/{corpus.MARKDOWN_LINK}/{corpus.HTML}.py",
        line=3,
        function=corpus.RICH_CLICK + corpus.OSC_TITLE,
        count=5,
        injected=0,
        first_seen=T0 + 2,
        last_seen=T0 + 8,
        sample=SAMPLE,
        route=f"/{corpus.MARKDOWN_FENCE}",
        parts=(HOSTILE,),
        sources=((corpus.OSC_LINK, 3), (f"`{corpus.MARKDOWN_TABLE}`", 2)),
    )
    events = (
        timeline.injection_started(T0, method="GET", route=HOSTILE, rate=5, run="r1"),
        timeline.new_group(T0 + 2, type=HOSTILE, where=HOSTILE, injected=False),
        timeline.alert_changed(T0 + 3, name=HOSTILE, firing=True, value=0.5, test=False),
        timeline.source_changed(T0 + 4, source=HOSTILE, state=HOSTILE, detail=HOSTILE),
        timeline.log_changed(T0 + 5, path=HOSTILE, state="rotated", detail=HOSTILE),
        timeline.mark(T0 + 6, HOSTILE),
        timeline.fault_started(T0 + 7, name=HOSTILE, fault=HOSTILE, listen="x", upstream="y"),
        timeline.fault_stopped(T0 + 9, name=HOSTILE, reason=HOSTILE, seen=4, faulted=2),
        timeline.injection_stopped(T0 + 10, route=HOSTILE, reason=HOSTILE, sent=5, errors=5),
        timeline.alert_changed(T0 + 20, name=HOSTILE, firing=False, value=0.0, test=False),
    )
    rates = tuple(
        (T0 + s, status, rate)
        for s in range(-5, 30)
        for status, rate in (("200", 2.0), ("500", 5.0 if 1 <= s <= 12 else 0.0))
    )
    meta = {
        "started": str(T0 - 60),
        "target": HOSTILE,
        "injection_route": HOSTILE,
        "query": HOSTILE,
        "metric": HOSTILE,
        "status_label": corpus.MARKDOWN_FENCE,
    }
    return RecordedSession(
        path / f"session-{corpus.HTML.replace('/', '')}.sqlite",
        meta,
        events,
        rates,
        (),
        (group,),
        {group.fingerprint: 2},
    )


def walk(tokens: list[Token]) -> list[Token]:
    """Every token, inline children included."""
    found = []
    for token in tokens:
        found.append(token)
        found += walk(token.children or [])
    return found


def words(lang: str) -> set[str]:
    """Every heading the report may write, in this language."""
    table = PHRASES[lang]
    keys = ("title", "general", "summary", "timeline", "detection", "root", "actions", "lessons")
    return {table[key] for key in keys} | {
        table[key].removeprefix("### ") for key in ("l_worked", "l_better", "l_process")
    }


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_log_text_never_becomes_report_structure(tmp_path: Path, lang: str) -> None:
    session = hostile_session(tmp_path)
    report = render(session, lang=lang)
    assert corpus.raw_controls(report) == []  # nothing acts on a terminal (report on stdout)

    tokens = MarkdownIt("gfm-like").parse(report)
    every = walk(tokens)
    kinds = [token.type for token in every]
    # No link, image, HTML or strikethrough anywhere: the text holds all of them.
    for kind in ("link_open", "image", "html_block", "html_inline", "s_open"):
        assert kind not in kinds, kind
    # The headings are the report's own, in its order.
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert set(headings) == words(lang) and len(headings) == len(words(lang))
    # Bold only for the three labels of the general information; no emphasis from text.
    assert kinds.count("strong_open") == 3 and "em_open" not in kinds
    # The timeline: one row per event, two cells each.
    rows = [t for t in tokens if t.type == "tr_open"]
    cells = [t for t in tokens if t.type in ("td_open", "th_open")]
    assert len(rows) == 1 + len(session.events) and len(cells) == 2 * len(rows)
    # Two code blocks: the chart and the sample, whole, from its first line to its last.
    fences = [t for t in tokens if t.type in ("fence", "code_block")]
    assert [t.type for t in fences] == ["fence", "fence"]
    assert fences[1].content.rstrip("\n") == for_terminal(SAMPLE).rstrip("\n")


def shown(report: str) -> str:
    """What a reader sees: the text of every inline token (code spans included)."""
    inline: list[Any] = [
        child.content
        for token in MarkdownIt("gfm-like").parse(report)
        if token.type == "inline"
        for child in token.children or []
        if child.type in ("text", "code_inline")
    ]
    return "\n".join(inline)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_hostile_text_is_still_shown_as_it_was(tmp_path: Path, lang: str) -> None:
    """Escaped for Markdown, not dropped: a reader sees the message and the names."""
    report = render(hostile_session(tmp_path), lang=lang)
    seen = shown(report)
    one_line = for_terminal(HOSTILE, one_line=True)
    assert one_line in seen  # the message (root cause), the names, the notes
    assert seen.count(one_line) >= 10
    for name in (corpus.OSC_LINK, f"`{corpus.MARKDOWN_TABLE}`"):  # where it occurred
        assert for_terminal(name, one_line=True) in seen
    assert for_terminal(f"/srv/{corpus.MARKDOWN_LINK}/{corpus.HTML}.py:3", one_line=True) in seen
