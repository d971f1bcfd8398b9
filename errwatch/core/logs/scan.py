"""Bytes of log lines -> traceback events at grep speed; the reader live following uses too.

:class:`TracebackReader` takes bytes made of complete lines. While no traceback is open
it does not look at lines one by one: it searches the bytes for the two anchors a
traceback can start with (``Traceback (most recent call last):`` anywhere in a line,
which also covers chained, ExceptionGroup, ``Exception in thread`` and JSON-escaped
tracebacks, and ``  File `` at the start of a line, for a SyntaxError printed without a
header), hands the parser only the last lines before each anchor (where its log record
is), then feeds it line by line until the traceback is over. Live following feeds it what
each read brings; :func:`scan_file` feeds it a file in windows of bounded size. Same
reader, same parser: both paths give the same events.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from errwatch.core.logs.demux import HEADER_BYTES, Demux
from errwatch.core.logs.events import TracebackEvent
from errwatch.core.logs.framing import DETECT_LINES, Framer, Setting, detect
from errwatch.core.logs.grouping import MAX_GROUPS, ErrorGroup, GroupStore
from errwatch.core.logs.lines import LONG_LINE_MARK_BYTES, MAX_LINE, Buffer, decode_line, find
from errwatch.core.logs.repeats import Repeats
from errwatch.core.logs.tracebacks import TracebackParser

FILE_LINE = b"  File "
_FILE_NEEDLE = b"\n" + FILE_LINE
DETECT_BYTES = 256 * 1024
"""Bytes a source may hold back while too few lines have come to decide on a prefix."""
WINDOW = 8 * 1024 * 1024
"""Bytes read at once by a scan: large enough for searches to run at memory speed,
small enough that memory stays bounded whatever the file size."""


class TracebackReader:
    """Feeds one log's bytes to its parsers, skipping in bulk what cannot be a traceback.

    ``prefix``: "auto" decides from the first :data:`DETECT_LINES` lines whether lines
    carry a prefix (then each stream gets its own parser, :class:`Demux`), "none" reads
    them as they are, a :class:`Framer` frames them so.
    """

    def __init__(
        self,
        source: str = "",
        *,
        clock: Callable[[], float] = time.time,
        count_lines: bool = True,
        prefix: Setting = "auto",
        host: str = "",
    ) -> None:
        self.source = source
        self.host = host
        self.count_lines = count_lines
        self._clock = clock
        self.parser = TracebackParser(source, clock=clock, host=host)
        """The parser of unprefixed lines."""
        self.repeats = Repeats()
        """Tracebacks of unprefixed lines seen before, recognised from their bytes."""
        self.demux: Demux | None = None
        self._decided = prefix != "auto"
        self._provisional = False
        self._pending = bytearray()
        self._pending_at = 0.0
        self._sample: list[str] = []
        if isinstance(prefix, Framer):
            self.demux = self._demux(prefix)

    @property
    def framing(self) -> str:
        """The prefix read, for a person ("none" when lines carry none)."""
        return self.demux.framer.name if self.demux is not None else "none"

    def _demux(self, framer: Framer) -> Demux:
        return Demux(
            framer,
            self.source,
            clock=self._clock,
            count_lines=self.count_lines,
            host=self.host,
        )

    def parsers(self) -> list[TracebackParser]:
        """Every parser of this source (one per stream when lines are prefixed)."""
        return [self.parser, *(self.demux.parsers() if self.demux is not None else ())]

    def feed(self, data: Buffer, end: int | None = None) -> list[TracebackEvent]:
        """Read ``data[:end]``, which holds complete lines (it ends with a newline)."""
        end = len(data) if end is None else end
        if self._decided and not self._provisional:
            return self._route(data, end)
        full = self._collect(data, end)
        if not self._decided:
            if not self._pending and (full or end >= DETECT_BYTES):
                # Enough in this read alone (a scan's window): no copy of it is kept.
                return self._decide(final=True) + self._route(data, end)
            self._pending += data[:end]
            self._pending_at = self._clock()
            if not full and len(self._pending) < DETECT_BYTES:
                return []
            return self._decide(final=True)
        out = self._redecide() if full else []
        return out + self._route(data, end)

    def _collect(self, data: Buffer, end: int) -> bool:
        """Take sample lines for detection from ``data``; True once there are enough."""
        sample = self._sample
        pos = 0
        end = min(end, DETECT_BYTES)  # a run of empty lines must not be read line by line
        while len(sample) < DETECT_LINES and pos < end:
            newline = data.find(b"\n", pos, end)
            stop = newline if newline >= 0 else end
            line = decode_line(data[pos:stop])
            if line.strip():
                sample.append(line)
            pos = stop + 1
        return len(sample) >= DETECT_LINES

    def _decide(self, *, final: bool) -> list[TracebackEvent]:
        """Choose the framing from the sample, then read what waited for it."""
        framer = detect(self._sample)
        self.demux = self._demux(framer) if framer is not None else None
        self._decided = True
        self._provisional = not final
        pending, self._pending = self._pending, bytearray()
        return self._route(pending, len(pending)) if pending else []

    def _redecide(self) -> list[TracebackEvent]:
        """A provisional choice, made on few lines, checked again on a full sample."""
        self._provisional = False
        framer = detect(self._sample)
        if (framer.name if framer is not None else "none") == self.framing:
            return []
        out = [] if self.demux is None else [e for p in self.demux.parsers() for e in p.finish()]
        self.demux = self._demux(framer) if framer is not None else None
        return out

    def _route(self, data: Buffer, end: int) -> list[TracebackEvent]:
        if self.demux is not None:
            return self.demux.feed(data, end)
        return self._feed_plain(data, end)

    def settle(self, settle: float) -> list[TracebackEvent]:
        """The writer went quiet for ``settle`` seconds: what can end ends, and a source
        still too short to say whether it has a prefix is read with what it has."""
        out: list[TracebackEvent] = []
        if not self._decided and self._pending and self._clock() - self._pending_at >= settle:
            arrived = self._pending_at
            out.extend(self._decide(final=False))
            for parser in self.parsers():  # those lines came then, not now
                parser.last_line_at = min(parser.last_line_at, arrived)
        now = self._clock()
        for parser in self.parsers():
            if parser.wants_idle() and now - parser.last_line_at >= settle:
                out.extend(parser.idle())
        self._refresh()
        return out

    def expire(self, timeout: float) -> list[TracebackEvent]:
        """Close the tracebacks that have waited ``timeout`` seconds for their end."""
        out = [event for parser in self.parsers() for event in parser.expire(timeout)]
        self._refresh()
        return out

    def finish(self) -> list[TracebackEvent]:
        """End of input: read what waited for a decision, close what is open."""
        out = self._decide(final=True) if not self._decided else []
        out.extend(event for parser in self.parsers() for event in parser.finish())
        self._refresh()
        return out

    def hold(self) -> None:
        """The source is away for a while (a host reconnecting): the time it takes does
        not count as the writer's silence."""
        now = self._clock()
        for parser in self.parsers():
            if not parser.at_rest:
                parser.last_line_at = now

    def wake(self, settle: float, timeout: float) -> float:
        """Seconds until :meth:`settle` or :meth:`expire` would have something to do."""
        now = self._clock()
        wake = float("inf")
        if not self._decided and self._pending:
            wake = self._pending_at + settle - now
        for parser in self.parsers():
            if parser.wants_idle():
                wake = min(wake, parser.last_line_at + settle - now)
            elif not parser.at_rest:
                wake = min(wake, parser.last_line_at + timeout - now)
        return wake

    def _refresh(self) -> None:
        if self.demux is not None:
            self.demux.refresh()

    def _feed_plain(self, data: Buffer, end: int) -> list[TracebackEvent]:
        parser = self.parser
        repeats = self.repeats
        out: list[TracebackEvent] = []
        header_at = file_at = -2  # -2: not searched yet; -1: none until the end
        opened = -1  # where the block read line by line began (-1: none, or not here)
        pos = 0
        while pos < end:
            if parser.at_rest:
                if header_at == -2 or 0 <= header_at < pos:
                    header_at = find(data, HEADER_BYTES, pos, end)
                if file_at == -2 or 0 <= file_at < pos:
                    file_at = _file_line(data, pos, end)
                anchor = min((at for at in (header_at, file_at) if at >= 0), default=end)
                if anchor == header_at:
                    anchor = data.rfind(b"\n", pos, anchor) + 1 or pos
                if anchor > pos:
                    count = data.count(b"\n", pos, anchor) if self.count_lines else None
                    parser.skip_bytes(data, pos, anchor, count)
                    pos = anchor
                    if pos >= end:
                        break
                repeat = repeats.recall(data, pos, end)
                if repeat is not None:
                    out.append(parser.repeat(repeat))
                    pos = repeat.stop
                    continue
                opened = pos
            newline = data.find(b"\n", pos, end)
            stop = newline if newline >= 0 else end
            events = parser.feed(decode_line(data[pos:stop]))
            if events:
                if opened >= 0 and len(events) == 1:
                    repeats.learn(data, opened, pos, events[0])
                out.extend(events)
                opened = -1 if parser.at_rest else pos  # the line that ended one opened one
            pos = stop + 1
        parser.settle()
        return out


def _file_line(data: Buffer, pos: int, end: int) -> int:
    """Start of the next line beginning with ``  File `` (``pos`` is a line start)."""
    if data.startswith(FILE_LINE, pos) and pos + len(FILE_LINE) <= end:
        return pos
    found = find(data, _FILE_NEEDLE, pos, end)
    return found + 1 if found >= 0 else -1


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
