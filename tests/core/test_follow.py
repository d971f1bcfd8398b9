"""tail -F semantics on real files: appends, partial lines, rotation, truncation, deletion."""

from __future__ import annotations

import os
from pathlib import Path

from errwatch.core.follow import FileTail, FollowState


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


def test_new_lines_and_a_partial_line_held_until_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"one\ntwo\r\nthr")
    tail = FileTail(str(log))
    assert tail.poll() == ["one", "two"]
    append(log, b"ee\n")
    assert tail.poll() == ["three"]
    assert tail.status.state is FollowState.FOLLOWING


def test_missing_at_start_is_waiting_then_read_from_byte_zero(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    tail = FileTail(str(log), backfill=0)
    assert tail.poll() == []
    assert tail.status.state is FollowState.WAITING
    log.write_bytes(b"first\nsecond\n")
    assert tail.poll() == ["first", "second"]


def test_rename_rotation_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"a1\n")
    tail = FileTail(str(log))
    assert tail.poll() == ["a1"]
    writer = log.open("ab")
    os.rename(log, tmp_path / "app.log.1")
    writer.write(b"a2 written after the rename\n")  # a writer that has not reopened yet
    writer.flush()
    log.write_bytes(b"b1\n")
    assert tail.poll() == ["a2 written after the rename", "b1"]
    assert any(change.state is FollowState.ROTATED for change in tail.changes)
    writer.write(b"a3 still late\n")
    writer.close()
    append(log, b"b2\n")
    assert sorted(tail.poll()) == ["a3 still late", "b2"]


def test_truncation_restarts_at_zero(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"long line number one\nlong line number two\n")
    tail = FileTail(str(log))
    assert len(tail.poll()) == 2
    with log.open("r+b") as handle:  # copytruncate
        handle.truncate(0)
    append(log, b"new\n")
    assert tail.poll() == ["new"]
    assert any(change.state is FollowState.TRUNCATED for change in tail.changes)


def test_deleted_then_back(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"x\n")
    tail = FileTail(str(log))
    assert tail.poll() == ["x"]
    log.unlink()
    assert tail.poll() == []
    assert tail.status.state is FollowState.MISSING
    log.write_bytes(b"y\n")
    assert tail.poll() == ["y"]
    assert tail.status.state is FollowState.FOLLOWING


def test_invalid_utf8_and_nul_runs_become_replacement_characters(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"ok \xff\xfe end\nnul\x00\x00\x00run\n")
    assert FileTail(str(log)).poll() == ["ok \ufffd\ufffd end", "nul\ufffdrun"]


def test_backfill_of_the_last_bytes_starts_at_a_full_line(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"".join(b"line %03d\n" % n for n in range(100)))
    assert FileTail(str(log), backfill=25).poll() == ["line 098", "line 099"]
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
    assert tail.poll() == ["back"]
