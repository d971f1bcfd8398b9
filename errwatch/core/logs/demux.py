"""Prefixed lines -> one traceback parser per stream, still skipping in bulk.

:class:`Demux` is what :class:`~errwatch.core.logs.scan.TracebackReader` uses once a
source's lines are known to carry a prefix. Each line is framed (its prefix stripped,
its stream known) and fed to its stream's own :class:`TracebackParser`, so the lines of
two containers writing at once never mix. While no traceback is open, lines are skipped
in bulk up to the next anchor, as for unprefixed logs; while one is open in a stream,
the next line of that stream is found by searching for the constant part of its prefix
(:meth:`~errwatch.core.logs.framing.Framer.needle`), so the other streams' lines are
still skipped in bulk.

The last :data:`LOOKBACK` lines before a traceback (where its log record is) are shared
by all streams, each line knowing its stream: every parser sees the lines of its own
stream among the last ones of the source, whichever path (bulk or line by line) read
them, so both paths give the same events.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from errwatch.core.logs.events import TracebackEvent
from errwatch.core.logs.framing import TOOL_STREAM, Framer, PrefixContext
from errwatch.core.logs.lines import Buffer, decode_line, find
from errwatch.core.logs.tracebacks import HEADER, LOOKBACK, TracebackParser

HEADER_BYTES = HEADER.encode()
FILE_ANCHOR = b'  File "'
"""A headerless SyntaxError starts with a ``File`` line; after a prefix, anywhere."""
MAX_STREAMS = 1000
"""Streams with a parser at once; past it, streams at rest are forgotten (a syslog file
where every cron job has its own pid must not grow memory without bound)."""
_ESCAPED_NEWLINE = "#012"
_ESCAPED_TAB = "#011"


class SharedLookback:
    """The last :data:`LOOKBACK` lines of a source, each with its stream's key."""

    def __init__(self) -> None:
        self._lines: deque[tuple[str, str]] = deque(maxlen=LOOKBACK)

    def add(self, key: str, text: str) -> None:
        """One more line of stream ``key``."""
        self._lines.append((key, text))

    def texts(self, key: str) -> list[str]:
        """The lines of one stream among the last ones, oldest first."""
        return [text for owner, text in self._lines if owner == key]

    def forget(self, key: str) -> None:
        """Drop one stream's lines (its traceback opened or closed: they are used)."""
        if any(owner == key for owner, _ in self._lines):
            kept = [(owner, text) for owner, text in self._lines if owner != key]
            self._lines.clear()
            self._lines.extend(kept)


class StreamLookback:
    """One stream's view of the shared lines, as its parser uses a deque."""

    def __init__(self, shared: SharedLookback, key: str) -> None:
        self._shared = shared
        self._key = key

    def append(self, line: str, /) -> None:
        self._shared.add(self._key, line)

    def extend(self, lines: Iterable[str], /) -> None:
        for line in lines:
            self._shared.add(self._key, line)

    def clear(self) -> None:
        self._shared.forget(self._key)

    def __len__(self) -> int:
        return len(self._shared.texts(self._key))

    def __getitem__(self, index: int, /) -> str:
        return self._shared.texts(self._key)[index]

    def __reversed__(self) -> Iterator[str]:
        return reversed(self._shared.texts(self._key))


class _Stream:
    """One stream of a source: its parser, and how to find its next line."""

    __slots__ = ("key", "needle", "parser")

    def __init__(
        self,
        key: str,
        demux: Demux,
        shared: SharedLookback,
        *,
        source: str,
        clock: Callable[[], float],
        host: str,
    ) -> None:
        self.key = key
        self.needle: bytes | None = None
        self.parser = TracebackParser(
            source,
            clock=clock,
            lookback=StreamLookback(shared, key),
            context=lambda: demux.context(key),
            host=host,
        )


class Demux:
    """Feeds each prefixed line to its stream's parser, skipping in bulk."""

    def __init__(
        self,
        framer: Framer,
        source: str = "",
        *,
        clock: Callable[[], float] = time.time,
        count_lines: bool = True,
        host: str = "",
    ) -> None:
        self.framer = framer
        self.source = source
        self.host = host
        self._clock = clock
        self._shared = SharedLookback()
        self.streams: dict[str, _Stream] = {}
        self.open: set[str] = set()
        """Keys of the streams with a traceback open."""
        self.last_key = ""
        self.line_no: int | None = 0 if count_lines else None
        self._indent = ""
        self._heads: dict[str, str] = {}
        """Per stream, the last line that carried its prefix (what a traceback's prefix
        says comes from there: its own line, or the line its entry began with)."""

    def context(self, key: str) -> PrefixContext | None:
        """What the prefix of stream ``key``'s current line says."""
        head = self._heads.get(key)
        return self.framer.context(head) if head else None

    def parsers(self) -> list[TracebackParser]:
        """Every stream's parser."""
        return [stream.parser for stream in self.streams.values()]

    def refresh(self) -> None:
        """Recount the open streams (after idle, expire or finish closed some)."""
        self.open = {key for key, stream in self.streams.items() if not stream.parser.at_rest}

    def _stream(self, key: str) -> _Stream:
        stream = self.streams.get(key)
        if stream is None:
            if len(self.streams) >= MAX_STREAMS:
                resting = [k for k in self.streams if k not in self.open]
                for old in resting[: max(1, len(resting) // 2)]:
                    del self.streams[old]
                    self._heads.pop(old, None)
            stream = _Stream(
                key,
                self,
                self._shared,
                source=self.source,
                clock=self._clock,
                host=self.host,
            )
            self.streams[key] = stream
        return stream

    def _frame(self, raw: str) -> tuple[str, str, bool]:
        """(key, text, whether the line carried the prefix)."""
        framer = self.framer
        split = framer.split(raw)
        if split is not None:
            self.last_key = split[0]
            self._heads[split[0]] = raw
            if framer.width != len(self._indent):
                self._indent = " " * framer.width
            return split[0], split[1], True
        if not framer.continued:
            return TOOL_STREAM, raw, False
        # journald aligns the rest of a multi-line entry under the text of its first line.
        indent = self._indent
        text = raw[len(indent) :] if indent and raw.startswith(indent) else raw
        return self.last_key, text, False

    def feed(self, data: Buffer, end: int) -> list[TracebackEvent]:
        """Read ``data[:end]``, complete lines."""
        out: list[TracebackEvent] = []
        multi = self.framer.multi
        header_at = file_at = -2  # -2: not searched yet; -1: none until the end
        nexts: dict[str, int] = {}
        follow = False  # the last line's stream is open: the next line may continue it
        pos = 0
        while pos < end:
            if not (self.open and (follow or not multi)):
                if header_at == -2 or 0 <= header_at < pos:
                    header_at = find(data, HEADER_BYTES, pos, end)
                if file_at == -2 or 0 <= file_at < pos:
                    file_at = find(data, FILE_ANCHOR, pos, end)
                anchor = end
                for at in (header_at, file_at):
                    if at >= 0:
                        anchor = min(anchor, max(pos, data.rfind(b"\n", pos, at) + 1))
                for key in self.open:
                    nexts[key] = self._next_of(key, data, pos, end, nexts.get(key, -2))
                    anchor = min(anchor, nexts[key])
                if anchor > pos:
                    self._skip(data, pos, anchor)
                    pos = anchor
                    if pos >= end:
                        break
            newline = data.find(b"\n", pos, end)
            stop = newline if newline >= 0 else end
            key = self._line(decode_line(data[pos:stop]), out)
            follow = key in self.open
            pos = stop + 1
        return out

    def _line(self, raw: str, out: list[TracebackEvent]) -> str:
        key, text, prefixed = self._frame(raw)
        stream = self._stream(key)
        if prefixed and stream.needle is None and self.framer.multi:
            stream.needle = self.framer.needle(raw)
        parser = stream.parser
        texts: Iterable[str] = (text,)
        if self.framer.escaped_newlines and _ESCAPED_NEWLINE in text:
            texts = text.replace(_ESCAPED_TAB, "\t").split(_ESCAPED_NEWLINE)
        for piece in texts:
            parser.line_no = self.line_no
            out.extend(parser.feed(piece))
        if self.line_no is not None:
            self.line_no += 1
        if parser.at_rest:
            self.open.discard(key)
        else:
            self.open.add(key)
        return key

    def _skip(self, data: Buffer, start: int, stop: int) -> None:
        """Lines with no anchor and no open stream's line: keep the last ones only."""
        if self.line_no is not None:
            self.line_no += data.count(b"\n", start, stop)
        lines: list[str] = []
        line_end = stop - 1
        while len(lines) < LOOKBACK and line_end >= start:
            line_start = max(start, data.rfind(b"\n", start, line_end) + 1)
            lines.append(decode_line(data[line_start:line_end]))
            line_end = line_start - 1
        for raw in reversed(lines):
            key, text, _ = self._frame(raw)
            self._shared.add(key, text)

    def _next_of(self, key: str, data: Buffer, pos: int, end: int, cached: int) -> int:
        """Start of the next line of stream ``key`` at or after ``pos`` (``end``: none)."""
        if cached >= pos:
            return cached
        needle = self.streams[key].needle
        if needle is None:
            return pos
        at = pos
        while at < end:
            if needle[:1] == b"\n":
                if at == 0 and data.startswith(needle[1:]):
                    line_start = 0
                else:
                    found = find(data, needle, max(at - 1, 0), end)
                    if found < 0:
                        return end
                    line_start = found + 1
            else:
                found = find(data, needle, at, end)
                if found < 0:
                    return end
                line_start = max(at, data.rfind(b"\n", at, found) + 1)
            newline = data.find(b"\n", line_start, end)
            stop = newline if newline >= 0 else end
            split = self.framer.split(decode_line(data[line_start:stop]))
            if split is not None and split[0] == key:
                return line_start
            at = stop + 1  # the needle was in another stream's text
        return end
