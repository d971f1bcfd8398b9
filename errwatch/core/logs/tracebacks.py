"""Log lines -> Python traceback events.

One :class:`TracebackParser` per log file is fed line by line. Live following and
offline scans reach it through the same reader (:mod:`errwatch.core.logs.reader`), which
skips the lines that cannot start a traceback (:func:`is_anchor`) in bulk, so both
paths give the same events.

A traceback is emitted once its final exception is known and the block has ended: at
the next log record, when the writer has gone quiet (:meth:`TracebackParser.idle`), or
at the end of the input (:meth:`TracebackParser.finish`). A block cut off before its
exception line is emitted as incomplete, never dropped. Formats read: plain and chained
tracebacks, 3.11-3.13 caret lines and colours, ExceptionGroup boxes, SyntaxError without
a ``Traceback`` header, notes and multi-line messages, ``Exception in thread``,
``logging.exception`` records, a traceback escaped in a JSON line, and the tracebacks
of several writers interleaved line by line (every final exception counted, marked
uncertain; see :class:`~errwatch.core.logs.blocks.Mix`). A record inside a traceback
may be another writer's: the block waits for the next line to say whether it goes on.

A header may start mid-line (``^CTraceback (most recent call last):`` after Ctrl-C at a
prompt, ``failed to parse: Traceback (most recent call last):``, an ExceptionGroup box
after a prefix nobody knows): what comes before it is the block's margin, removed from
the lines that follow when they start with a text of the same shape (the same text, its
numbers aside: a formatter that indents a whole traceback, or a logger that repeats its
time and call site on every line). Frames pasted without their indentation
are read too. The parser works on one stream: a demultiplexing reader
(:mod:`errwatch.core.logs.demux`) gives each stream its own, with a shared view of the
lines before a traceback and the prefix of the line that opened it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from itertools import chain

from errwatch.core.logs.blocks import Block
from errwatch.core.logs.events import ExceptionInfo, Frame, TracebackEvent
from errwatch.core.logs.exgroups import BOX_START, box_closed
from errwatch.core.logs.lines import Buffer, last_lines, strip_ansi
from errwatch.core.logs.logrecords import RECORD, RecordContext, json_traceback, parse_record
from errwatch.core.logs.repeats import Repeat
from errwatch.core.logs.tbformat import (
    BOX_IN_LINE,
    HEADER,
    LOOKBACK,
    SYNTAX_FRAME,
    THREAD,
    ends_with_header,
    is_anchor,
    margin_shape,
)
from errwatch.core.logs.tbmachine import LineMachine, State

__all__ = [
    "HEADER",
    "LOOKBACK",
    "ExceptionInfo",
    "Frame",
    "RecordContext",
    "TracebackEvent",
    "TracebackParser",
    "is_anchor",
    "parse_lines",
    "parse_text",
]


ESCAPED_KEPT = 256
"""Tracebacks escaped in JSON records kept parsed (per parser), for their repeats."""


class TracebackParser(LineMachine):
    """Incremental parser for one log file; ``feed`` each line, collect events."""

    @property
    def at_rest(self) -> bool:
        """Whether no traceback is open: the next lines may be skipped up to an anchor."""
        return self._state is State.IDLE

    def rest_state(self) -> tuple[str, ...] | None:
        """At rest, all that decides how the next lines are read: the last lines seen
        (where a traceback's record is); None while a traceback is open."""
        if self._state is not State.IDLE:
            return None
        self.settle()
        return tuple(reversed(self._lookback))

    def feed(self, raw: str) -> list[TracebackEvent]:
        """Consume one line (without its newline); return the events it completed."""
        if self.line_no is not None:
            self.line_no += 1
        self.last_line_at = self._now()
        out: list[TracebackEvent] = []
        if self._state is State.IDLE and not is_anchor(raw):
            self._lookback.append(strip_ansi(raw))
        else:
            line = strip_ansi(raw)
            block = self._block
            margin = block.margin if block is not None else None
            if margin is not None and (found := margin.match(line)) is not None:
                line = line[found.end() :]
            self._step(line, out)
        return out

    def feed_many(self, lines: Iterable[str]) -> list[TracebackEvent]:
        """Consume many lines at once."""
        out: list[TracebackEvent] = []
        for raw in lines:
            out.extend(self.feed(raw))
        return out

    def skip(self, lines: list[str], count: int | None) -> None:
        """At rest: ``count`` lines without an anchor went by, ``lines`` being the last of
        them (at least the last :data:`LOOKBACK`). Same as feeding them one by one."""
        assert self._state is State.IDLE
        self._lookback.extend(strip_ansi(line) for line in lines[-LOOKBACK:])
        self._skipped(count)

    def skip_bytes(self, data: Buffer, start: int, stop: int, count: int | None) -> None:
        """:meth:`skip` for the lines of ``data[start:stop]`` (``stop`` is a line start),
        decoded only if a traceback asks for them; :meth:`settle` before ``data`` changes."""
        if self._recent is None:
            self.skip(last_lines(data, start, stop, LOOKBACK), count)
            return
        assert self._state is State.IDLE
        self._recent.defer(data, start, stop)
        self._skipped(count)

    def settle(self) -> None:
        """The buffer given to :meth:`skip_bytes` is about to change."""
        if self._recent is not None:
            self._recent.settle()

    def _skipped(self, count: int | None) -> None:
        self.line_no = None if count is None or self.line_no is None else self.line_no + count
        self.last_line_at = self._now()

    def wants_idle(self) -> bool:
        """Whether the open block would end if no more lines came (see :meth:`idle`)."""
        state = self._state
        block = self._block
        if state in (State.MESSAGE, State.AFTER_BOX, State.INTERRUPTED):
            return True
        if block is None:
            return False
        if state is State.MIXED:
            return block.mix is not None and not block.mix.waiting
        return state is State.BOX and box_closed(block.box[-1])

    def idle(self) -> list[TracebackEvent]:
        """The writer went quiet: a block that could end here ends (complete, or cut off)."""
        if not self.wants_idle():
            return []
        out: list[TracebackEvent] = []
        self._end(out)
        return out

    def expire(self, timeout: float) -> list[TracebackEvent]:
        """Close a block that has waited ``timeout`` seconds for its end."""
        if self._state is State.IDLE or self._now() - self.last_line_at < timeout:
            return []
        return self.finish()

    def finish(self) -> list[TracebackEvent]:
        """End of input: emit what is open (incomplete if its exception line never came)."""
        out: list[TracebackEvent] = []
        self._end(out)
        return out

    def _idle_line(self, line: str, out: list[TracebackEvent]) -> None:
        if line.startswith(HEADER):
            self._open(line, State.FRAMES)
        elif BOX_START.match(line):
            self._open(line, State.BOX)
            assert self._block is not None
            self._block.box.append(line)
        elif SYNTAX_FRAME.match(line):
            self._open(line, State.SYNTAX)
            assert self._block is not None
            self._block.add_frame(line)
        elif HEADER in line and self._json_line(line, out):
            self._lookback.clear()
        elif ends_with_header(line):
            box = BOX_IN_LINE.search(line)
            at = box.start() if box is not None else line.rindex(HEADER)
            margin = line[:at]
            if margin.strip():
                self._lookback.append(margin)  # it may be the record: "... ERROR x: Traceback"
            self._open(line, State.BOX if box is not None else State.FRAMES)
            assert self._block is not None
            self._block.margin = margin_shape(margin)
            if box is not None:
                self._block.box.append(line[at:])
        else:
            self._lookback.append(line)

    def repeat(self, repeat: Repeat) -> TracebackEvent:
        """At rest: the lines of a traceback of a known shape went by (see
        :mod:`~errwatch.core.logs.repeats`). Same as feeding them one by one."""
        assert self._state is State.IDLE
        if self.line_no is not None:
            self.line_no += 1
        start_line = self.line_no
        record, thread = self._opening()
        if self.line_no is not None:
            self.line_no += repeat.lines - 1
        now = self.last_line_at = self._now()
        chain = repeat.chain()
        final = chain[-1]
        return TracebackEvent(
            type=final.type,
            message=final.message,
            frames=final.frames,
            chain=chain,
            text=repeat.text(),
            source=self.source,
            line_no=start_line,
            arrived=now,
            record=record,
            thread=thread,
            stream=self.stream_of(None),
        )

    def _open(self, line: str, state: State) -> None:
        record, thread = self._opening()
        self._block = Block(self.line_no, record, thread)
        self._block.prefix = self._context() if self._context is not None else None
        self._block.keep(line)
        self._state = state

    def _opening(self) -> tuple[RecordContext | None, str | None]:
        """The record and thread a traceback opening now has (from the lines before it,
        which it uses up)."""
        lookback = self._lookback
        recent = reversed(lookback)  # newest first: most lines before it are never read
        last = next(recent, None)
        thread = THREAD.match(last) if last is not None else None
        record = None
        for prev in () if last is None else chain((last,), recent):
            if RECORD.match(prev):
                record = parse_record(prev)
                break
        if record is None and self._context is not None and last is not None and last.strip():
            # A stream of one process (a container, a unit): the line just before the
            # traceback is its record, even without a time of its own (the prefix has it).
            record = parse_record(last)
        lookback.clear()
        return record, (thread["thread"] if thread else None)

    def _abandon(self, more: list[str], out: list[TracebackEvent]) -> None:
        """A headerless ``File`` line that no SyntaxError followed: plain lines after all."""
        block = self._block
        assert block is not None
        self._block = None
        self._state = State.IDLE
        self._lookback.append(block.lines[0])
        for line in [*block.lines[1:], *more]:
            if is_anchor(line):
                self._step(line, out)
            else:
                self._lookback.append(line)

    def _json_line(self, line: str, out: list[TracebackEvent]) -> bool:
        """A JSON log record with a traceback in one of its fields."""
        found = json_traceback(line, HEADER)
        if found is None:
            return False
        context, text = found
        known = self._escaped.get(text)
        if known is None:  # the same traceback again: its parse is the same
            nested = TracebackParser(self.source, clock=self._now)
            known = (tuple(parse_lines(text.splitlines(), nested)), nested.incomplete)
            if len(self._escaped) >= ESCAPED_KEPT:
                del self._escaped[next(iter(self._escaped))]
            self._escaped[text] = known
        events, incomplete = known
        prefix = self._context() if self._context is not None else None
        stream = self.stream_of(prefix)
        now = self._now()
        out.extend(
            replace(
                event,
                line_no=self.line_no,
                arrived=now,
                record=context,
                prefix=prefix,
                stream=stream,
            )
            for event in events
        )
        self.incomplete += incomplete
        return True

    def _chain_of(self, lines: list[str]) -> list[ExceptionInfo]:
        return _chain_of(lines)


def parse_lines(
    lines: Iterable[str], parser: TracebackParser | None = None
) -> list[TracebackEvent]:
    """Every traceback in some lines, the input ending after them."""
    parser = parser if parser is not None else TracebackParser()
    events = parser.feed_many(lines)
    events.extend(parser.finish())
    return events


def parse_text(text: str, source: str = "") -> list[TracebackEvent]:
    """Every traceback in a whole text (line by line; see errwatch.core.logs.scan for files)."""
    return parse_lines(text.splitlines(), TracebackParser(source))


def _chain_of(lines: list[str]) -> list[ExceptionInfo]:
    """The chain of one part of an ExceptionGroup box (it may lack its header)."""
    first = next((line for line in lines if line.strip()), "")
    if not first.startswith(HEADER):
        lines = [HEADER, *lines]  # a sub-exception that was never raised has no traceback
    events = parse_lines(lines)
    return list(events[0].chain) if events else []
