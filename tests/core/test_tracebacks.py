"""Traceback parsing on text produced by real Python code."""

from __future__ import annotations

from pathlib import Path

from errwatch.core.tracebacks import TracebackParser, parse_text, strip_ansi
from tests.realpython import logged, run_script


def test_plain_traceback(tmp_path: Path) -> None:
    text = run_script(
        tmp_path / "calc.py",
        """
        def ratio(a, b):
            return a / b

        def main():
            print(ratio(1, 0))

        main()
        """,
    )
    [event] = parse_text(text, "stderr")
    assert event.type == "ZeroDivisionError"
    assert event.message == "division by zero"
    assert event.complete
    assert [(f.function, f.line) for f in event.frames] == [
        ("<module>", 8),
        ("main", 6),
        ("ratio", 3),
    ]
    assert event.frames[-1].file == str(tmp_path / "calc.py")
    assert event.frames[-1].source == "return a / b"
    assert "~~^~~" in event.text  # the 3.11 caret line is kept in the text, not taken as source


def test_chained_exceptions_are_one_event_typed_by_the_last(tmp_path: Path) -> None:
    text = run_script(
        tmp_path / "chain.py",
        """
        import json

        def load(raw):
            try:
                return json.loads(raw)
            except ValueError as error:
                raise RuntimeError("bad config") from error

        def handle():
            try:
                load("{")
            except RuntimeError:
                {}["missing"]

        handle()
        """,
    )
    [event] = parse_text(text)
    assert event.type == "KeyError"
    assert event.message == "'missing'"
    assert [link.type for link in event.chain] == [
        "json.decoder.JSONDecodeError",
        "RuntimeError",
        "KeyError",
    ]
    assert [link.relation for link in event.chain] == ["cause", "context", ""]
    assert event.chain[1].message == "bad config"


def test_logging_exception_records_give_time_level_logger_and_route(tmp_path: Path) -> None:
    text = logged(
        tmp_path,
        """
        log.info("started")
        try:
            1 / 0
        except ZeroDivisionError:
            log.exception("Exception on /error [GET]")
        log.info("still serving")
        """,
    )
    [event] = parse_text(text)
    assert event.type == "ZeroDivisionError"
    assert event.record is not None
    assert event.record.level == "ERROR"
    assert event.record.logger == "shop.api"
    assert (event.record.method, event.record.route) == ("GET", "/error")
    assert event.record.timestamp is not None
    assert event.seen_at == event.record.timestamp


def test_a_multi_line_message_ends_at_the_next_record(tmp_path: Path) -> None:
    text = logged(
        tmp_path,
        """
        try:
            raise ValueError("first line\\nsecond line\\n  indented third")
        except ValueError:
            log.exception("failed")
        log.info("next record")
        """,
    )
    [event] = parse_text(text)
    assert event.message == "first line\nsecond line\n  indented third"


def test_a_traceback_cut_off_at_the_end_is_reported_incomplete() -> None:
    text = 'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\n    run()\n'
    [event] = parse_text(text)
    assert not event.complete
    assert event.frames[0].function == "<module>"


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


def test_ansi_colour_codes_are_removed() -> None:
    assert strip_ansi('\x1b[31m127.0.0.1 - - "GET / HTTP/1.1" \x1b[33m404\x1b[0m -') == (
        '127.0.0.1 - - "GET / HTTP/1.1" 404 -'
    )
    coloured = (
        "\x1b[1;35mTraceback (most recent call last):\x1b[0m\n"
        '  File \x1b[35m"app.py"\x1b[0m, line \x1b[35m1\x1b[0m, in \x1b[35m<module>\x1b[0m\n'
        "\x1b[1;35mZeroDivisionError\x1b[0m: \x1b[35mdivision by zero\x1b[0m\n"
    )
    [event] = parse_text(coloured)
    assert (event.type, event.message, event.frames[0].file) == (
        "ZeroDivisionError",
        "division by zero",
        "app.py",
    )


def test_incremental_and_bulk_paths_give_the_same_events(tmp_path: Path) -> None:
    text = logged(
        tmp_path,
        """
        for n in range(3):
            try:
                [1, 2][n + 5]
            except IndexError:
                log.exception("lookup %d failed", n)
            log.info("request done")
        try:
            int("x")
        except ValueError:
            log.exception("parse failed")
        """,
    )
    bulk = parse_text(text, "app.log")
    parser = TracebackParser("app.log")
    live = []
    for line in text.splitlines():
        live.extend(parser.feed(line))
        live.extend(parser.idle())
    live.extend(parser.finish())
    assert len(bulk) == 4
    assert [(e.type, e.message, e.line_no, e.frames) for e in live] == [
        (e.type, e.message, e.line_no, e.frames) for e in bulk
    ]
