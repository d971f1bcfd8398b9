"""Recurring tracebacks recognised from their bytes give the events of a line-by-line read.

The logs are a real app's output (the same failures again and again, ids, addresses
and durations changing), the dense log of the scan benchmark, and the same dense log
as docker compose prints it. Each is read line by line (the reference), in one piece,
in every window size of a scan, and in random pieces as live following reads it.
"""

from __future__ import annotations

from dataclasses import replace
from operator import attrgetter
from pathlib import Path

import pytest

from benchmarks.bench_scan import dense_traceback
from errwatch.core.logs.events import TracebackEvent
from errwatch.core.logs.lines import decode_line
from errwatch.core.logs.reader import TracebackReader
from errwatch.core.logs.tracebacks import parse_lines
from tests.core.logs import prefixes
from tests.core.logs.reading import in_pieces, in_windows
from tests.realpython import logged

RECURRING = """
import sys, threading, traceback

ORDERS = {}

def show(order_id):
    return ORDERS[order_id]

def connect(host):
    raise ConnectionError(f"connection to {host}:5432 refused")

def create(n):
    try:
        connect(f"10.0.3.{n % 250}")
    except ConnectionError as error:
        raise RuntimeError(f"order {n} not saved after {n % 7}.{n % 10}s") from error

def noted(n):
    error = ValueError(f"bad row {n}")
    error.add_note(f"while reading line {n * 3}")
    raise error

def flat(n):
    raise TimeoutError

for n in range(80):
    try:
        [show, create, noted, flat][n % 4](f"o-{n}" if n % 4 == 0 else n)
    except Exception:
        log.exception("request %d failed", n)
    log.info("served %d in %d ms", n, n * 7 % 300)
"""
"""The same four failures twenty times each: a KeyError with the id, a chain whose
messages change, a message with a note (read line by line: its exception line is not
all of its message), an exception without a message."""


def summary(events: list[TracebackEvent]) -> list[TracebackEvent]:
    """The events but for their arrival time."""
    return [replace(event, arrived=0.0) for event in events]


def line_by_line(data: bytes) -> list[TracebackEvent]:
    return parse_lines(decode_line(raw) for raw in data.split(b"\n")[:-1])


def every_path(data: bytes, tmp_path: Path, expected: list[TracebackEvent]) -> int:
    """Each way of reading ``data`` gives ``expected``; the repeats the whole read found."""
    whole = TracebackReader()
    assert summary(whole.feed(data) + whole.finish()) == expected
    for seed in range(3):
        assert summary(in_pieces(data, TracebackReader(), seed)) == expected, seed
    log = tmp_path / "repeats.log"
    log.write_bytes(data)
    for window, events in in_windows(log, TracebackReader):
        assert summary(events) == expected, window
    return whole.repeats.hits


def test_a_real_apps_recurring_failures(tmp_path: Path) -> None:
    data = logged(tmp_path, RECURRING).encode()
    events = line_by_line(data)
    assert len(events) == 80
    assert {e.type for e in events} == {"KeyError", "RuntimeError", "ValueError", "TimeoutError"}
    assert len({e.message for e in events if e.type == "RuntimeError"}) == 20
    assert all(e.record is not None and e.record.timestamp for e in events)
    hits = every_path(data, tmp_path, summary(events))
    # The KeyErrors, chains and bare TimeoutErrors after their first: the noted ValueErrors
    # are read line by line (their note continues the message).
    assert hits == 3 * 19


def dense_sample(count: int) -> bytes:
    """The scan benchmark's dense log in small: records, then each kind of traceback."""
    out = bytearray()
    for n in range(count):
        for line in range(40):
            out += b"2025-07-29 14:35:%02d,%03d INFO [api] GET /health %d 200\n" % (
                line % 60,
                n % 1000,
                n * 40 + line,
            )
        out += dense_traceback(n)[0]
    return bytes(out)


def test_the_dense_benchmark_log(tmp_path: Path) -> None:
    data = dense_sample(400)
    events = line_by_line(data)
    assert len(events) == 400 and all(e.complete for e in events)
    hits = every_path(data, tmp_path, summary(events))
    assert hits > 200


@pytest.mark.parametrize("kind", ["compose", "journald", "journald entries"])
def test_the_dense_log_prefixed(tmp_path: Path, kind: str) -> None:
    """One parser per stream, skipping in bulk: the same events on every path, and as
    the unprefixed log. Journal entries of several lines: a traceback goes on under its
    record's first line, across the ends of reads."""
    lines = dense_sample(150).decode().splitlines()
    if kind == "compose":
        framed = prefixes.interleave(
            prefixes.compose_v2("web-1")(lines), prefixes.compose_v2("worker-1")(["idle"] * 300)
        )
    elif kind == "journald":
        framed = prefixes.journald("short-iso")(lines)
    else:
        framed = prefixes.journald_entries(lines)
    data = ("\n".join(framed) + "\n").encode()

    reference = TracebackReader()
    expected = summary(reference.feed(data) + reference.finish())
    bare = line_by_line(("\n".join(lines) + "\n").encode())
    fields = attrgetter("type", "message", "frames", "chain", "text", "complete")
    assert list(map(fields, expected)) == list(map(fields, bare))
    every_path(data, tmp_path, expected)
