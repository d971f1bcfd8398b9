"""Prefixed lines -> one traceback parser per stream, still skipping in bulk.

:class:`Demux` is what :class:`~errwatch.core.logs.reader.TracebackReader` uses once a
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
them, so both paths give the same events. Lines skipped in bulk are framed only when a
traceback opens and wants them (most never are): each line is numbered, so a line
framed late never overrides what a later line said (its stream, its prefix).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from errwatch.core.logs.events import TracebackEvent
from errwatch.core.logs.framing import TOOL_STREAM, Framer, PrefixContext
from errwatch.core.logs.lines import Buffer, Search, decode_line, last_lines, searcher
from errwatch.core.logs.tracebacks import HEADER, LOOKBACK, TracebackParser

HEADER_BYTES = HEADER.encode()
FILE_ANCHOR = b'  File "'
"""A headerless SyntaxError starts with a ``File`` line; after a prefix, anywhere."""
MAX_STREAMS = 1000
"""Streams with a parser at once; past it, streams at rest are forgotten (a syslog file
where every cron job has its own pid must not grow memory without bound)."""
_ESCAPED_NEWLINE = "#012"
_ESCAPED_TAB = "#011"


class _Line:
    """One line of the shared lookback: raw until framed."""

    __slots__ = ("key", "raw", "seq", "text")

    def __init__(self, seq: int, raw: str, key: str | None = None, text: str = "") -> None:
        self.seq = seq
        self.raw = raw
        self.key = key
        self.text = text


Resolver = Callable[[_Line], None]
"""Frames a raw line in place (its stream and text), in order."""


class SharedLookback:
    """The last :data:`LOOKBACK` lines of a source, each with its stream's key."""

    def __init__(self, resolve: Resolver) -> None:
        self._lines: deque[_Line] = deque(maxlen=LOOKBACK)
        self._resolve = resolve
        self._raw = False

    def add(self, seq: int, key: str, text: str) -> None:
        """One more line of stream ``key``, already framed."""
        self._lines.append(_Line(seq, "", key, text))

    def add_raw(self, lines: list[tuple[int, str]]) -> None:
        """Lines read in bulk, framed only if a traceback asks for them."""
        self._lines.extend(_Line(seq, raw) for seq, raw in lines)
        self._raw = True

    def settle(self) -> None:
        """Frame the raw lines, oldest first."""
        if self._raw:
            self._raw = False
            for line in self._lines:
                if line.key is None:
                    self._resolve(line)

    def state(self) -> tuple[tuple[str | None, str], ...]:
        """The last lines, each with its stream, framed."""
        self.settle()
        return tuple((line.key, line.text) for line in self._lines)

    def texts(self, key: str) -> list[str]:
        """The lines of one stream among the last ones, oldest first."""
        self.settle()
        return [line.text for line in self._lines if line.key == key]

    def forget(self, key: str) -> None:
        """Drop one stream's lines (its traceback opened or closed: they are used)."""
        self.settle()
        if any(line.key == key for line in self._lines):
            kept = [line for line in self._lines if line.key != key]
            self._lines.clear()
            self._lines.extend(kept)


class StreamLookback:
    """One stream's view of the shared lines, as its parser uses a deque."""

    def __init__(self, demux: Demux, key: str) -> None:
        self._demux = demux
        self._shared = demux.shared
        self._key = key

    def append(self, line: str, /) -> None:
        self._shared.add(self._demux.seq, self._key, line)

    def extend(self, lines: Iterable[str], /) -> None:
        for line in lines:
            self.append(line)

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
            lookback=StreamLookback(demux, key),
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
        self.shared = SharedLookback(self._resolve)
        self.streams: dict[str, _Stream] = {}
        self.open: set[str] = set()
        """Keys of the streams with a traceback open."""
        self.line_no: int | None = 0 if count_lines else None
        self.seq = 0
        """Number of the current line (framed lines and lines kept from a skip)."""
        self._position = (0, "", 0)
        """(line number, stream, prefix width) of the last line that carried the prefix:
        a line without it continues that stream, under that width (journald)."""
        self._continued = framer.multi and framer.continued
        self._last: str | None = None
        """The stream of the last line read."""
        self._heads: dict[str, tuple[int, str]] = {}
        """Per stream, the last line that carried its prefix (what a traceback's prefix
        says comes from there: its own line, or the line its entry began with)."""

    def context(self, key: str) -> PrefixContext | None:
        """What the prefix of stream ``key``'s current line says."""
        self.shared.settle()
        head = self._heads.get(key)
        return self.framer.context(head[1]) if head else None

    def rest_state(self) -> tuple[object, ...] | None:
        """With no traceback open in any stream, all that decides how the next lines are
        read: the last lines, each with its stream, and where lines without the prefix
        go (journald's continued entries: the stream, width and line of the last prefix);
        None while a traceback is open."""
        if self.open:
            return None
        lines = self.shared.state()
        if not self.framer.continued:
            return lines
        _, key, width = self._position
        head = self._heads.get(key)
        return lines, key, width, head[1] if head is not None else None

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
                source=self.source,
                clock=self._clock,
                host=self.host,
            )
            self.streams[key] = stream
        return stream

    def _frame(self, seq: int, raw: str) -> tuple[str, str, bool]:
        """(key, text, whether the line carried the prefix) of line number ``seq``."""
        framer = self.framer
        split = framer.split(raw)
        if split is not None:
            key = split[0]
            if seq > self._position[0]:
                self._position = (seq, key, framer.width)
            if seq > self._heads.get(key, (-1, ""))[0]:
                self._heads[key] = (seq, raw)
            return key, split[1], True
        if not framer.continued:
            return TOOL_STREAM, raw, False
        # journald aligns the rest of a multi-line entry under the text of its first line.
        _, key, width = self._position
        text = raw[width:] if width and raw[:width].isspace() else raw
        return key, text, False

    def _resolve(self, line: _Line) -> None:
        line.key, line.text, _ = self._frame(line.seq, line.raw)

    def feed(self, data: Buffer, end: int) -> list[TracebackEvent]:
        """Read ``data[:end]``, complete lines."""
        search = searcher(data)
        out: list[TracebackEvent] = []
        multi = self.framer.multi
        header_at = file_at = -2  # -2: not searched yet; -1: none until the end
        nexts: dict[str, int] = {}
        # The last line's stream is open: the next line may continue it (journald's
        # entries go on under their first line), the last one of the previous read too.
        follow = self._last in self.open
        pos = 0
        while pos < end:
            if not (self.open and (follow or not multi)):
                if header_at == -2 or 0 <= header_at < pos:
                    header_at = search(HEADER_BYTES, pos, end)
                if file_at == -2 or 0 <= file_at < pos:
                    file_at = search(FILE_ANCHOR, pos, end)
                anchor = end
                for at in (header_at, file_at):
                    if at >= 0:
                        anchor = min(anchor, max(pos, data.rfind(b"\n", pos, at) + 1))
                for key in self.open:
                    nexts[key] = self._next_of(
                        key, data, search, pos, end, cached=nexts.get(key, -2)
                    )
                    anchor = min(anchor, nexts[key])
                if anchor > pos:
                    self._skip(data, pos, anchor)
                    pos = anchor
                    if pos >= end:
                        break
            newline = data.find(b"\n", pos, end)
            stop = newline if newline >= 0 else end
            key = self._last = self._line(decode_line(data[pos:stop]), out)
            follow = key in self.open
            pos = stop + 1
        return out

    def _line(self, raw: str, out: list[TracebackEvent]) -> str:
        if self._continued:
            self.shared.settle()  # the lines before this one say which stream it continues
        self.seq += 1
        key, text, prefixed = self._frame(self.seq, raw)
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
        kept = []
        for raw in last_lines(data, start, stop, LOOKBACK):
            self.seq += 1
            kept.append((self.seq, raw))
        self.shared.add_raw(kept)

    def _next_of(
        self, key: str, data: Buffer, search: Search, pos: int, end: int, *, cached: int
    ) -> int:
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
                    found = search(needle, max(at - 1, 0), end)
                    if found < 0:
                        return end
                    line_start = found + 1
            else:
                found = search(needle, at, end)
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
