"""Framing on real logs: each tool's prefix recognised, stripped, streams kept apart.

The logs are Python's own output (a logging set-up like a real app's, a crash on
stderr); the prefixes are the tools' documented formats (tests/core/logs/prefixes.py).
Whatever the prefix, the events are those of the same log without it, and each says
where it occurred.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from errwatch.core.logs.events import TracebackEvent
from errwatch.core.logs.framing import DETECT_LINES, detect
from errwatch.core.logs.reader import TracebackReader
from tests.core.logs import corpus, prefixes
from tests.core.logs.reading import in_pieces, in_windows
from tests.realpython import logged

PREFIXES: dict[str, tuple[prefixes.Prefixer, str, str]] = {
    # name: (prefixer, framing detected, stream of the events)
    "compose v1": (prefixes.compose_v1(), "docker compose", "web_1"),
    "compose v2": (prefixes.compose_v2(), "docker compose", "web-1"),
    "compose v2 -t": (prefixes.compose_v2(timestamps=True), "docker compose", "web-1"),
    "docker logs -t": (prefixes.docker_timestamps, "timestamps", "app.log"),
    "kubectl --prefix --timestamps": (
        prefixes.kubectl_prefix(),
        "kubectl --prefix",
        "api-7d4f9c6b5-x2x9q/api",
    ),
    "stern": (prefixes.stern(), "stern", "api-7d4f9c6b5-x2x9q/api"),
    "journald short": (
        prefixes.journald("short"),
        "syslog RFC 3164 / journald short",
        "web01/gunicorn",
    ),
    "journald short-precise": (
        prefixes.journald("short-precise"),
        "syslog RFC 3164 / journald short",
        "web01/gunicorn",
    ),
    "journald short-iso": (prefixes.journald("short-iso"), "journald short-iso", "web01/gunicorn"),
    "journald short-iso (systemd < 250)": (
        prefixes.journald("short-iso-old"),
        "journald short-iso",
        "web01/gunicorn",
    ),
    "journald short-iso-precise": (
        prefixes.journald("short-iso-precise"),
        "journald short-iso",
        "web01/gunicorn",
    ),
    "journald short-unix": (
        prefixes.journald("short-unix"),
        "journald short-unix",
        "web01/gunicorn",
    ),
    "heroku": (prefixes.heroku(), "heroku", "app[web.1]"),
    "papertrail": (prefixes.papertrail(), "syslog RFC 3164 / journald short", "myapp/app/web.1"),
    "kubernetes CRI": (prefixes.cri(), "kubernetes CRI", "app.log"),
    "docker json-file": (prefixes.docker_json(), "docker json-file", "app.log"),
    "github actions": (prefixes.github_actions, "timestamps", "app.log"),
    "gitlab runner": (prefixes.gitlab, "gitlab runner", "app.log"),
    "indentation": (prefixes.indented, "indentation '    '", "app.log"),
    "literal prefix": (prefixes.literal(), "literal prefix '[api] '", "app.log"),
    "quoted compose": (
        lambda lines: prefixes.literal("> ")(prefixes.compose_v1()(lines)),
        "literal prefix '> ' + docker compose",
        "web_1",
    ),
}


def shape(events: list[TracebackEvent]) -> list[tuple[object, ...]]:
    """What a prefix must not change: types, messages, frames, chains, completeness."""
    return [(e.type, e.message, e.frames, e.chain, e.complete, e.uncertain) for e in events]


def read(
    text: str, source: str = "app.log", **options: object
) -> tuple[TracebackReader, list[TracebackEvent]]:
    reader = TracebackReader(source, **options)  # type: ignore[arg-type]
    events = reader.feed(text.encode()) + reader.finish()
    return reader, events


def as_text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def app_log(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A real app's log: records, 3 ZeroDivisionError, a KeyError, then a crash on stderr."""
    tmp = tmp_path_factory.mktemp("app")
    crash = corpus.chained(tmp_path_factory.mktemp("crash"))
    return [*logged(tmp, corpus.APP_ERRORS).splitlines(), *crash.splitlines()]


@pytest.mark.parametrize("name", list(PREFIXES))
def test_each_prefix_gives_the_events_of_the_bare_log(app_log: list[str], name: str) -> None:
    prefixer, framing, stream = PREFIXES[name]
    _, bare = read(as_text(app_log))
    reader, framed = read(as_text(prefixer(app_log)))
    assert reader.framing == framing
    assert shape(framed) == shape(bare)
    assert [e.type for e in framed] == ["ZeroDivisionError"] * 3 + ["KeyError", "KeyError"]
    assert {e.stream for e in framed} == {stream}
    # The record's own time wins over the prefix's.
    assert [e.logged for e in framed[:4]] == [e.logged for e in bare[:4]]


def test_without_a_time_of_its_own_a_traceback_takes_its_prefix_time(tmp_path: Path) -> None:
    crash = corpus.plain(tmp_path).splitlines()
    _, [bare] = read(as_text(crash))
    assert bare.logged is None
    _, [event] = read(as_text(prefixes.docker_timestamps(crash)))
    assert event.logged == prefixes.T0  # its first line's prefix: 2025-07-29T14:35:02Z
    assert event.prefix is not None and event.prefix.logged_at == "2025-07-29T14:35:02.000000000Z"


def test_a_multi_line_journal_entry_is_read_under_its_indentation(tmp_path: Path) -> None:
    crash = corpus.chained(tmp_path).splitlines()
    lines = [
        *prefixes.journald()(["started"]),
        *prefixes.journald_entry(crash, tag="api", pid=7),
        *prefixes.journald()(["next request"]),
    ]
    _, [event] = read(as_text(lines))
    _, [bare] = read(as_text(crash))
    assert shape([event]) == shape([bare])
    assert event.stream == "web01/api"
    assert event.prefix is not None and dict(event.prefix.fields)["pid"] == "7"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (prefixes.compose_v2("web-1"), prefixes.compose_v2("worker-1")),
        (prefixes.kubectl_prefix(container="api"), prefixes.kubectl_prefix(container="sidecar")),
        (prefixes.journald(pid=812), prefixes.journald(pid=813)),
        (prefixes.heroku("web.1"), prefixes.heroku("web.2")),
        (prefixes.cri("stdout"), prefixes.cri("stderr")),
    ],
    ids=["compose", "kubectl", "journald", "heroku", "cri"],
)
def test_two_streams_written_at_once_are_read_apart(
    app_log: list[str], first: prefixes.Prefixer, second: prefixes.Prefixer
) -> None:
    mixed = prefixes.interleave(first(app_log), second(app_log))
    _, bare = read(as_text(app_log))
    _, events = read(as_text(mixed))
    assert len(events) == 2 * len(bare)  # every traceback once, none lost to the mix
    assert not any(e.uncertain for e in events)

    def origin(event: TracebackEvent) -> object:  # what tells the writers apart
        assert event.prefix is not None
        return event.prefix.fields

    streams = {origin(e) for e in events}
    assert len(streams) == 2
    for stream in streams:
        assert shape([e for e in events if origin(e) == stream]) == shape(bare)


def test_bulk_pieces_and_windows_give_the_same_events_on_prefixed_input(
    app_log: list[str], tmp_path: Path
) -> None:
    """The bulk path (skipping to anchors, needles per open stream) against reading in
    random pieces as live following does, and against every window size of a scan."""
    mixed = prefixes.interleave(
        prefixes.compose_v2("web-1")(app_log),
        prefixes.compose_v2("worker-1")(["waiting"] * 20 + app_log),
        prefixes.compose_v2("db-1")(["ready"] * 50),
    )
    data = as_text(mixed).encode()
    _, whole = read(data.decode())

    def summary(events: list[TracebackEvent]) -> list[tuple[object, ...]]:
        return [(e.type, e.text, e.stream, e.record, e.complete) for e in events]

    expected = summary(whole)
    assert len(whole) == 10
    for seed in range(10):
        events = in_pieces(data, TracebackReader("app.log"), seed, (1, 7, 80, 500, 4096))
        assert summary(events) == expected
    log = tmp_path / "mixed.log"
    log.write_bytes(data)
    for window, events in in_windows(log, lambda: TracebackReader("app.log")):
        assert summary(events) == expected, window


def test_logs_without_a_prefix_are_read_as_they_are(app_log: list[str], tmp_path: Path) -> None:
    assert detect(app_log) is None
    # A structured log that starts every record with an ISO time: the time may be taken
    # for a prefix, the events and their times stay the same.
    records = [
        "2025-07-29T14:35:02.123Z ERROR [api] Exception on /orders/1 [GET]",
        *corpus.plain(tmp_path).splitlines(),
        "2025-07-29T14:35:03.000Z INFO [api] next",
    ] * 3
    _, events = read(as_text(records))
    _, bare = read(as_text(records), prefix="none")
    assert shape(events) == shape(bare) and len(events) == 3
    assert [e.logged for e in events] == [e.logged for e in bare]


def test_a_prefix_given_as_a_regex(app_log: list[str]) -> None:
    lines = [f"{n % 2} node-{n % 2} :: {line}" for n, line in enumerate(app_log)]
    lines = [line for n, line in enumerate(lines) if n % 2 == 0] + [
        line for n, line in enumerate(lines) if n % 2 == 1
    ]
    from errwatch.core.logs.framing import setting

    reader, events = read(
        as_text([f"node-a :: {line}" for line in app_log]),
        prefix=setting(r"(?P<stream>node-\w+) :: "),
    )
    _, bare = read(as_text(app_log))
    assert reader.framing == "custom"
    assert shape(events) == shape(bare)
    assert {e.stream for e in events} == {"node-a"}


def test_rsyslog_escaped_newlines_are_one_message_of_several_lines(tmp_path: Path) -> None:
    crash = corpus.plain(tmp_path).splitlines()
    line = "Jul 29 14:35:02 web01 api[7]: Exception on /error [GET]#012" + "#012".join(crash)
    _, [event] = read(as_text(["Jul 29 14:35:01 web01 api[7]: started", line]))
    _, [bare] = read(as_text(crash))
    assert shape([event]) == shape([bare])
    assert event.record is not None and event.record.route == "/error"


def test_a_guess_made_on_few_lines_that_proves_wrong_ends_what_it_held_open() -> None:
    # Live following: two lines, then silence, so the source is read as unprefixed for
    # now; then prefixed lines come and the full sample says compose. The traceback the
    # first guess held open is said (cut off) at once, not left for its timeout.
    now = [100.0]
    reader = TracebackReader("app.log", clock=lambda: now[0])
    assert reader.feed(b'Traceback (most recent call last):\n  File "app.py", line 3, in f\n') == []
    now[0] += 1.0
    assert reader.settle(0.5) == []
    assert reader.framing == "none"
    lines = prefixes.compose_v2("web-1")([f"request {n} done" for n in range(DETECT_LINES)])
    events = reader.feed(("\n".join(lines) + "\n").encode())
    assert reader.framing != "none"
    assert [(e.type, e.complete) for e in events] == [("<incomplete traceback>", False)]
    assert reader.expire(0.0) == []
