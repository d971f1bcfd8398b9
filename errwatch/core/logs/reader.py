"""Bytes of log lines -> traceback events, skipping in bulk what cannot be a traceback.

:class:`TracebackReader` takes bytes made of complete lines. While no traceback is open
it does not look at lines one by one: it searches the bytes for the two anchors a
traceback can start with (``Traceback (most recent call last):`` anywhere in a line,
which also covers chained, ExceptionGroup, ``Exception in thread`` and JSON-escaped
tracebacks, and ``  File `` at the start of a line, for a SyntaxError printed without a
header), hands the parser only the last lines before each anchor (where its log record
is), then feeds it line by line until the traceback is over. Live following feeds it what
each read brings; a scan (:mod:`errwatch.core.logs.scan`) feeds it a file in windows of
bounded size. Same reader, same parser: both paths give the same events.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from errwatch.core.logs.demux import HEADER_BYTES, Demux
from errwatch.core.logs.events import TracebackEvent
from errwatch.core.logs.framing import DETECT_LINES, Framer, Setting, detect
from errwatch.core.logs.lines import Buffer, Search, decode_line, searcher
from errwatch.core.logs.repeats import Repeats
from errwatch.core.logs.tracebacks import TracebackParser

FILE_LINE = b"  File "
_FILE_NEEDLE = b"\n" + FILE_LINE
DETECT_BYTES = 256 * 1024
"""Bytes a source may hold back while too few lines have come to decide on a prefix."""


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
    def decided(self) -> bool:
        """Whether the framing is chosen for good."""
        return self._decided and not self._provisional

    @property
    def framer(self) -> Framer | None:
        """The framer chosen (None: lines read as they are, or not decided yet)."""
        return self.demux.framer if self.demux is not None else None

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
        return collect_sample(self._sample, data, end)

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
        # What the old framing held open ends here, said incomplete if it was cut.
        out = [event for parser in self.parsers() for event in parser.finish()]
        self.demux = self._demux(framer) if framer is not None else None
        return out

    def _route(self, data: Buffer, end: int) -> list[TracebackEvent]:
        if self.demux is not None:
            return self.demux.feed(data, end)
        return self._feed_plain(data, end)

    def rest_state(self) -> tuple[object, ...] | None:
        """At rest, when it can be told: all that decides how the next lines are read (two
        readers in equal states read what follows alike); else None."""
        if not self._decided or self._provisional:
            return None
        if self.demux is not None:
            return self.demux.rest_state()
        return self.parser.rest_state()

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
        search = searcher(data)
        out: list[TracebackEvent] = []
        header_at = file_at = -2  # -2: not searched yet; -1: none until the end
        opened = -1  # where the block read line by line began (-1: none, or not here)
        pos = 0
        while pos < end:
            if parser.at_rest:
                if header_at == -2 or 0 <= header_at < pos:
                    header_at = search(HEADER_BYTES, pos, end)
                if file_at == -2 or 0 <= file_at < pos:
                    file_at = _file_line(data, search, pos, end)
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


def collect_sample(sample: list[str], data: Buffer, end: int) -> bool:
    """Add the lines of ``data[:end]`` to ``sample`` for framing detection, up to
    :data:`DETECT_LINES` non-blank ones; True once there are that many."""
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


def _file_line(data: Buffer, search: Search, pos: int, end: int) -> int:
    """Start of the next line beginning with ``  File `` (``pos`` is a line start)."""
    if data.startswith(FILE_LINE, pos) and pos + len(FILE_LINE) <= end:
        return pos
    found = search(_FILE_NEEDLE, pos, end)
    return found + 1 if found >= 0 else -1
