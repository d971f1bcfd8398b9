"""``tail -F`` over files and globs.

:class:`FileTail` follows one path by polling ``stat``: it survives the file missing at
start, rename rotation (it finishes the old file, including lines appended after the
rename, then switches), truncation and deletion. :func:`watch_lines` drives many tails
from watchfiles events on the parent directories (a single-file watch goes deaf after a
rotation), with a periodic wake-up as a safety net.
"""

from __future__ import annotations

import glob
import os
import re
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from errwatch.core.units import parse_size

MAX_LINE = 1024 * 1024
"""Longer lines are cut here and marked, so memory stays bounded."""
CHUNK = 1024 * 1024
DRAIN_GRACE = 2.0
"""Seconds a rotated-away file is still read, for writers that have not reopened yet."""
HEAD_BYTES = 64
"""First bytes remembered per file: other first bytes at the same size mean a rewrite."""
LONG_LINE_MARK = " [errwatch: line cut at 1 MiB]"
_NUL_RUN = re.compile("\x00+")


class FollowState(StrEnum):
    """What following one path looks like right now."""

    WAITING = "waiting"
    FOLLOWING = "following"
    ROTATED = "rotated"
    TRUNCATED = "truncated"
    MISSING = "missing"
    UNREADABLE = "unreadable"


@dataclass(frozen=True, slots=True)
class FileStatus:
    """State of one followed path, with a plain detail."""

    path: str
    state: FollowState
    detail: str = ""
    offset: int = 0


def backfill_bytes(backfill: str) -> int | None:
    """ "all" -> None (read everything), "none" -> 0, "10MB" -> that many bytes."""
    if backfill == "all":
        return None
    if backfill == "none":
        return 0
    return parse_size(backfill)


class _Open:
    """An open file descriptor being read, with its own partial line."""

    def __init__(self, fd: int, identity: tuple[int, int], offset: int) -> None:
        self.fd = fd
        self.identity = identity
        self.offset = offset
        self.partial = b""
        self.skipping = False  # inside an over-long line, dropping until its newline
        self.head = b""  # first bytes, to notice a rewrite to the same size
        self.mtime_ns = 0
        self.deadline = 0.0

    def close(self) -> None:
        os.close(self.fd)


def _decode(raw: bytes) -> str:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    text = raw.decode("utf-8", "replace")
    return _NUL_RUN.sub("\ufffd", text) if "\x00" in text else text


class FileTail:
    """Follows one path; :meth:`poll` returns the complete new lines."""

    def __init__(
        self,
        path: str,
        *,
        backfill: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._backfill = backfill
        self._clock = clock
        self._current: _Open | None = None
        self._draining: list[_Open] = []
        self._seen_once = False
        self._polled = False
        self.status = FileStatus(path, FollowState.WAITING, "not there yet")
        self.changes: list[FileStatus] = []
        self.bytes_read = 0

    def _set(self, state: FollowState, detail: str = "") -> None:
        offset = self._current.offset if self._current else 0
        status = FileStatus(self.path, state, detail, offset)
        if (status.state, status.detail) != (self.status.state, self.status.detail):
            self.changes.append(status)
        self.status = status

    def poll(self) -> list[str]:
        """Read everything new; state changes accumulate in :attr:`changes`."""
        try:
            return self._poll()
        finally:
            self._polled = True

    def _poll(self) -> list[str]:
        lines: list[str] = []
        for old in list(self._draining):
            self._read(old, lines)
            if self._clock() >= old.deadline:
                self._flush_partial(old, lines)
                old.close()
                self._draining.remove(old)
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            self._lost(lines, FollowState.MISSING if self._seen_once else FollowState.WAITING)
            return lines
        except OSError as error:
            self._lost(lines, FollowState.UNREADABLE, error.strerror or str(error))
            return lines
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            self._lost(lines, FollowState.UNREADABLE, f"is {kind}")
            return lines
        identity = (info.st_dev, info.st_ino)
        current = self._current
        if current is not None and current.identity != identity:
            # Rename rotation: finish the old file, keep reading it a little longer.
            self._read(current, lines)
            current.deadline = self._clock() + DRAIN_GRACE
            self._draining.append(current)
            self._current = None
            self._set(FollowState.ROTATED, "new file at the path")
        if self._current is None and not self._open(info, identity):
            return lines
        current = self._current
        assert current is not None
        if info.st_size < current.offset or self._rewritten(current, info):
            current.offset = 0
            current.partial = b""
            current.skipping = False
            current.head = b""
            self._set(FollowState.TRUNCATED, "truncated: reading from the start")
        current.mtime_ns = info.st_mtime_ns
        self._read(current, lines)
        if self.status.state is not FollowState.FOLLOWING:
            self._set(FollowState.FOLLOWING)
        return lines

    def _open(self, info: os.stat_result, identity: tuple[int, int]) -> bool:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as error:
            self._set(FollowState.UNREADABLE, error.strerror or str(error))
            return False
        offset = 0
        # Backfill limits what existed at start; a file that appears later is read whole.
        if not self._polled and self._backfill is not None:
            offset = max(0, info.st_size - self._backfill)
        opened = _Open(fd, identity, offset)
        # Starting mid-file: skip to the next full line.
        opened.skipping = offset > 0 and os.pread(fd, 1, offset - 1) != b"\n"
        opened.mtime_ns = info.st_mtime_ns
        self._current = opened
        self._seen_once = True
        return True

    def _rewritten(self, current: _Open, info: os.stat_result) -> bool:
        """Same size or larger but other first bytes: copytruncate followed by a rewrite."""
        if info.st_mtime_ns == current.mtime_ns or not current.head:
            return False
        try:
            head = os.pread(current.fd, len(current.head), 0)
        except OSError:
            return False
        return head != current.head

    def _lost(self, lines: list[str], state: FollowState, detail: str = "") -> None:
        current = self._current
        if current is not None:
            # Deleted or renamed away: whatever a writer still appends is read while draining.
            self._read(current, lines)
            current.deadline = self._clock() + DRAIN_GRACE
            self._draining.append(current)
            self._current = None
        self._set(state, detail)

    def _read(self, opened: _Open, lines: list[str]) -> None:
        while True:
            try:
                chunk = os.pread(opened.fd, CHUNK, opened.offset)
            except OSError:
                return
            if not chunk:
                return
            if opened.offset == len(opened.head) < HEAD_BYTES:
                opened.head = (opened.head + chunk)[:HEAD_BYTES]
            opened.offset += len(chunk)
            self.bytes_read += len(chunk)
            self._split(opened, chunk, lines)

    def _split(self, opened: _Open, chunk: bytes, lines: list[str]) -> None:
        data = opened.partial + chunk if opened.partial else chunk
        start = 0
        if opened.skipping:
            newline = data.find(b"\n")
            if newline < 0:
                opened.partial = b""
                return
            opened.skipping = False
            start = newline + 1
        end = data.rfind(b"\n")
        if end >= start:
            lines.extend(_decode(raw) for raw in data[start:end].split(b"\n"))
            start = end + 1
        rest = data[start:]
        if len(rest) > MAX_LINE:
            lines.append(_decode(rest[:MAX_LINE]) + LONG_LINE_MARK)
            rest = b""
            opened.skipping = True
        opened.partial = rest

    def _flush_partial(self, opened: _Open, lines: list[str]) -> None:
        if opened.partial:
            lines.append(_decode(opened.partial))
            opened.partial = b""

    def close(self) -> None:
        """Close every descriptor."""
        for opened in [*self._draining, *([self._current] if self._current else [])]:
            opened.close()
        self._draining.clear()
        self._current = None


@dataclass(frozen=True, slots=True)
class LinesBatch:
    """New lines from one file."""

    path: str
    lines: tuple[str, ...]


class MultiTail:
    """Many paths and globs; new files matching a glob are followed from their start."""

    def __init__(self, patterns: Sequence[tuple[str, int | None]]) -> None:
        self.patterns = list(patterns)
        self.tails: dict[str, FileTail] = {}
        self._started = False
        self._expand()
        self._started = True

    def _expand(self) -> None:
        for pattern, backfill in self.patterns:
            paths = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
            for path in paths:
                if path not in self.tails:
                    # Files that appear after start are read from their first byte.
                    self.tails[path] = FileTail(
                        path, backfill=backfill if not self._started else None
                    )

    def directories(self) -> list[str]:
        """The parent directories to watch."""
        dirs = {str(Path(pattern).parent) for pattern, _ in self.patterns}
        return sorted(dirs)

    def poll(self) -> list[LinesBatch]:
        """Read every file once."""
        self._expand()
        batches = []
        for path, tail in self.tails.items():
            lines = tail.poll()
            if lines:
                batches.append(LinesBatch(path, tuple(lines)))
        return batches

    def take_changes(self) -> list[FileStatus]:
        """State changes since the last call."""
        changes: list[FileStatus] = []
        for tail in self.tails.values():
            changes.extend(tail.changes)
            tail.changes.clear()
        return changes

    def statuses(self) -> tuple[FileStatus, ...]:
        """The state of every followed file."""
        return tuple(tail.status for tail in self.tails.values())

    def close(self) -> None:
        """Close every file."""
        for tail in self.tails.values():
            tail.close()
