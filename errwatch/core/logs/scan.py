"""``errwatch scan``'s pass over whole files and pipes, at grep speed, in bounded memory.

A file or pipe is read in windows of :data:`WINDOW` bytes, each handed to the same
:class:`~errwatch.core.logs.reader.TracebackReader` live following uses, and the
complete tracebacks are grouped (:class:`ScanResult`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from errwatch.core.logs.events import TracebackEvent
from errwatch.core.logs.framing import Setting
from errwatch.core.logs.grouping import MAX_GROUPS, ErrorGroup, GroupStore
from errwatch.core.logs.lines import LONG_LINE_MARK_BYTES, MAX_LINE
from errwatch.core.logs.reader import TracebackReader

__all__ = ["WINDOW", "ScanResult", "TracebackReader", "scan_fd", "scan_fds", "scan_stream"]

WINDOW = 8 * 1024 * 1024
"""Bytes read at once by a scan: large enough for searches to run at memory speed,
small enough that memory stays bounded whatever the file size."""


def scan_fd(fd: int, reader: TracebackReader, window: int = WINDOW) -> list[TracebackEvent]:
    """Every traceback of an open file, read ``window`` bytes at a time."""
    return [event for events in scan_stream(fd, reader, window) for event in events]


def scan_stream(
    fd: int, reader: TracebackReader, window: int = WINDOW
) -> Iterator[list[TracebackEvent]]:
    """The tracebacks of an open file or pipe, as each ``window`` of bytes gives them:
    memory stays bounded however long the input (``errwatch scan -``)."""
    buf = bytearray(window)
    filled = 0
    skipping = False  # inside a line longer than MAX_LINE, past the part that is kept
    while True:
        with memoryview(buf) as view:
            got = os.readv(fd, [view[filled:]])
        total = filled + got
        start = 0
        if skipping:
            newline = buf.find(b"\n", 0, total)
            skipping = newline < 0
            start = total if skipping else newline + 1
        last = buf.rfind(b"\n", start, total)
        if last >= 0:
            yield reader.feed(buf[start : last + 1] if start else buf, last + 1 - start)
            start = last + 1
        elif total - start > MAX_LINE:
            # One line longer than MAX_LINE: keep its first part, as live following does.
            kept = bytes(buf[start : start + MAX_LINE])
            yield reader.feed(kept + LONG_LINE_MARK_BYTES + b"\n")
            start, skipping = total, True
        if not got:
            if total > start and not skipping:  # a last line without its newline
                yield reader.feed(bytes(buf[start:total]) + b"\n")
            break
        filled = total - start
        buf[:filled] = buf[start:total]
        if filled == len(buf):  # a line longer than the window (small windows only)
            buf.extend(bytes(len(buf)))
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


def scan_fds(
    files: Iterable[tuple[str, int]],
    window: int = WINDOW,
    max_groups: int = MAX_GROUPS,
    *,
    prefix: Setting = "auto",
) -> ScanResult:
    """Group the complete tracebacks of already opened files or pipes (name, descriptor)."""
    store = GroupStore(max_groups=max_groups)
    logged: dict[str, tuple[float | None, float | None]] = {}
    complete = incomplete = 0
    for name, fd in files:
        reader = TracebackReader(name, count_lines=False, prefix=prefix)
        for event in (e for events in scan_stream(fd, reader, window) for e in events):
            if not event.complete:
                incomplete += 1
                continue
            complete += 1
            group, _ = store.add(event)
            at = event.logged
            first, last = logged.get(group.fingerprint, (None, None))
            if at is not None:
                first = at if first is None else min(first, at)
                last = at if last is None else max(last, at)
            logged[group.fingerprint] = (first, last)
            if len(logged) > 2 * max_groups:  # forget the times of groups pushed out
                logged = {key: times for key, times in logged.items() if key in store}
    groups = sorted(store.groups(), key=lambda group: (-group.count, -group.last_seen))
    kept = {group.fingerprint: logged[group.fingerprint] for group in groups}
    return ScanResult(complete, incomplete, tuple(groups), kept, store.dropped)
