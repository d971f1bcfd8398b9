"""tail -F semantics on real files: appends, partial lines, rotation, truncation, deletion,
a directory or a FIFO at the path, permissions, globs matching rotated files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest

from errwatch.core.logs.follow import DRAIN_GRACE, Chunk, FileTail, FollowState, MultiTail
from errwatch.core.logs.lines import LONG_LINE_MARK, MAX_LINE, decode_line
from tests.privileges import obeying_file_modes

ROOT = Path(__file__).resolve().parents[3]


def lines(chunks: Sequence[Chunk]) -> list[str]:
    """The lines of some chunks, decoded as the parser receives them."""
    return [decode_line(raw) for chunk in chunks for raw in chunk.data.split(b"\n")[:-1]]


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


def test_new_lines_and_a_partial_line_held_until_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"one\ntwo\r\nthr")
    tail = FileTail(str(log))
    assert lines(tail.poll()) == ["one", "two"]
    assert lines(tail.poll()) == []
    append(log, b"ee\n")
    assert lines(tail.poll()) == ["three"]
    assert tail.status.state is FollowState.FOLLOWING


def test_missing_at_start_is_waiting_then_read_from_byte_zero(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    tail = FileTail(str(log), backfill=0)
    assert tail.poll() == []
    assert tail.status.state is FollowState.WAITING
    log.write_bytes(b"first\nsecond\n")
    assert lines(tail.poll()) == ["first", "second"]


def test_rename_rotation_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"a1\n")
    tail = FileTail(str(log))
    assert lines(tail.poll()) == ["a1"]
    writer = log.open("ab")
    os.rename(log, tmp_path / "app.log.1")
    writer.write(b"a2 written after the rename\n")  # a writer that has not reopened yet
    writer.flush()
    log.write_bytes(b"b1\n")
    chunks = tail.poll()
    assert lines(chunks) == ["a2 written after the rename", "b1"]
    # The two files are told apart, so each keeps its own parser.
    assert len({chunk.file for chunk in chunks}) == 2
    assert any(change.state is FollowState.ROTATED for change in tail.changes)
    writer.write(b"a3 still late\n")
    writer.close()
    append(log, b"b2\n")
    assert sorted(lines(tail.poll())) == ["a3 still late", "b2"]


def test_truncation_restarts_at_zero(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"long line number one\nlong line number two\n")
    tail = FileTail(str(log))
    assert len(lines(tail.poll())) == 2
    with log.open("r+b") as handle:  # copytruncate
        handle.truncate(0)
    append(log, b"new\n")
    assert lines(tail.poll()) == ["new"]
    assert any(change.state is FollowState.TRUNCATED for change in tail.changes)


def test_a_rewrite_to_the_same_size_is_seen_by_its_first_bytes(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"first version\n")
    tail = FileTail(str(log))
    assert lines(tail.poll()) == ["first version"]
    with log.open("r+b") as handle:  # truncated and rewritten before the next poll
        handle.truncate(0)
        handle.write(b"other content\n")
    os.utime(log, ns=(0, log.stat().st_mtime_ns + 1_000_000))
    assert lines(tail.poll()) == ["other content"]
    assert tail.changes[-2].state is FollowState.TRUNCATED


def test_deleted_then_back(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"x\n")
    tail = FileTail(str(log))
    assert lines(tail.poll()) == ["x"]
    log.unlink()
    assert tail.poll() == []
    assert tail.status.state is FollowState.MISSING
    log.write_bytes(b"y\n")
    assert lines(tail.poll()) == ["y"]
    assert tail.status.state is FollowState.FOLLOWING


def test_invalid_utf8_and_nul_runs_become_replacement_characters(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"ok \xff\xfe end\nnul\x00\x00\x00run\n")
    assert lines(FileTail(str(log)).poll()) == ["ok \ufffd\ufffd end", "nul\ufffdrun"]


def test_backfill_of_the_last_bytes_starts_at_a_full_line(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"".join(b"line %03d\n" % n for n in range(100)))
    assert lines(FileTail(str(log), backfill=25).poll()) == ["line 098", "line 099"]
    assert FileTail(str(log), backfill=0).poll() == []


def test_a_directory_at_the_path_is_a_clear_state_not_an_exception(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.mkdir()
    tail = FileTail(str(path))
    assert tail.poll() == []
    assert tail.status.state is FollowState.UNREADABLE
    assert tail.status.detail == "is a directory"
    path.rmdir()
    path.write_bytes(b"back\n")
    assert lines(tail.poll()) == ["back"]


def test_a_file_turned_into_a_directory_and_back(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"before\n")
    tail = FileTail(str(path))
    assert lines(tail.poll()) == ["before"]
    path.unlink()
    path.mkdir()
    assert tail.poll() == []
    assert (tail.status.state, tail.status.detail) == (FollowState.UNREADABLE, "is a directory")
    path.rmdir()
    path.write_bytes(b"after\n")
    assert lines(tail.poll()) == ["after"]
    assert tail.status.state is FollowState.FOLLOWING


def test_a_fifo_at_the_path_is_a_state_and_never_blocks(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    os.mkfifo(path)  # opening it for reading would block until a writer came
    tail = FileTail(str(path))
    assert tail.poll() == []
    assert tail.status.state is FollowState.UNREADABLE
    assert "FIFO" in tail.status.detail
    path.unlink()
    path.write_bytes(b"a regular file again\n")
    assert lines(tail.poll()) == ["a regular file again"]


UNREADABLE_SCENARIO = """
import json, os, sys
from errwatch.core.logs.follow import FileTail
from errwatch.core.logs.lines import decode_line

def lines(chunks):
    return [decode_line(r) for c in chunks for r in c.data.split(b"\\n")[:-1]]

log = sys.argv[1]
report = {}
with open(log, "wb") as f:
    f.write(b"secret\\n")
os.chmod(log, 0)
tail = FileTail(log)
report["at_start"] = [lines(tail.poll()), tail.status.state, tail.status.detail]
os.chmod(log, 0o644)
report["readable_again"] = [lines(tail.poll()), tail.status.state]
os.rename(log, log + ".1")
with open(log, "wb") as f:
    f.write(b"rotated in\\n")
os.chmod(log, 0)
report["rotated_to_unreadable"] = [lines(tail.poll()), tail.status.state]
os.chmod(log, 0o644)
report["recovered"] = [lines(tail.poll()), tail.status.state]
print(json.dumps(report))
"""


def test_an_unreadable_file_is_a_state_and_recovers(tmp_path: Path) -> None:
    # Root reads a chmod 000 file anyway; the scenario runs in a child without the
    # capability that lets it, so the permission check is the kernel's, for real.
    try:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(UNREADABLE_SCENARIO), str(tmp_path / "app.log")],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            preexec_fn=obeying_file_modes(),
        )
    except subprocess.SubprocessError as error:  # prctl refused (no CAP_SETPCAP here)
        pytest.skip(f"cannot drop root's file permission override here: {error}")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["at_start"] == [[], "unreadable", "Permission denied"]
    assert report["readable_again"] == [["secret"], "following"]
    assert report["rotated_to_unreadable"] == [[], "unreadable"]
    assert report["recovered"] == [["rotated in"], "following"]


def test_a_very_long_line_is_cut_and_marked_and_memory_stays_bounded(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"before\n")
    tail = FileTail(str(log))
    seen = lines(tail.poll())
    for _ in range(3):  # 3 MiB without a newline, in several writes
        append(log, b"x" * MAX_LINE)
        seen.extend(lines(tail.poll()))
        assert tail._current is not None and len(tail._current.lines.partial) <= MAX_LINE
        assert tail.status.state is FollowState.FOLLOWING
    append(log, b"end of the long line\nafter\n")
    seen.extend(lines(tail.poll()))
    assert seen == ["before", "x" * MAX_LINE + LONG_LINE_MARK, "after"]


def test_a_long_line_comes_out_cut_with_its_mark(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"y" * (MAX_LINE + 10) + b"\nnext\n")
    [long, following] = lines(FileTail(str(log)).poll())
    assert long == "y" * MAX_LINE + LONG_LINE_MARK
    assert following == "next"


def test_reads_are_bounded_and_report_their_progress(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"".join(b"line %06d\n" % n for n in range(100_000)))  # 1.2 MB
    tail = FileTail(str(log))
    seen: list[str] = []
    progress = []
    while True:
        seen.extend(lines(tail.poll(budget=200_000)))
        if tail.progress is None:
            break
        progress.append(tail.progress)
    assert seen == [f"line {n:06d}" for n in range(100_000)]
    assert len(progress) >= 5
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert all(p.total == log.stat().st_size for p in progress)


def test_a_glob_matching_the_rotated_file_reads_nothing_twice(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"a1\n")
    tail = MultiTail([(str(tmp_path / "app.log*"), None)])
    assert lines(tail.poll()) == ["a1"]
    writer = log.open("ab")
    os.rename(log, tmp_path / "app.log.1")
    writer.write(b"a2 after the rename\n")
    writer.flush()
    log.write_bytes(b"b1\n")
    assert sorted(lines(tail.poll())) == ["a2 after the rename", "b1"]
    writer.write(b"a3\n")
    writer.close()
    assert lines(tail.poll()) == ["a3"]
    assert lines(tail.poll()) == []
    # The rotated file is now read under its new name, from where the other tail was.
    assert sorted(tail.tails) == [str(log), str(tmp_path / "app.log.1")]


def test_numbered_rotation_under_a_glob_reads_everything_once(tmp_path: Path) -> None:
    # logrotate's scheme: app.log.1 -> app.log.2, app.log -> app.log.1, new app.log.
    log = tmp_path / "app.log"
    tail = MultiTail([(str(tmp_path / "app.log*"), None)])
    written: list[str] = []
    for generation in range(4):
        for n in range(3):
            line = f"gen {generation} line {n}"
            append(log, line.encode() + b"\n")
            written.append(line)
        seen = lines(tail.poll())
        assert seen == written[-3:]
        for older in sorted(tmp_path.glob("app.log.*"), reverse=True):
            os.rename(older, f"{tmp_path}/app.log.{int(older.suffix[1:]) + 1}")
        os.rename(log, tmp_path / "app.log.1")
    assert lines(tail.poll()) == []
    assert len(list(tmp_path.glob("app.log.*"))) == 4


def test_rotated_names_that_go_away_are_forgotten(tmp_path: Path) -> None:
    now = [0.0]
    tail = MultiTail([(str(tmp_path / "app-*.log"), None)], clock=lambda: now[0])
    for n in range(50):
        path = tmp_path / f"app-{n}.log"
        path.write_bytes(b"x\n")
        assert lines(tail.poll()) == ["x"]
        path.unlink()
        tail.poll()  # missing: the file is drained a little longer, then closed
        now[0] += DRAIN_GRACE + 0.1
        tail.poll()
        assert len(tail.take_closed()) == 1
        tail.take_changes()
    tail.poll()
    assert tail.tails == {}  # memory stays bounded however many names go by


def test_a_file_rotated_away_mid_backfill_is_finished_in_bounded_reads(tmp_path: Path) -> None:
    now = [0.0]
    log = tmp_path / "app.log"
    log.write_bytes(b"".join(b"old %06d\n" % n for n in range(50_000)))  # 550 kB
    tail = FileTail(str(log), clock=lambda: now[0])
    chunks = tail.poll(budget=64 * 1024)
    os.rename(log, tmp_path / "app.log.1")
    log.write_bytes(b"new 1\n")
    chunks.extend(tail.poll(budget=64 * 1024))  # the rotation is seen here
    now[0] += DRAIN_GRACE + 1  # the grace is over, yet the old file is not finished
    for _ in range(100):
        chunks.extend(tail.poll(budget=64 * 1024))
        if tail.closed:
            break
    assert max(len(chunk.data) for chunk in chunks) <= 64 * 1024 + 10
    by_file: dict[tuple[int, int], list[str]] = {}
    for chunk in chunks:
        by_file.setdefault(chunk.file, []).extend(lines([chunk]))
    old, new = by_file.values()
    assert old == [f"old {n:06d}" for n in range(50_000)]  # in order, once each
    assert new == ["new 1"]
    assert tail.closed == [chunks[0].file]  # closed once read to its end
