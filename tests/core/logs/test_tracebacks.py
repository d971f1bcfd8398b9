"""Traceback parsing, one test per format, on text produced by real Python code."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest

from errwatch.core.logs.lines import LONG_LINE_MARK, MAX_LINE, decode_line
from errwatch.core.logs.tracebacks import TracebackEvent, TracebackParser, parse_lines, parse_text
from errwatch.demo.stack import DemoApi
from tests.conftest import wait_until
from tests.core.logs import corpus
from tests.core.logs.reading import in_windows


def one(text: str) -> TracebackEvent:
    [event] = parse_text(text)
    return event


def test_plain_traceback(tmp_path: Path) -> None:
    event = one(corpus.plain(tmp_path))
    assert (event.type, event.message, event.complete) == (
        "ZeroDivisionError",
        "division by zero",
        True,
    )
    assert [(f.function, f.line) for f in event.frames] == [
        ("<module>", 8),
        ("main", 6),
        ("ratio", 3),
    ]
    assert event.frames[-1].file == str(tmp_path / "calc.py")
    assert event.frames[-1].source == "return a / b"
    assert "~~^~~" in event.text  # the 3.11 caret line is kept in the text, not taken as source


def test_chained_exceptions_are_one_event_typed_by_the_last(tmp_path: Path) -> None:
    event = one(corpus.chained(tmp_path))
    assert (event.type, event.message) == ("KeyError", "'missing'")
    assert [link.type for link in event.chain] == [
        "json.decoder.JSONDecodeError",
        "RuntimeError",
        "KeyError",
    ]
    assert [link.relation for link in event.chain] == ["cause", "context", ""]
    assert event.chain[1].message == "bad config"
    assert event.chain[0].frames[-1].function == "raw_decode"


def test_carets_of_python_313_are_not_taken_for_source() -> None:
    event = one(corpus.carets_313("/srv/app.py"))
    assert [(f.function, f.source) for f in event.frames] == [
        ("<module>", "main()"),
        ("main", "total = compute("),
        ("compute", "return a / b"),
    ]
    assert event.message == "division by zero"


def test_colours_of_python_313_and_werkzeug_are_removed() -> None:
    event = one(corpus.colour_313("/srv/app.py"))
    assert (event.type, event.message) == ("ZeroDivisionError", "division by zero")
    assert [(f.file, f.line, f.function, f.source) for f in event.frames] == [
        ("/srv/app.py", 5, "<module>", "ratio(1, 0)"),
        ("/srv/app.py", 2, "ratio", "return a / b"),
    ]
    assert "\x1b" not in event.text


def test_an_exception_group_is_one_event_with_its_members(tmp_path: Path) -> None:
    event = one(corpus.task_group(tmp_path))
    assert event.type == "ExceptionGroup"
    assert event.message == "unhandled errors in a TaskGroup (2 sub-exceptions)"
    assert [(m.type, m.message) for m in event.exceptions] == [
        ("ConnectionError", "backend 1 down"),
        ("ConnectionError", "backend 2 down"),
    ]
    assert all(m.frames[-1].function == "fetch" for m in event.exceptions)
    assert event.frames[-1].function == "__aexit__"  # the group's own traceback


def test_nested_and_chained_exception_groups(tmp_path: Path) -> None:
    event = one(corpus.exception_group(tmp_path))
    assert (event.type, event.message) == ("RuntimeError", "wrapped")
    group = event.chain[0]
    assert (group.type, group.message, group.relation) == (
        "ExceptionGroup",
        "outer (2 sub-exceptions)",
        "cause",
    )
    assert group.frames[-1].function == "outer"
    [value, inner] = group.group
    assert (value.type, value.message, value.frames) == ("ValueError", "bad value", ())
    assert (inner.type, inner.message) == ("ExceptionGroup", "inner (2 sub-exceptions)")
    assert inner.frames[-1].function == "inner"
    assert [(m.type, m.message) for m in inner.group] == [
        ("TypeError", "bad type"),
        ("KeyError", "'user'"),
    ]


def test_a_group_inside_a_member_chain_is_one_event(tmp_path: Path) -> None:
    [event] = parse_text(corpus.group_in_a_member_chain(tmp_path))
    assert (event.type, event.message) == ("ExceptionGroup", "request failed (2 sub-exceptions)")
    [key, type_error] = event.exceptions
    assert (key.type, key.message) == ("KeyError", "'cache'")  # the end of the member's chain
    assert key.frames[-1].function == "load"
    assert (type_error.type, type_error.message) == ("TypeError", "bad payload")


@pytest.mark.parametrize(
    "before",
    [
        "^C",  # Ctrl-C at a prompt
        "fatal: [web1]: FAILED! => failed to parse: ",  # a tool quoting what it ran
        "`",  # a traceback pasted as inline code
        "2025-07-29 14:35:02,000 ERROR [api] boom: ",  # a record and its header on one line
    ],
)
def test_a_header_mid_line_opens_a_traceback(tmp_path: Path, before: str) -> None:
    crash = corpus.plain(tmp_path)
    [event] = parse_text("$ python3 calc.py\n" + before + crash + "$ \n")
    assert (event.type, event.complete) == ("ZeroDivisionError", True)
    assert [f.function for f in event.frames] == [f.function for f in one(crash).frames]


@pytest.mark.parametrize(
    "margin",
    ["    ", "E 04-27 13:23:32 httptools_impl.py:414] ", "2025-05-20 19:21:36 "],
    ids=["indented", "glog", "docker-desktop"],
)
def test_a_margin_repeated_on_every_line_is_stripped(tmp_path: Path, margin: str) -> None:
    crash = corpus.chained(tmp_path).splitlines()
    lines = ["2025-07-29 14:35:01,000 ERROR [api] handler failed"]
    # The same shape on every line; its numbers (times, line numbers) may change.
    lines += [margin.replace("32", f"{n % 60:02d}") + line for n, line in enumerate(crash)]
    lines += ["2025-07-29 14:35:03,000 INFO [api] next request"]
    [event] = parse_text("\n".join(lines) + "\n")
    bare = one("\n".join(crash))
    assert (event.type, event.chain, event.frames) == (bare.type, bare.chain, bare.frames)


def test_a_margin_before_an_exception_group_box(tmp_path: Path) -> None:
    box = corpus.task_group(tmp_path).splitlines()
    prefixed = "\n".join(
        f"E 04-27 13:23:{n % 60:02d} h.py:414] {line}" for n, line in enumerate(box)
    )
    [event] = parse_text(prefixed + "\nI 04-27 13:24:00 h.py:10] next\n")
    assert event.type == "ExceptionGroup"
    assert [m.type for m in event.exceptions] == ["ConnectionError", "ConnectionError"]


def test_frames_pasted_without_their_indentation(tmp_path: Path) -> None:
    crash = corpus.chained(tmp_path).splitlines()
    flat = "\n".join(line.strip() for line in crash)  # carets too
    [event] = parse_text(flat + "\n")
    bare = one("\n".join(crash))
    assert (event.type, event.message) == (bare.type, bare.message)
    assert [f.function for f in event.frames] == [f.function for f in bare.frames]


def test_syntax_errors_without_a_traceback_header(tmp_path: Path) -> None:
    events = [one(text) for text in corpus.syntax_errors(tmp_path)]
    assert [(e.type, e.message) for e in events] == [
        ("SyntaxError", "'(' was never closed"),
        ("IndentationError", "expected an indented block after 'if' statement on line 1"),
        ("IndentationError", "unexpected indent"),
        ("TabError", "inconsistent use of tabs and spaces in indentation"),
    ]
    first = events[0].frames[0]
    assert (first.file, first.line, first.source) == (
        str(tmp_path / "never_closed.py"),
        2,
        "def f(",
    )


def test_a_syntax_error_cut_off_after_its_carets_is_reported_incomplete(tmp_path: Path) -> None:
    whole = corpus.syntax_errors(tmp_path)[0]  # File, source, carets, SyntaxError line
    cut = cut_syntax_error(tmp_path)
    assert cut.rstrip().endswith("^")
    [at_end] = parse_text(cut)  # the file ends there
    assert (at_end.type, at_end.complete) == ("<incomplete traceback>", False)
    assert at_end.frames[0].file == str(tmp_path / "never_closed.py")
    record = "2025-07-29 14:35:02,120 INFO [api] next request\n"
    by_record = parse_text(cut + record + whole)  # the next record closes it
    assert [(e.type, e.complete) for e in by_record] == [
        ("<incomplete traceback>", False),
        ("SyntaxError", True),
    ]
    assert by_record[1].record is not None  # the record line was read as a record


def test_a_file_line_without_a_syntax_error_is_not_an_event() -> None:
    text = '  File "notes.txt", line 3\n    not python\nsomething else\n'
    assert parse_text(text) == []


def test_a_final_line_without_message(tmp_path: Path) -> None:
    event = one(corpus.no_message(tmp_path))
    assert (event.type, event.message, event.complete) == ("ValueError", "", True)


def test_qualified_and_local_exception_types(tmp_path: Path) -> None:
    event = one(corpus.qualified(tmp_path))
    assert (event.type, event.message) == ("urllib.error.HTTPError", "HTTP Error 404: Not Found")
    assert one(corpus.local_class(tmp_path)).type == "make.<locals>.QuotaExceeded"


def test_notes_and_multi_line_messages_end_at_the_next_record(tmp_path: Path) -> None:
    event = one(corpus.notes_then_record(tmp_path))
    assert event.message == (
        "first line\nsecond line\n  indented third\n"
        "note: while importing users.csv\nTraceback-like note: see the runbook"
    )
    assert "next record" not in event.text


def test_previous_line_repeated(tmp_path: Path) -> None:
    event = one(corpus.recursion(tmp_path))
    assert (event.type, event.message) == ("RecursionError", "maximum recursion depth exceeded")
    assert len(event.frames) == 4
    assert event.frames[-1].repeated == 996
    assert "[Previous line repeated 996 more times]" in event.text


def test_exception_in_thread(tmp_path: Path) -> None:
    event = one(corpus.thread(tmp_path))
    assert (event.type, event.thread) == ("ValueError", "worker-1")
    assert event.frames[-1].function == "work"


def test_logging_exception_records_give_time_level_logger_route(tmp_path: Path) -> None:
    event = one(corpus.logging_records(tmp_path))
    assert event.type == "ZeroDivisionError"
    record = event.record
    assert record is not None
    assert (record.level, record.logger) == ("ERROR", "shop.api")
    assert (record.method, record.route, record.injection) == ("GET", "/error", "run-7")
    assert record.timestamp is not None
    assert event.seen_at == record.timestamp


def test_gunicorn_error_handling_request_keeps_route_and_method(tmp_path: Path) -> None:
    event = one(corpus.gunicorn(tmp_path))
    assert (event.type, event.message) == ("KeyError", "'o-1'")
    assert event.record is not None
    assert (event.record.method, event.record.route, event.record.level) == (
        "GET",
        "/error/1",
        "ERROR",
    )
    assert event.record.timestamp is not None  # "[2025-07-29 14:35:02 +0000]"


def test_a_traceback_escaped_in_a_json_line(tmp_path: Path) -> None:
    event = one(corpus.json_lines(tmp_path))
    assert (event.type, event.message) == ("ZeroDivisionError", "division by zero")
    assert event.frames[-1].function == "charge"
    assert event.frames[-1].source == "return amount / 0"
    assert event.record is not None
    assert (event.record.level, event.record.logger) == ("ERROR", "shop.api")
    assert (event.record.method, event.record.route) == ("POST", "/pay")
    assert event.record.timestamp is not None


def interleave(first: str, second: str) -> str:
    """Two tracebacks written line by line by two processes to one stderr."""
    a, b = first.splitlines(), second.splitlines()
    out = []
    for n in range(max(len(a), len(b))):
        out.extend(part[n] for part in (a, b) if n < len(part))
    return "\n".join(out) + "\n"


def test_interleaved_tracebacks_count_every_final_exception(tmp_path: Path) -> None:
    text = interleave(corpus.plain(tmp_path), corpus.qualified(tmp_path))
    events = parse_text(text)
    assert sorted(e.type for e in events) == ["ZeroDivisionError", "urllib.error.HTTPError"]
    assert all(e.uncertain and e.complete for e in events)


def test_a_foreign_record_inside_a_traceback(tmp_path: Path) -> None:
    lines = corpus.plain(tmp_path).splitlines()
    lines.insert(3, "2025-07-29 14:35:02,123 INFO [worker.2] request done")
    [event] = parse_text("\n".join(lines))
    assert (event.type, event.complete, event.uncertain) == ("ZeroDivisionError", True, True)
    assert [f.function for f in event.frames] == ["<module>", "main", "ratio"]


def test_a_traceback_cut_off_at_the_end_is_reported_incomplete() -> None:
    text = 'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\n    run()\n'
    event = one(text)
    assert not event.complete
    assert event.frames[0].function == "<module>"


def test_a_paste_cut_in_the_first_letters_of_the_exception_line_is_incomplete(
    tmp_path: Path,
) -> None:
    lines = corpus.plain(tmp_path).splitlines()
    assert lines[-1].startswith("ZeroDivisionError")
    [event] = parse_text("\n".join([*lines[:-1], "Zer"]))
    assert (event.type, event.complete) == ("<incomplete traceback>", False)
    # Bare names that are exceptions still end a traceback.
    for bare in ("KeyboardInterrupt", "StopIteration", "click.exceptions.Abort", "MyError"):
        [event] = parse_text("\n".join([*lines[:-1], bare]))
        assert (event.type, event.complete) == (bare, True)


@pytest.mark.parametrize(
    "separator",
    [
        "The above exception was the direct cause of th",
        "During handling of the above exception, anoth",
    ],
)
def test_a_chain_cut_in_its_separator_is_incomplete(tmp_path: Path, separator: str) -> None:
    lines = corpus.plain(tmp_path).splitlines()
    text = "\n".join([*lines, "", separator])
    [event] = parse_text(text)
    assert (event.type, event.complete) == ("ZeroDivisionError", False)
    # A sentence that only starts like one is not a separator.
    [event] = parse_text("\n".join([*lines, "The above exc"]))
    assert event.complete


def test_an_exception_line_one_column_in_under_drifting_frames(tmp_path: Path) -> None:
    # A Markdown code block indented by 4 whose lines drift by a column or two.
    lines = corpus.plain(tmp_path).splitlines()
    drifted = [" " * 4 + line for line in lines[:-1]]
    drifted[3] = " " + drifted[3]  # a frame line 3 columns in once stripped
    text = "\n".join(["When I run it:", "", *drifted, "     " + lines[-1], "    - - done"])
    [event] = parse_text(text)
    assert (event.type, event.message.splitlines()[0], event.complete) == (
        "ZeroDivisionError",
        "division by zero",
        True,
    )
    assert [f.function for f in event.frames] == ["<module>", "main", "ratio"]


def test_a_traceback_cut_off_by_the_next_record_is_reported_incomplete(tmp_path: Path) -> None:
    lines = corpus.plain(tmp_path).splitlines()[:3]
    text = "\n".join([*lines, "2025-07-29 14:35:02,123 INFO [api] next", "plain line"])
    parser = TracebackParser()
    events = parser.feed_many(text.splitlines())
    assert [(e.type, e.complete) for e in events] == [("<incomplete traceback>", False)]
    assert parser.incomplete == 1


def test_a_cut_off_traceback_is_closed_by_a_timeout_when_following() -> None:
    now = [100.0]
    parser = TracebackParser("app.log", clock=lambda: now[0])
    assert parser.feed("Traceback (most recent call last):") == []
    assert parser.feed('  File "app.py", line 3, in <module>') == []
    assert parser.idle() == []  # still waiting for the exception line
    now[0] += 1.0
    assert parser.expire(2.0) == []
    now[0] += 1.5
    [event] = parser.expire(2.0)
    assert not event.complete


def test_a_block_ends_when_the_writer_goes_quiet() -> None:
    parser = TracebackParser()
    parser.feed_many(["Traceback (most recent call last):", "ValueError: x"])
    assert parser.wants_idle()
    [event] = parser.idle()
    assert event.complete


def test_text_of_a_huge_traceback_is_cut_but_parsing_goes_on() -> None:
    frames = [f'  File "/srv/app.py", line {n}, in f{n}\n    call()' for n in range(3000)]
    text = "Traceback (most recent call last):\n" + "\n".join(frames) + "\nValueError: deep\n"
    event = one(text)
    assert (event.type, len(event.frames)) == ("ValueError", 3000)
    assert event.text.count("\n") < 2100
    assert event.text.endswith("more lines not kept]")


def test_a_message_of_huge_lines_stays_bounded() -> None:
    huge = "y" * 300_000
    text = "Traceback (most recent call last):\nValueError: " + f"{huge}\n" * 20 + "after\n"
    events = parse_text(text)
    [event] = events
    assert event.complete and event.type == "ValueError"
    assert len(event.text) <= 1024 * 1024 + 100
    assert len(event.message) <= 1024 * 1024 + 300_000


def cut_syntax_error(tmp_path: Path) -> str:
    """A headerless SyntaxError cut off after its caret line."""
    whole = corpus.syntax_errors(tmp_path)[0]
    return whole[: whole.rindex("SyntaxError:")]


def corpus_text(tmp_path: Path) -> str:
    """Every format in one log, with plain records between them and a cut-off at the end."""
    for name in "abcdefghijk":
        (tmp_path / name).mkdir(exist_ok=True)
    parts = [
        "2025-07-29 14:35:00,000 INFO [api] started",
        "2025-07-29 14:35:00,001 INFO [api] the word Traceback (most recent call last): in prose",
        corpus.plain(tmp_path / "a"),
        corpus.chained(tmp_path / "b"),
        corpus.exception_group(tmp_path / "c"),
        "2025-07-29 14:35:01,000 INFO [api] between",
        *corpus.syntax_errors(tmp_path / "d"),
        cut_syntax_error(tmp_path / "d"),
        "2025-07-29 14:35:01,500 INFO [api] after a SyntaxError cut off",
        corpus.no_message(tmp_path / "e"),
        corpus.notes_then_record(tmp_path / "f"),
        corpus.recursion(tmp_path / "g"),
        corpus.thread(tmp_path / "h"),
        corpus.gunicorn(tmp_path / "i"),
        corpus.json_lines(tmp_path / "j"),
        corpus.carets_313("/srv/app.py"),
        corpus.colour_313("/srv/app.py"),
        interleave(corpus.plain(tmp_path / "k"), corpus.local_class(tmp_path / "k")),
        "x" * (MAX_LINE + 5) + " Traceback (most recent call last):",
        '  File "notes.txt", line 3',
        "2025-07-29 14:35:02,000 ERROR [api] cut off",
        'Traceback (most recent call last):\n  File "/srv/app.py", line 1, in <module>',
    ]
    return "\n".join(part.rstrip("\n") for part in parts) + "\n"


def summary(events: list[TracebackEvent]) -> list[tuple[object, ...]]:
    """Everything of an event but its arrival time."""
    return [
        (e.type, e.message, e.frames, e.chain, e.text, e.line_no, e.record, e.complete, e.uncertain)
        for e in events
    ]


def line_by_line(text: str) -> list[TracebackEvent]:
    """The reference: each line decoded as the byte paths decode it, fed one at a time."""
    return parse_lines(decode_line(raw) for raw in text.encode().split(b"\n")[:-1])


@pytest.fixture(scope="module")
def every_format(tmp_path_factory: pytest.TempPathFactory) -> str:
    return corpus_text(tmp_path_factory.mktemp("corpus"))


def test_the_corpus_holds_every_format(every_format: str) -> None:
    events = line_by_line(every_format)
    types = [e.type for e in events]
    assert len(events) == 19
    assert types.count("ZeroDivisionError") == 5
    assert {"KeyError", "RuntimeError", "SyntaxError", "TabError", "RecursionError"} <= set(types)
    assert [e.complete for e in events].count(False) == 2  # the SyntaxError and the end
    # The long line, cut, continues the message of the exception line just before it.
    assert events[-2].message.endswith(LONG_LINE_MARK)


def test_line_by_line_and_bulk_give_the_same_events(every_format: str, tmp_path: Path) -> None:
    from errwatch.core.logs.reader import TracebackReader

    expected = summary(line_by_line(every_format))
    data = every_format.encode()
    whole = TracebackReader()
    assert summary(whole.feed(data) + whole.finish()) == expected
    log = tmp_path / "all.log"
    log.write_bytes(data)
    for window, events in in_windows(log, TracebackReader):
        assert summary(events) == expected, window


def test_following_a_file_written_in_random_pieces_gives_the_same_events(
    every_format: str, tmp_path: Path
) -> None:
    from errwatch.core.logs.follow import FileTail
    from errwatch.core.logs.reader import TracebackReader

    expected = summary(line_by_line(every_format))
    data = every_format.encode()
    log = tmp_path / "live.log"
    log.write_bytes(b"")
    tail = FileTail(str(log))
    reader = TracebackReader()
    events: list[TracebackEvent] = []
    rng = random.Random(7)
    written = 0
    with log.open("ab") as writer:
        while written < len(data):
            size = rng.choice((1, 7, 80, 500, 4096, 100_000))
            writer.write(data[written : written + size])
            writer.flush()
            written += size
            for chunk in tail.poll():
                events.extend(reader.feed(chunk.data))
    events.extend(reader.finish())
    assert summary(events) == expected


def test_a_real_flask_log_with_werkzeug_colours(demo_api: DemoApi) -> None:
    from errwatch.core.logs.reader import TracebackReader

    with httpx.Client(base_url=demo_api.url, timeout=5) as client:
        client.get("/error", headers={"X-Errwatch-Injection": "run-9"})
        client.get("/nope")  # werkzeug colours a 404 access line
        client.get("/error")
    wait_until(lambda: demo_api.log_file.read_text().count("/error HTTP") == 2, 5, "the log")
    data = demo_api.log_file.read_bytes()
    assert b"\x1b[" in data
    reader = TracebackReader(str(demo_api.log_file))
    events = reader.feed(data) + reader.finish()
    assert [(e.type, e.message, e.complete) for e in events] == [
        ("ZeroDivisionError", "division by zero", True),
    ] * 2
    assert all("\x1b" not in e.text and "werkzeug" not in e.text for e in events)
    records = [e.record for e in events]
    assert [(r.method, r.route, r.injection) for r in records if r] == [
        ("GET", "/error", "run-9"),
        ("GET", "/error", None),
    ]
