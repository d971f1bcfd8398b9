"""The monitor on real files with its real watcher thread: appends, renames, truncations."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from errwatch.config import LogConfig
from errwatch.core.logs.follow import FollowState
from errwatch.core.logs.logwatch import SAFETY_INTERVAL, TracebackMonitor
from tests.conftest import wait_until
from tests.core.logs import corpus
from tests.core.logs.following import Following, start


def record(n: int, traceback: str) -> bytes:
    """One logging record with a traceback, as one write (what logging does)."""
    head = f"2025-07-29 14:35:{n % 60:02d},000 ERROR [api] Exception on /orders/{n} [GET]\n"
    return (head + traceback).encode()


@pytest.fixture(scope="module")
def traceback_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    return corpus.plain(tmp_path_factory.mktemp("tb"))


def test_n_tracebacks_across_rotations_and_truncations_are_counted_exactly(
    tmp_path: Path, follow: list[Following], traceback_text: str
) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    following = start(follow, TracebackMonitor([LogConfig(path=str(log))]))
    n = 0

    def write(handle: object, count: int) -> None:
        nonlocal n
        for _ in range(count):
            n += 1
            handle.write(record(n, traceback_text))  # type: ignore[attr-defined]
            handle.flush()  # type: ignore[attr-defined]

    def settled() -> None:
        wait_until(lambda: following.events() == n, 10, f"{n} tracebacks counted")

    writer = log.open("ab")
    write(writer, 10)
    settled()
    os.rename(log, tmp_path / "app.log.1")  # rename rotation...
    write(writer, 5)  # ...while the writer still appends to the old file
    writer.close()
    writer = log.open("ab")
    write(writer, 10)
    settled()
    writer.truncate(0)  # copytruncate (once everything is read: it loses the rest by design)
    writer.seek(0)
    write(writer, 7)
    settled()
    writer.close()
    log.unlink()  # deleted, then back
    wait_until(lambda: following.last.files[0].state is FollowState.MISSING, 5, "missing")
    with log.open("ab") as again:
        write(again, 8)
    settled()
    time.sleep(SAFETY_INTERVAL * 2)  # a quiet window: nothing more may arrive
    assert following.events() == n == 40
    assert following.last.incomplete == 0
    [group] = following.last.groups
    assert group.count == 40
    states = [change.state for update in following.updates for change in update.changes]
    for state in (FollowState.ROTATED, FollowState.TRUNCATED, FollowState.MISSING):
        assert state in states


def test_numbered_rotation_under_a_glob_counts_every_traceback_once(
    tmp_path: Path, follow: list[Following], traceback_text: str
) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    following = start(follow, TracebackMonitor([LogConfig(path=str(tmp_path / "app.log*"))]))
    n = 0
    for _ in range(3):
        with log.open("ab") as writer:
            for _ in range(4):
                n += 1
                writer.write(record(n, traceback_text))
                writer.flush()
        wait_until(lambda n=n: following.events() == n, 10, f"{n} tracebacks")  # type: ignore[misc]
        for older in sorted(tmp_path.glob("app.log.*"), reverse=True):
            os.rename(older, f"{tmp_path}/app.log.{int(older.suffix[1:]) + 1}")
        os.rename(log, tmp_path / "app.log.1")
        log.write_bytes(b"")
    time.sleep(SAFETY_INTERVAL * 2)
    assert following.events() == n == 12


def test_a_log_whose_directory_does_not_exist_yet(
    tmp_path: Path, follow: list[Following], traceback_text: str
) -> None:
    log = tmp_path / "later" / "deeper" / "app.log"
    following = start(follow, TracebackMonitor([LogConfig(path=str(log))]))
    assert following.last.files[0].state is FollowState.WAITING
    log.parent.mkdir(parents=True)
    log.write_bytes(record(1, traceback_text))
    wait_until(lambda: following.events() == 1, 5, "the traceback in the new directory")
    assert following.last.files[0].state is FollowState.FOLLOWING


def test_the_stat_safety_net_reads_what_the_directory_watch_misses(
    tmp_path: Path, follow: list[Following], traceback_text: str
) -> None:
    # A write through a hard link in another directory changes the file, but inotify
    # reports it to that other directory only: only the periodic stat finds it.
    logs, elsewhere = tmp_path / "logs", tmp_path / "elsewhere"
    logs.mkdir()
    elsewhere.mkdir()
    log = logs / "app.log"
    log.write_bytes(b"")
    os.link(log, elsewhere / "same-file.log")
    following = start(follow, TracebackMonitor([LogConfig(path=str(log))]))
    with (elsewhere / "same-file.log").open("ab") as writer:
        writer.write(record(1, traceback_text))
    wait_until(lambda: following.events() == 1, SAFETY_INTERVAL * 6, "the safety stat")


def test_a_chain_written_in_two_parts_is_one_event(tmp_path: Path, follow: list[Following]) -> None:
    text = corpus.chained(tmp_path)
    first, rest = text.split("\nDuring handling", 1)
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    # A writer printing line by line may pause between the parts of a chain: the block
    # stays open for the settle time after its exception line.
    following = start(follow, TracebackMonitor([LogConfig(path=str(log))], settle=1.0))
    with log.open("ab") as writer:
        writer.write(first.encode() + b"\n")
        writer.flush()
        time.sleep(0.2)
        writer.write(b"During handling" + rest.encode())
    wait_until(lambda: following.events() == 1, 5, "the chained traceback")
    time.sleep(1.2)
    assert following.events() == 1
    [event] = [e for u in following.updates for e in u.new_events]
    assert [link.type for link in event.chain] == [
        "json.decoder.JSONDecodeError",
        "RuntimeError",
        "KeyError",
    ]


def test_a_traceback_left_open_is_reported_incomplete_after_the_timeout(
    tmp_path: Path, follow: list[Following], traceback_text: str
) -> None:
    log = tmp_path / "app.log"
    cut = traceback_text.split("ZeroDivisionError", maxsplit=1)[0]
    log.write_bytes(b"")
    following = start(follow, TracebackMonitor([LogConfig(path=str(log))], incomplete_timeout=0.3))
    with log.open("ab") as writer:
        writer.write(cut.encode())
    wait_until(lambda: following.updates[-1].incomplete == 1, 5, "the incomplete traceback")
    [event] = [e for u in following.updates for e in u.new_events]
    assert not event.complete
    assert event.frames[-1].function == "ratio"


def test_a_big_backfill_is_read_in_steps_with_progress(
    tmp_path: Path, follow: list[Following], traceback_text: str
) -> None:
    log = tmp_path / "app.log"
    filler = b"2025-07-29 14:35:00,000 INFO [api] GET /api/users 200\n" * 2000
    with log.open("wb") as writer:
        for n in range(200):
            writer.write(filler)
            writer.write(record(n, traceback_text))
    size = log.stat().st_size
    following = start(follow, TracebackMonitor([LogConfig(path=str(log))], budget=512 * 1024))
    wait_until(lambda: following.events() == 200, 30, "the whole backfill")
    steps = [u.progress for u in following.updates if u.progress is not None]
    assert len(steps) >= size // (512 * 1024) - 1
    assert [p.done for p in steps] == sorted(p.done for p in steps)
    assert steps[0].total == size
    assert following.last.progress is None
    counted = [u.events for u in following.updates]
    assert counted == sorted(counted) and counted[0] < 200  # groups grew while reading


def test_a_flood_is_coalesced_and_nothing_is_lost(
    tmp_path: Path, follow: list[Following], traceback_text: str
) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    following = start(follow, TracebackMonitor([LogConfig(path=str(log))]), min_interval=0.25)
    began = time.monotonic()
    with log.open("ab") as writer:
        for n in range(2000):
            writer.write(
                record(n, traceback_text if n % 2 else traceback_text.replace("ratio", "rate"))
            )
            writer.flush()
    wait_until(lambda: following.events() == 2000, 20, "every traceback of the flood")
    elapsed = time.monotonic() - began
    assert len(following.updates) <= elapsed / 0.25 + 3
    fresh = [g.fingerprint for u in following.updates for g in u.new_groups]
    assert sorted(fresh) == sorted(g.fingerprint for g in following.last.groups)
    assert len(fresh) == 2
    assert sum(len(u.new_events) for u in following.updates) == 2000
