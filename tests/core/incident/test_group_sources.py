"""Where each group occurred, in the recording and in the post-mortem."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from errwatch.core.incident.recording import Recorder, load_session
from errwatch.core.incident.report import render
from errwatch.core.logs.grouping import GroupStore
from errwatch.core.logs.scan import TracebackReader
from tests.core.incident.test_report import record

COMPOSE = "".join(
    f"{service} | {line}\n"
    for service in ("web-1   ", "web-1   ", "worker-1")
    for line in (
        "2025-07-29 14:35:02,000 ERROR [api] Exception on /error [GET]",
        "Traceback (most recent call last):",
        '  File "/srv/app.py", line 10, in error',
        "    ratio = 1 / 0",
        "ZeroDivisionError: division by zero",
    )
)


def test_the_recording_keeps_where_each_group_occurred(tmp_path: Path) -> None:
    path = tmp_path / "session.sqlite"
    recorder = Recorder(path, {"target": "http://127.0.0.1:5000"})
    recorder.start()
    reader = TracebackReader("compose.log")
    store = GroupStore()
    for event in reader.feed(COMPOSE.encode()) + reader.finish():
        group, _ = store.add(event)
    recorder.add_group(group)
    recorder.close()
    [recorded] = load_session(path).groups
    assert dict(recorded.sources) == {"web-1": 2, "worker-1": 1}


def test_a_recording_made_before_sources_still_opens(tmp_path: Path) -> None:
    session = record(tmp_path)
    with sqlite3.connect(session.path) as connection:  # as an older errwatch wrote it
        connection.execute("ALTER TABLE groups DROP COLUMN sources")
    [group] = load_session(session.path).groups
    assert group.sources == () and group.count == 50


def test_the_report_says_where_the_top_group_occurred(tmp_path: Path) -> None:
    session = record(tmp_path)
    assert "Occurred on" not in render(session, lang="en")  # parsed from text: no place
    [group] = session.groups
    placed = replace(session, groups=(replace(group, sources=(("web-1", 30), ("web-`2", 20))),))
    # Names are code, shown whole: a backtick in one cannot end its span.
    assert "Occurred on: `web-1` (30), ``web-`2`` (20)." in render(placed, lang="en")
    assert "Survenue sur : `web-1` (30), ``web-`2`` (20)." in render(placed, lang="fr")
