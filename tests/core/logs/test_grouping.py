"""Sentry-like grouping: stable across line numbers and ids, split by in-app function."""

from __future__ import annotations

from pathlib import Path

from errwatch.core.logs.grouping import (
    GroupStore,
    fingerprint,
    fingerprint_parts,
    normalise_message,
)
from errwatch.core.logs.tracebacks import parse_text
from tests.realpython import run_script

HANDLER = """
import sys
sys.path.insert(0, {lib!r})
import vendorlib
{padding}
def find_user(user_id):
    users = {{1: "ada"}}
    return users[user_id]

def get_order(order_id):
    orders = {{}}
    return orders[order_id]


request_id = int(open("request_id.txt").read())
vendorlib.call({func}, request_id)
"""

VENDOR = """
def call(function, argument):
    return function(argument)
"""


def make(tmp_path: Path, func: str, arg: str, padding: int = 0) -> str:
    """A real traceback through a site-packages frame; the id comes from outside the code."""
    lib = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    lib.mkdir(parents=True, exist_ok=True)
    (lib / "vendorlib.py").write_text(VENDOR)
    (tmp_path / "request_id.txt").write_text(arg)
    code = HANDLER.format(lib=str(lib), func=func, padding="\n" * padding)
    return run_script(tmp_path / "service.py", code)


def test_same_error_at_another_line_or_with_another_id_is_one_group(tmp_path: Path) -> None:
    store = GroupStore()
    events = [
        parse_text(make(tmp_path, "find_user", "7"))[0],
        parse_text(make(tmp_path, "find_user", "42", padding=5))[0],
    ]
    assert events[0].frames[-1].line != events[1].frames[-1].line
    assert (events[0].message, events[1].message) == ("7", "42")
    for event in events:
        store.add(event)
    [group] = store.groups()
    assert group.count == 2
    assert group.type == "KeyError"
    assert group.location is not None
    assert group.location.function == "find_user"
    assert group.location.line == events[1].frames[-1].line  # the newest sample's


def test_another_in_app_function_makes_another_group(tmp_path: Path) -> None:
    store = GroupStore()
    for func in ("find_user", "get_order"):
        [event] = parse_text(make(tmp_path, func, "7"))
        store.add(event)
    assert sorted(g.location.function for g in store.groups() if g.location) == [
        "find_user",
        "get_order",
    ]


def test_library_frames_are_left_out_when_in_app_frames_exist(tmp_path: Path) -> None:
    [event] = parse_text(make(tmp_path, "find_user", "7"))
    parts = fingerprint_parts(event)
    assert parts[0] == "type: KeyError"
    assert all("| call |" not in part for part in parts)
    assert "frame: service.py | find_user | return users[user_id]" in parts
    assert any("site-packages" in frame.file for frame in event.frames)


def test_without_frames_the_message_is_normalised() -> None:
    assert (
        normalise_message(
            "user 42 at 10.0.0.7:8080 not found in '/srv/data' "
            "(id 1b4e28ba-2fa1-11d2-883f-0016d3cca427, addr 0x7f3a2c)"
        )
        == "user <int> at <ip> not found in <quoted> (id <uuid>, addr <hex>)"
    )
    first = parse_text(
        "Traceback (most recent call last):\nTimeoutError: peer 10.0.0.1 after 30s\n"
    )
    second = parse_text(
        "Traceback (most recent call last):\nTimeoutError: peer 10.0.0.2 after 31s\n"
    )
    assert fingerprint(fingerprint_parts(first[0])) == fingerprint(fingerprint_parts(second[0]))


def test_groups_keep_first_and_last_seen_and_a_sample() -> None:
    store = GroupStore(injection_route="/error")
    template = (
        "2025-07-29 14:{minute}:02,000 ERROR [api] Exception on /error [GET]\n"
        "Traceback (most recent call last):\n"
        '  File "/srv/app.py", line {line}, in error\n'
        "    ratio = 1 / 0\n"
        "ZeroDivisionError: division by zero\n"
    )
    for minute, line in (("35", 10), ("37", 12), ("36", 11)):
        [event] = parse_text(template.format(minute=minute, line=line))
        store.add(event)
    [group] = store.groups()
    assert group.count == 3
    assert group.first_seen < group.last_seen
    assert group.last_seen - group.first_seen == 120
    assert group.minutes == (1, 1, 1)
    assert group.injected == 3
    assert "ZeroDivisionError" in group.sample.text


def test_init_modules_keep_their_package_name(tmp_path: Path) -> None:
    for package in ("billing", "shipping"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("def run():\n    return {}['k']\n")
    store = GroupStore()
    for package in ("billing", "shipping"):
        text = run_script(tmp_path / f"main_{package}.py", f"import {package}\n{package}.run()\n")
        [event] = parse_text(text)
        store.add(event)
    assert len(store) == 2
    parts = sorted(part for g in store.groups() for part in g.parts if "__init__" in part)
    assert parts == [
        "frame: billing/__init__.py | run | return {}['k']",
        "frame: shipping/__init__.py | run | return {}['k']",
    ]


TASKS = """
import asyncio

async def call(n):
    await asyncio.sleep(0)
    raise {error}(f"backend {{n}}")

async def main():
    async with asyncio.TaskGroup() as group:
        group.create_task(call(1))

asyncio.run(main())
"""


def test_exception_groups_are_told_apart_by_their_members(tmp_path: Path) -> None:
    store = GroupStore()
    for error in ("ConnectionError", "TimeoutError", "ConnectionError"):
        [event] = parse_text(run_script(tmp_path / "tasks.py", TASKS.format(error=error)))
        store.add(event)
    groups = {g.parts[1]: g.count for g in store.groups()}
    assert groups == {"members: ConnectionError": 2, "members: TimeoutError": 1}


def test_interleaved_events_are_grouped_by_type_and_message() -> None:
    text = (
        "Traceback (most recent call last):\n"
        "Traceback (most recent call last):\n"
        '  File "/srv/a.py", line 1, in f\n'
        '  File "/srv/b.py", line 2, in g\n'
        "ValueError: order 17 invalid\n"
        "KeyError: 'user'\n"
    )
    events = parse_text(text)
    assert [(e.type, e.uncertain) for e in events] == [("ValueError", True), ("KeyError", True)]
    parts = fingerprint_parts(events[0])
    assert parts == (
        "type: ValueError",
        "message: order <int> invalid (interleaved lines: frames not used)",
    )


def test_injected_and_application_occurrences_are_counted_apart() -> None:
    store = GroupStore(injection_route="/error")
    template = (
        "2025-07-29 14:35:02,000 ERROR [api] Exception on {route} [GET]{header}\n"
        "Traceback (most recent call last):\n"
        '  File "/srv/app.py", line 10, in view\n'
        "    ratio = 1 / 0\n"
        "ZeroDivisionError: division by zero\n"
    )
    for route, header in (
        ("/error", ""),  # the injection route
        ("/api/users", " (X-Errwatch-Injection: run-3)"),  # the injection header
        ("/api/users", ""),  # the application's own
    ):
        [event] = parse_text(template.format(route=route, header=header))
        store.add(event)
    [group] = store.groups()
    assert (group.count, group.injected, group.application) == (3, 2, 1)


def test_the_sparkline_counts_per_minute_and_seen_falls_back_to_arrival() -> None:
    store = GroupStore()
    template = (
        "2025-07-29 14:{minute}:02,000 ERROR [api] failed\n"
        "Traceback (most recent call last):\n"
        '  File "/srv/app.py", line 10, in view\n'
        "    ratio = 1 / 0\n"
        "ZeroDivisionError: division by zero\n"
    )
    for minute in ("35", "35", "38"):
        store.add(parse_text(template.format(minute=minute))[0])
    [group] = store.groups()
    assert group.minutes == (2, 0, 0, 1)
    [bare] = parse_text(template.split("\n", 1)[1])
    assert bare.record is None and bare.seen_at == bare.arrived


def _distinct(function: str) -> str:
    return (
        "Traceback (most recent call last):\n"
        f'  File "/srv/app.py", line 10, in {function}\n'
        "    ratio = 1 / 0\n"
        "ZeroDivisionError: division by zero\n"
    )


def test_past_the_cap_the_group_longest_without_an_event_is_dropped() -> None:
    store = GroupStore(max_groups=3)
    for function in ("a", "b", "c", "a"):  # "a" is seen again: "b" is now the oldest
        store.add(parse_text(_distinct(function))[0])
    group, is_new = store.add(parse_text(_distinct("d"))[0])
    assert is_new and group.count == 1
    kept = {g.location.function: g.count for g in store.groups() if g.location}
    assert kept == {"a": 2, "c": 1, "d": 1}
    assert (len(store), store.dropped, store.events) == (3, 1, 5)
    assert "b" not in {g.location.function for g in store.groups() if g.location}
    store.add(parse_text(_distinct("b"))[0])  # comes back as a new group
    assert store.dropped == 2 and len(store) == 3


def test_each_group_counts_where_it_occurred_within_a_bound() -> None:
    from errwatch.core.logs.grouping import MAX_SOURCES, OTHERS, count_source

    sources: tuple[tuple[str, int], ...] = ()
    for n in range(MAX_SOURCES + 10):
        sources = count_source(sources, f"host-{n}")
    sources = count_source(sources, "host-0")
    assert len(sources) == MAX_SOURCES + 1  # the names kept, and the others together
    assert dict(sources)["host-0"] == 2
    assert dict(sources)[OTHERS] == 10
    assert count_source(sources, "") == sources  # a nameless place is not kept
