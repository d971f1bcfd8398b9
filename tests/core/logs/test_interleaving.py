"""Tracebacks of several processes printed line by line to one stream at once.

Real worker processes (tests/realpython.py) fail together and write their tracebacks
one line at a time to the same file; then the real output of each worker alone is
merged line by line in many seeded orders, the worst cases included. Every final
exception is counted, and an event is uncertain exactly when its lines were mixed
with another writer's.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from errwatch.core.logs.events import TracebackEvent
from errwatch.core.logs.reader import TracebackReader
from errwatch.core.logs.tracebacks import parse_text
from tests.core.logs.reading import in_windows
from tests.realpython import WORKER_TYPES, workers_at_once

MARKS = {
    "zero": ("in zero", "ZeroDivisionError", "[zero]"),
    "lookup": ("in lookup", "KeyError: 'job-", "[lookup]"),
    "parse": ("in parse", "ValueError", "[parse]"),
    "chained": ("in chained", "in missing", "KeyError: 'cfg-", "RuntimeError", "[chained]"),
}
"""Lines only one worker prints: its frames, its exception lines, its records."""


def writers(event: TracebackEvent) -> set[str]:
    """The workers whose lines are in an event's text."""
    return {name for name, marks in MARKS.items() if any(mark in event.text for mark in marks)}


def check(events: list[TracebackEvent], names: list[str], each: int = 5) -> None:
    """Every traceback counted, complete, uncertain when mixed; types exact unless a
    chain was mixed with others (which of its exceptions was the cause is a guess)."""
    assert len(events) == each * len(names)
    assert all(event.complete for event in events), Counter(e.type for e in events)
    for event in events:
        assert event.uncertain == (len(writers(event)) > 1), (event.type, writers(event))
    types = Counter(event.type for event in events)
    if "chained" not in names:
        assert types == Counter(WORKER_TYPES[name] for name in names for _ in range(each))


@pytest.mark.parametrize("logged", [False, True], ids=["print_exc", "logging"])
def test_twenty_tracebacks_of_four_workers_at_once_are_all_counted(
    tmp_path: Path, logged: bool
) -> None:
    names = ["zero", "lookup", "parse", "chained"]
    events = parse_text(workers_at_once(tmp_path / "workers.log", names, logged=logged))
    check(events, names)
    assert sum(event.uncertain for event in events) > 0  # they did write at once


def test_four_workers_without_chains_keep_their_types(tmp_path: Path) -> None:
    names = ["zero", "lookup", "parse", "zero"]
    text = workers_at_once(tmp_path / "workers.log", names, logged=True, seed=3)
    check(parse_text(text), names)


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, bool], list[str]]:
    """Each worker's real output when it runs alone, as a list of lines."""
    outputs = {}
    for logged in (False, True):
        for name in WORKER_TYPES:
            log = tmp_path_factory.mktemp(name) / "alone.log"
            outputs[name, logged] = workers_at_once(log, [name], logged=logged).splitlines()
    return outputs


def merged(outputs: list[list[str]], rng: random.Random) -> str:
    """Lines of several writers, each in its own order, in a random merge."""
    pending = [list(lines) for lines in outputs]
    out = []
    while any(pending):
        writer = rng.choice([lines for lines in pending if lines])
        out.append(writer.pop(0))
    return "\n".join(out) + "\n"


@pytest.mark.parametrize(
    "names",
    [["zero", "lookup", "parse"], ["zero", "lookup", "parse", "chained"]],
    ids=["plain", "with-a-chain"],
)
def test_every_merge_of_real_outputs_counts_every_final_exception(
    alone: dict[tuple[str, bool], list[str]], names: list[str]
) -> None:
    for seed in range(200):
        rng = random.Random(seed)
        logged = seed % 2 == 1
        text = merged([alone[name, logged] for name in names], rng)
        check(parse_text(text), names)


def test_bulk_reading_gives_the_events_of_line_by_line(tmp_path: Path) -> None:
    names = ["zero", "lookup", "parse", "chained"]
    log = tmp_path / "workers.log"
    text = workers_at_once(log, names, logged=True, seed=7)
    expected = [(e.type, e.message, e.text, e.uncertain) for e in parse_text(text)]
    for _, events in in_windows(log, lambda: TracebackReader(count_lines=False)):
        assert [(e.type, e.message, e.text, e.uncertain) for e in events] == expected
