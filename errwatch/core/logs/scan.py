"""``errwatch scan``'s pass over whole files and pipes, at grep speed, in bounded memory.

A file or pipe is read in windows of :data:`WINDOW` bytes, each handed to the same
:class:`~errwatch.core.logs.reader.TracebackReader` live following uses, and the
complete tracebacks are grouped (:class:`ScanResult`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from errwatch.core.logs.events import TracebackEvent
from errwatch.core.logs.framing import Setting
from errwatch.core.logs.grouping import MAX_GROUPS, ErrorGroup, GroupStore
from errwatch.core.logs.lines import LONG_LINE_MARK_BYTES, MAX_LINE
from errwatch.core.logs.reader import TracebackReader

__all__ = [
    "WINDOW",
    "ScanResult",
    "Tally",
    "TracebackReader",
    "scan_clock",
    "scan_fd",
    "scan_fds",
    "scan_stream",
]

WINDOW = 8 * 1024 * 1024
"""Bytes read at once by a scan: large enough for searches to run at memory speed,
small enough that memory stays bounded whatever the file size."""


def scan_fd(fd: int, reader: TracebackReader, window: int = WINDOW) -> list[TracebackEvent]:
    """Every traceback of an open file, read ``window`` bytes at a time."""
    return [event for events in scan_stream(fd, reader, window) for event in events]


def scan_stream(
    fd: int,
    reader: TracebackReader,
    window: int = WINDOW,
    *,
    start: int | None = None,
    stop: int | None = None,
    finish: bool = True,
) -> Iterator[list[TracebackEvent]]:
    """The tracebacks of an open file or pipe, as each ``window`` of bytes gives them:
    memory stays bounded however long the input (``errwatch scan -``).

    ``start``, ``stop``: only these bytes of a file (``stop`` a line start, or its end),
    read at their offsets; ``finish``: end what is open at the end (the input's end).
    """
    buf = bytearray(window)
    filled = 0
    offset = start
    skipping = False  # inside a line longer than MAX_LINE, past the part that is kept
    while True:
        with memoryview(buf) as view:
            if offset is None:
                got = os.readv(fd, [view[filled:]])
            else:
                room = view[filled:] if stop is None else view[filled : filled + stop - offset]
                got = os.preadv(fd, [room], offset) if len(room) else 0
                offset += got
        total = filled + got
        begin = 0
        if skipping:
            newline = buf.find(b"\n", 0, total)
            skipping = newline < 0
            begin = total if skipping else newline + 1
        last = buf.rfind(b"\n", begin, total)
        if last >= 0:
            yield reader.feed(buf[begin : last + 1] if begin else buf, last + 1 - begin)
            begin = last + 1
        elif total - begin > MAX_LINE:
            # One line longer than MAX_LINE: keep its first part, as live following does.
            kept = bytes(buf[begin : begin + MAX_LINE])
            yield reader.feed(kept + LONG_LINE_MARK_BYTES + b"\n")
            begin, skipping = total, True
        if not got:
            if total > begin and not skipping:  # a last line without its newline
                yield reader.feed(bytes(buf[begin:total]) + b"\n")
            break
        filled = total - begin
        buf[:filled] = buf[begin:total]
        if filled == len(buf):  # a line longer than the window (small windows only)
            buf.extend(bytes(len(buf)))
    if finish:
        yield reader.finish()


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What ``errwatch scan`` found in some files."""

    events: int
    """Complete traceback events (the groups hold these)."""
    incomplete: int
    """Tracebacks cut off before their exception line."""
    groups: tuple[ErrorGroup, ...]
    """By count, most first."""
    logged: Mapping[str, tuple[float | None, float | None]]
    """Per fingerprint, the first and last time the log itself gives (None without one)."""
    dropped: int = 0
    """Groups pushed out by the cap on groups kept (:data:`MAX_GROUPS`)."""


class Tally:
    """Complete tracebacks grouped, incomplete ones counted, the log's own times kept."""

    def __init__(self, max_groups: int = MAX_GROUPS) -> None:
        self.store = GroupStore(max_groups=max_groups)
        self.logged: dict[str, tuple[float | None, float | None]] = {}
        self.complete = 0
        self.incomplete = 0

    def add(self, event: TracebackEvent) -> None:
        """Count one event."""
        if not event.complete:
            self.incomplete += 1
            return
        self.complete += 1
        group, _ = self.store.add(event)
        self._times(group.fingerprint, event.logged, event.logged)

    def _times(self, key: str, first: float | None, last: float | None) -> None:
        known_first, known_last = self.logged.get(key, (None, None))
        self.logged[key] = (_pick(min, known_first, first), _pick(max, known_last, last))
        if len(self.logged) > 2 * self.store.max_groups:  # forget groups pushed out
            self.logged = {k: times for k, times in self.logged.items() if k in self.store}

    def merge(self, later: Tally) -> None:
        """Count what a later part of the same input gathered, as if read here."""
        self.complete += later.complete
        self.incomplete += later.incomplete
        self.store.dropped += later.store.dropped
        for group in later.store.in_order():
            self.store.merge(group)
            self._times(group.fingerprint, *later.logged.get(group.fingerprint, (None, None)))

    def result(self) -> ScanResult:
        """The groups by count, most first (then the most recently seen)."""
        order = self.store.in_order()
        rank = {group.fingerprint: index for index, group in enumerate(order)}
        groups = sorted(
            order, key=lambda group: (-group.count, -group.last_seen, -rank[group.fingerprint])
        )
        kept = {group.fingerprint: self.logged[group.fingerprint] for group in groups}
        return ScanResult(self.complete, self.incomplete, tuple(groups), kept, self.store.dropped)


def scan_fds(
    files: Iterable[tuple[str, int]],
    window: int = WINDOW,
    max_groups: int = MAX_GROUPS,
    *,
    prefix: Setting = "auto",
    jobs: int = 1,
) -> ScanResult:
    """Group the complete tracebacks of already opened files or pipes (name, descriptor).

    ``jobs``: processes a large file may be read by at once (:mod:`.parts`).
    """
    from errwatch.core.logs.parts import scan_in_parts

    tally = Tally(max_groups)
    for name, fd in files:
        if jobs > 1 and scan_in_parts(tally, name, fd, jobs, prefix=prefix, window=window):
            continue
        reader = TracebackReader(name, count_lines=False, prefix=prefix, clock=scan_clock())
        for events in scan_stream(fd, reader, window):
            for event in events:
                tally.add(event)
    return tally.result()


def _pick(
    choose: Callable[[float, float], float], one: float | None, other: float | None
) -> float | None:
    if one is None or other is None:
        return other if one is None else one
    return choose(one, other)


def scan_clock() -> Callable[[], float]:
    """A scan's readers' clock: the time the scan began, for every event. Arrival times
    say nothing about a file read at once, and parts read at once must agree on them."""
    began = time.time()
    return lambda: began
