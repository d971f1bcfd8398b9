"""``tail -F`` over files and globs.

:class:`FileTail` follows one path by polling ``stat``: it survives the file missing at
start, rename rotation (it finishes the old file, including lines appended after the
rename, then switches), truncation, deletion, and the path turning into a directory, a
FIFO or an unreadable file. It hands out raw bytes of complete lines, tagged with the
file they came from (device, inode), so a parser can follow a file across renames.

:class:`MultiTail` follows many paths and globs. A file is read by one tail at a time,
whatever path it has now: when ``app.log`` is renamed ``app.log.1`` and a glob matches
both, the tail of ``app.log.1`` takes over the open file where the other one stopped,
so nothing is read twice.

Reads are bounded (:meth:`FileTail.poll` takes a byte budget), so a big backfill goes in
steps whose progress is reported, and memory stays bounded: at most one partial line
(cut at :data:`~errwatch.core.logs.lines.MAX_LINE`) per open file.
"""

from __future__ import annotations

import glob
import os
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from errwatch.core.logs.lines import LineSplitter
from errwatch.core.units import parse_size

CHUNK = 1024 * 1024
"""Bytes asked for by one read."""
DRAIN_GRACE = 2.0
"""Seconds a rotated-away file is still read, for writers that have not reopened yet."""
_T = TypeVar("_T")
HEAD_BYTES = 64
"""First bytes remembered per file: other first bytes at the same size mean a rewrite."""

Identity = tuple[int, int]
"""(st_dev, st_ino): which file, whatever its name."""


class FollowState(StrEnum):
    """What following one path looks like right now."""

    WAITING = "waiting"
    FOLLOWING = "following"
    ROTATED = "rotated"
    TRUNCATED = "truncated"
    MISSING = "missing"
    UNREADABLE = "unreadable"
    RUNNING = "running"
    """A command source's process is running."""
    EXITED = "exited"
    """A command source's process exited (the detail says its code and last stderr line)."""
    RESTARTING = "restarting"
    """A command source waits (with backoff) before starting again."""
    CONNECTING = "connecting"
    """A remote source's first connection."""
    RECONNECTING = "reconnecting"
    """A remote source lost its connection and waits (with backoff) to try again."""


@dataclass(frozen=True, slots=True)
class FileStatus:
    """State of one followed path, with a plain detail."""

    path: str
    state: FollowState
    detail: str = ""
    offset: int = 0
    size: int = 0


@dataclass(frozen=True, slots=True)
class Chunk:
    """Complete lines (each ending with a newline) read from one file."""

    path: str
    file: Identity
    data: bytes


@dataclass(frozen=True, slots=True)
class Progress:
    """A catch-up (backfill) in progress: bytes read of bytes to read."""

    done: int
    total: int

    @property
    def ratio(self) -> float:
        """0..1."""
        return self.done / self.total if self.total else 1.0


def backfill_bytes(backfill: str) -> int | None:
    """ "all" -> None (read everything), "none" -> 0, "10MB" -> that many bytes."""
    if backfill == "all":
        return None
    if backfill == "none":
        return 0
    return parse_size(backfill)


class _Open:
    """An open file descriptor being read, with its own partial line."""

    def __init__(self, fd: int, identity: Identity, offset: int) -> None:
        self.fd = fd
        self.identity = identity
        self.offset = offset
        self.lines = LineSplitter()
        self.head = b""  # first bytes, to notice a rewrite to the same size
        self.mtime_ns = 0
        self.deadline = 0.0


Registry = dict[Identity, tuple["FileTail", _Open]]
"""Every open file and the tail reading it, shared by the tails of one MultiTail."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe), not a regular file"
    return "is not a regular file"


class FileTail:
    """Follows one path; :meth:`poll` returns the complete new lines as chunks of bytes."""

    def __init__(
        self,
        path: str,
        *,
        backfill: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        registry: Registry | None = None,
    ) -> None:
        self.path = path
        self._backfill = backfill
        self._clock = clock
        self._registry: Registry = registry if registry is not None else {}
        self._current: _Open | None = None
        self._draining: list[_Open] = []
        self._seen_once = False
        self._polled = False
        self._catchup_from: int | None = None
        self.status = FileStatus(path, FollowState.WAITING, "not there yet")
        self.changes: list[FileStatus] = []
        self.closed: list[Identity] = []
        """Files this tail stopped reading for good (their parsers can finish)."""
        self.progress: Progress | None = None
        self.behind = False
        """The last poll stopped at its budget: more is there to read now."""
        self.bytes_read = 0

    def _set(self, state: FollowState, detail: str = "", size: int | None = None) -> None:
        offset = self._current.offset if self._current else 0
        size = self.status.size if size is None else size
        status = FileStatus(self.path, state, detail, offset, size)
        if (status.state, status.detail) != (self.status.state, self.status.detail):
            self.changes.append(status)
        self.status = status

    @property
    def holding(self) -> bool:
        """Whether any file is still open (current or draining)."""
        return self._current is not None or bool(self._draining)

    def poll(self, budget: int | None = None) -> list[Chunk]:
        """Read what is new (at most about ``budget`` bytes of the current file)."""
        out: list[Chunk] = []
        try:
            self._poll(out, budget)
        finally:
            self._polled = True
        return out

    def _poll(self, out: list[Chunk], budget: int | None) -> None:
        self.behind = False
        for old in list(self._draining):
            # Bounded like any read: a file rotated away mid-backfill is finished over
            # several polls, and closed only once read to its end.
            at_end = self._read(old, out, budget)
            self.behind = self.behind or not at_end
            if at_end and self._clock() >= old.deadline:
                self._flush_partial(old, out)
                self._close(old)
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            self._lost(out, FollowState.MISSING if self._seen_once else FollowState.WAITING)
            return
        except OSError as error:
            self._lost(out, FollowState.UNREADABLE, error.strerror or str(error))
            return
        if not stat.S_ISREG(info.st_mode):
            self._lost(out, FollowState.UNREADABLE, _kind(info.st_mode))
            return
        identity = (info.st_dev, info.st_ino)
        current = self._current
        if current is not None and current.identity != identity:
            # Rename rotation: finish the old file, keep reading it a little longer.
            self.behind = not self._read(current, out, budget) or self.behind
            self._retire(current)
            self._set(FollowState.ROTATED, "new file at the path")
        if self._current is None and not self._open(info, identity):
            return
        current = self._current
        assert current is not None
        if info.st_size < current.offset or self._rewritten(current, info):
            current.offset = 0
            current.lines.reset()
            current.head = b""
            self._catchup_from = None
            self._set(FollowState.TRUNCATED, "truncated: reading from the start")
        current.mtime_ns = info.st_mtime_ns
        start = current.offset
        self.behind = not self._read(current, out, budget) or self.behind
        self._track_progress(start, current.offset, info.st_size)
        if self.status.state is not FollowState.FOLLOWING or self.status.size != info.st_size:
            self._set(FollowState.FOLLOWING, size=info.st_size)

    def _track_progress(self, start: int, offset: int, size: int) -> None:
        if offset >= size:
            self._catchup_from = None
            self.progress = None
            return
        if self._catchup_from is None:
            self._catchup_from = start
        self.progress = Progress(offset - self._catchup_from, size - self._catchup_from)

    def _open(self, info: os.stat_result, identity: Identity) -> bool:
        held = self._registry.get(identity)
        if held is not None:
            # Already open under another name (a glob matched the rotated file): take
            # it over where it is, so nothing is read twice.
            holder, opened = held
            holder._release(opened, self.path)
            self._registry[identity] = (self, opened)
            self._current = opened
            self._seen_once = True
            return True
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as error:
            self._set(FollowState.UNREADABLE, error.strerror or str(error))
            return False
        opened_info = os.fstat(fd)
        if (opened_info.st_dev, opened_info.st_ino) != identity:
            os.close(fd)  # replaced between stat and open: the next poll sees the new one
            return False
        offset = 0
        # Backfill limits what existed at start; a file that appears later is read whole.
        if not self._polled and self._backfill is not None:
            offset = max(0, info.st_size - self._backfill)
        opened = _Open(fd, identity, offset)
        # Starting mid-file: skip to the next full line.
        opened.lines.skipping = offset > 0 and os.pread(fd, 1, offset - 1) != b"\n"
        opened.mtime_ns = info.st_mtime_ns
        self._registry[identity] = (self, opened)
        self._current = opened
        self._seen_once = True
        return True

    def _release(self, opened: _Open, taker: str) -> None:
        """Another tail took this file over (it was renamed to a path that tail follows)."""
        if opened is self._current:
            self._current = None
            self.progress = None
            self._catchup_from = None
            self._set(FollowState.ROTATED, f"renamed to {taker}")
        elif opened in self._draining:
            self._draining.remove(opened)

    def _retire(self, opened: _Open) -> None:
        opened.deadline = self._clock() + DRAIN_GRACE
        self._draining.append(opened)
        self._current = None
        self.progress = None
        self._catchup_from = None

    def _close(self, opened: _Open) -> None:
        os.close(opened.fd)
        if opened in self._draining:
            self._draining.remove(opened)
        if opened is self._current:
            self._current = None
        if self._registry.get(opened.identity, (None, None))[1] is opened:
            del self._registry[opened.identity]
        self.closed.append(opened.identity)

    def _rewritten(self, current: _Open, info: os.stat_result) -> bool:
        """Same size or larger but other first bytes: copytruncate followed by a rewrite."""
        if info.st_mtime_ns == current.mtime_ns or not current.head:
            return False
        try:
            head = os.pread(current.fd, len(current.head), 0)
        except OSError:
            return False
        return head != current.head

    def _lost(self, out: list[Chunk], state: FollowState, detail: str = "") -> None:
        current = self._current
        if current is not None:
            # Deleted or renamed away: the rest, and whatever a writer still appends, is
            # read while draining.
            self._retire(current)
        self._set(state, detail, size=0)

    def _read(self, opened: _Open, out: list[Chunk], budget: int | None) -> bool:
        """Read on from where this file was left, at most about ``budget`` bytes; True
        when its end was reached."""
        pieces: list[bytes] = []
        left = budget
        at_end = False
        while left is None or left > 0:
            try:
                chunk = os.pread(
                    opened.fd, CHUNK if left is None else min(CHUNK, left), opened.offset
                )
            except OSError:
                at_end = True  # nothing more will come from it
                break
            if not chunk:
                at_end = True
                break
            if opened.offset == len(opened.head) < HEAD_BYTES:
                opened.head = (opened.head + chunk)[:HEAD_BYTES]
            opened.offset += len(chunk)
            self.bytes_read += len(chunk)
            left = None if left is None else left - len(chunk)
            lines = opened.lines.split(chunk)
            if lines:
                pieces.append(lines)
        if pieces:
            out.append(Chunk(self.path, opened.identity, b"".join(pieces)))
        return at_end

    def _flush_partial(self, opened: _Open, out: list[Chunk]) -> None:
        last = opened.lines.flush()
        if last:
            out.append(Chunk(self.path, opened.identity, last))

    def close(self) -> None:
        """Close every descriptor."""
        for opened in [*self._draining, *([self._current] if self._current else [])]:
            self._close(opened)


def _drained(items: list[_T]) -> list[_T]:
    taken = items[:]
    items.clear()
    return taken


class MultiTail:
    """Many paths and globs; new files matching a glob are followed from their start."""

    def __init__(
        self,
        patterns: Sequence[tuple[str, int | None]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.patterns = list(patterns)
        self.tails: dict[str, FileTail] = {}
        self._clock = clock
        self._registry: Registry = {}
        self._started = False
        self._expand()
        self._started = True

    def _expand(self) -> None:
        matched: set[str] = set()
        for pattern, backfill in self.patterns:
            magic = glob.has_magic(pattern)
            paths = sorted(glob.glob(pattern)) if magic else [pattern]
            matched.update(paths)
            for path in paths:
                if path not in self.tails:
                    # Files that appear after start are read from their first byte.
                    self.tails[path] = FileTail(
                        path,
                        backfill=backfill if not self._started else None,
                        clock=self._clock,
                        registry=self._registry,
                    )
        for path, tail in list(self.tails.items()):
            # A glob's file that is gone and fully read is forgotten: memory stays bounded
            # however many rotated names go by.
            if path not in matched and not (tail.holding or tail.changes or tail.closed):
                del self.tails[path]

    def directories(self) -> list[str]:
        """The existing directories to watch: the parents of the paths (or of the glob
        matches), else their nearest existing ancestor."""
        dirs: set[str] = set()
        for pattern, _ in self.patterns:
            parent = str(Path(pattern).parent)
            found = [d for d in glob.glob(parent) if os.path.isdir(d)]
            if not found and not glob.has_magic(parent):
                ancestor = Path(parent)
                while not ancestor.is_dir() and ancestor != ancestor.parent:
                    ancestor = ancestor.parent
                found = [str(ancestor)] if ancestor.is_dir() else []
            dirs.update(found)
        return sorted(dirs)

    def poll(self, budget: int | None = None) -> list[Chunk]:
        """Read every file once (at most about ``budget`` bytes of each)."""
        self._expand()
        chunks: list[Chunk] = []
        for tail in list(self.tails.values()):
            chunks.extend(tail.poll(budget))
        return chunks

    def take_changes(self) -> list[FileStatus]:
        """State changes since the last call."""
        return [change for tail in self.tails.values() for change in _drained(tail.changes)]

    def take_closed(self) -> list[Identity]:
        """Files no longer read since the last call."""
        return [file for tail in self.tails.values() for file in _drained(tail.closed)]

    @property
    def behind(self) -> bool:
        """Whether the last poll left bytes to read (a budget was reached)."""
        return any(tail.behind for tail in self.tails.values())

    def progress(self) -> Progress | None:
        """How far the files that are catching up are, or None when all are."""
        pending = [tail.progress for tail in self.tails.values() if tail.progress is not None]
        if not pending:
            return None
        return Progress(sum(p.done for p in pending), sum(p.total for p in pending))

    def statuses(self) -> tuple[FileStatus, ...]:
        """The state of every followed file."""
        return tuple(tail.status for tail in self.tails.values())

    def close(self) -> None:
        """Close every file."""
        for tail in self.tails.values():
            tail.close()
