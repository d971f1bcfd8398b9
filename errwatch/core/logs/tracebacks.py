"""Log lines -> Python traceback events.

One :class:`TracebackParser` per log file is fed line by line. Live following and
offline scans reach it through the same reader (:mod:`errwatch.core.logs.scan`), which
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

import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from enum import Enum, auto
from typing import TYPE_CHECKING, Protocol

from errwatch.core.logs.blocks import Block, Mix, reached_carets
from errwatch.core.logs.events import CAUSE, CONTEXT, ExceptionInfo, Frame, TracebackEvent
from errwatch.core.logs.exgroups import BOX_START, IN_BOX, box_closed, read_box
from errwatch.core.logs.lines import strip_ansi
from errwatch.core.logs.logrecords import RECORD, RecordContext, json_traceback, parse_record
from errwatch.core.logs.tbformat import (
    BOX_IN_LINE,
    EXCEPTION,
    EXCEPTION_NAME,
    FRAME,
    HEADER,
    HELD_LINES,
    LOOKBACK,
    MAX_BLOCK_CHARS,
    MAX_MESSAGE_LINES,
    REPEATED,
    SOURCE_NOISE,
    SYNTAX_FRAME,
    SYNTAX_LINES,
    SYNTAX_TYPES,
    THREAD,
    ends_with_header,
    is_anchor,
    margin_shape,
)

if TYPE_CHECKING:
    from errwatch.core.logs.framing import PrefixContext

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


class Lookback(Protocol):
    """The lines seen before a traceback (a deque, or a stream's view of shared lines)."""

    def append(self, line: str, /) -> None: ...
    def extend(self, lines: Iterable[str], /) -> None: ...
    def clear(self) -> None: ...
    def __len__(self) -> int: ...
    def __getitem__(self, index: int, /) -> str: ...
    def __reversed__(self) -> Iterator[str]: ...


class _State(Enum):
    IDLE = auto()
    FRAMES = auto()  # after a header: frames and source lines
    MESSAGE = auto()  # after the exception line: message lines, notes
    CHAINED = auto()  # after "The above exception..." / "During handling..."
    BOX = auto()  # inside an ExceptionGroup box
    AFTER_BOX = auto()  # the box ended: only a chain message may follow
    INTERRUPTED = auto()  # a record inside a traceback: cut off, or another writer's?
    SYNTAX = auto()  # a headerless `File` line: a SyntaxError, if one follows
    MIXED = auto()  # several writers' tracebacks interleaved: counted (blocks.Mix)


class TracebackParser:
    """Incremental parser for one log file; ``feed`` each line, collect events."""

    def __init__(
        self,
        source: str = "",
        *,
        clock: Callable[[], float] = time.time,
        lookback: Lookback | None = None,
        context: Callable[[], PrefixContext | None] | None = None,
        host: str = "",
    ) -> None:
        self.source = source
        self.host = host
        self.line_no: int | None = 0
        self._now = clock
        self._state = _State.IDLE
        self._block: Block | None = None
        self._lookback: Lookback = lookback if lookback is not None else deque(maxlen=LOOKBACK)
        self._context = context
        self._resume = _State.FRAMES
        """The state an interrupted block goes back to if it goes on."""
        self.last_line_at = 0.0
        self.incomplete = 0

    @property
    def at_rest(self) -> bool:
        """Whether no traceback is open: the next lines may be skipped up to an anchor."""
        return self._state is _State.IDLE

    def feed(self, raw: str) -> list[TracebackEvent]:
        """Consume one line (without its newline); return the events it completed."""
        if self.line_no is not None:
            self.line_no += 1
        self.last_line_at = self._now()
        out: list[TracebackEvent] = []
        if self._state is _State.IDLE and not is_anchor(raw):
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
        assert self._state is _State.IDLE
        self._lookback.extend(strip_ansi(line) for line in lines[-LOOKBACK:])
        self.line_no = None if count is None or self.line_no is None else self.line_no + count
        self.last_line_at = self._now()

    def wants_idle(self) -> bool:
        """Whether the open block would end if no more lines came (see :meth:`idle`)."""
        state = self._state
        block = self._block
        if state in (_State.MESSAGE, _State.AFTER_BOX, _State.INTERRUPTED):
            return True
        if block is None:
            return False
        if state is _State.MIXED:
            return block.mix is not None and not block.mix.waiting
        return state is _State.BOX and box_closed(block.box[-1])

    def idle(self) -> list[TracebackEvent]:
        """The writer went quiet: a block that could end here ends (complete, or cut off)."""
        if not self.wants_idle():
            return []
        out: list[TracebackEvent] = []
        self._end(out)
        return out

    def expire(self, timeout: float) -> list[TracebackEvent]:
        """Close a block that has waited ``timeout`` seconds for its end."""
        if self._state is _State.IDLE or self._now() - self.last_line_at < timeout:
            return []
        return self.finish()

    def finish(self) -> list[TracebackEvent]:
        """End of input: emit what is open (incomplete if its exception line never came)."""
        out: list[TracebackEvent] = []
        self._end(out)
        return out

    def _end(self, out: list[TracebackEvent]) -> None:
        block = self._block
        state = self._state
        if block is None:
            return
        if state is _State.SYNTAX:
            if reached_carets(block):
                self._close(out, complete=False)
            else:
                self._abandon([], out)
        elif state is _State.INTERRUPTED:
            held, block.held = block.held, []
            self._state = self._resume
            self._end(out)
            for line in held:
                self._step(line, out)
        elif state is _State.BOX:
            closed = box_closed(block.box[-1])
            self._end_box()
            self._close(out, complete=closed)
        elif state is _State.CHAINED:
            self._unchain()
            self._close(out, complete=False)
        else:
            self._close(out, complete=state in (_State.MESSAGE, _State.AFTER_BOX))

    # -- the state machine ---------------------------------------------------------

    def _step(self, line: str, out: list[TracebackEvent]) -> None:
        handler = _HANDLERS[self._state]
        handler(self, line, out)

    def _idle_line(self, line: str, out: list[TracebackEvent]) -> None:
        if line.startswith(HEADER):
            self._open(line, _State.FRAMES)
        elif BOX_START.match(line):
            self._open(line, _State.BOX)
            assert self._block is not None
            self._block.box.append(line)
        elif SYNTAX_FRAME.match(line):
            self._open(line, _State.SYNTAX)
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
            self._open(line, _State.BOX if box is not None else _State.FRAMES)
            assert self._block is not None
            self._block.margin = margin_shape(margin)
            if box is not None:
                self._block.box.append(line[at:])
        else:
            self._lookback.append(line)

    def _open(self, line: str, state: _State) -> None:
        lookback = self._lookback
        thread = THREAD.match(lookback[-1]) if lookback else None
        record = next(
            (parse_record(prev) for prev in reversed(lookback) if RECORD.match(prev)), None
        )
        if record is None and self._context is not None and lookback and lookback[-1].strip():
            # A stream of one process (a container, a unit): the line just before the
            # traceback is its record, even without a time of its own (the prefix has it).
            record = parse_record(lookback[-1])
        lookback.clear()
        self._block = Block(self.line_no, record, thread.group("thread") if thread else None)
        self._block.prefix = self._context() if self._context is not None else None
        self._block.keep(line)
        self._state = state

    def _frame_line(self, line: str, out: list[TracebackEvent]) -> None:
        block = self._block
        assert block is not None
        if line[:1] in (" ", "\t"):
            block.keep(line)
            block.add_frame(line)
            return
        stripped = line.strip()
        if not stripped or REPEATED.match(line):
            block.keep(line)
            return
        if (
            (line.startswith("File ") and FRAME.match(line))
            or self._flat_source(line)
            or (block.flat and SOURCE_NOISE.match(line))
        ):
            block.flat = True
            block.keep(line)
            block.add_frame(line)
            return
        if line.startswith(HEADER) or stripped in (CAUSE, CONTEXT):
            # Another writer's traceback is printed line by line among ours.
            block.mix = Mix()
            self._state = _State.MIXED
            self._mixed_line(line, out)
            return
        exception = EXCEPTION.match(line)
        if exception and not RECORD.match(line):
            self._exception_line(line, exception)
            return
        if _foreign(line):
            self._hold(line)
            return
        # Anything else: the block was cut off (a new record, another kind of line).
        self._close(out, complete=False)
        self._step(line, out)

    def _flat_source(self, line: str) -> bool:
        """In a traceback pasted without indentation, the source line under a frame."""
        block = self._block
        assert block is not None
        if not block.flat or not block.lines or not FRAME.match(block.lines[-1]):
            return False
        exception = EXCEPTION.match(line)
        if exception is None:
            return not RECORD.match(line)
        return exception.group("message") is None and not EXCEPTION_NAME.search(
            exception.group("type")
        )

    def _exception_line(self, line: str, exception: re.Match[str]) -> None:
        block = self._block
        assert block is not None
        block.keep(line)
        block.exc_type, block.message = exception["type"], [exception["message"] or ""]
        self._state = _State.MESSAGE

    def _syntax_line(self, line: str, out: list[TracebackEvent]) -> None:
        block = self._block
        assert block is not None
        exception = EXCEPTION.match(line)
        if exception and exception.group("type") in SYNTAX_TYPES:
            self._exception_line(line, exception)
        elif (
            line[:1] == " " and not line.startswith("  File ") and len(block.lines) <= SYNTAX_LINES
        ):
            self._frame_line(line, out)
        elif reached_carets(block):  # a SyntaxError cut off by the next record
            self._close(out, complete=False)
            self._step(line, out)
        else:
            self._abandon([line], out)

    def _abandon(self, more: list[str], out: list[TracebackEvent]) -> None:
        """A headerless ``File`` line that no SyntaxError followed: plain lines after all."""
        block = self._block
        assert block is not None
        self._block = None
        self._state = _State.IDLE
        self._lookback.append(block.lines[0])
        for line in [*block.lines[1:], *more]:
            if is_anchor(line):
                self._step(line, out)
            else:
                self._lookback.append(line)

    def _hold(self, line: str) -> None:
        """A record inside a traceback: the next line says whether the block goes on."""
        assert self._block is not None
        self._block.held.append(line)
        self._resume = self._state
        self._state = _State.INTERRUPTED

    def _interrupted_line(self, line: str, out: list[TracebackEvent]) -> None:
        block = self._block
        assert block is not None
        if _foreign(line) and len(block.held) < HELD_LINES:
            block.held.append(line)  # the records of several other writers, one after another
            return
        held, block.held = block.held, []
        resume = self._resume
        if resume is _State.CHAINED:
            resumes = bool(line.startswith(HEADER) or BOX_START.match(line))
        elif resume is _State.MIXED:  # all ended, but one of them may be a chain's cause
            resumes = line.strip() in ("", CAUSE, CONTEXT)
        else:
            resumes = (
                line[:1] in (" ", "\t")
                or line.strip() in ("", CAUSE, CONTEXT)
                or line.startswith(HEADER)
                or (EXCEPTION.match(line) is not None and not RECORD.match(line))
            )
        self._state = resume
        if resumes:
            # Another writer's record landed inside our traceback: keep going, but the
            # frames of the block may now be a mix.
            for item in held:
                block.keep(item)
            block.mixed = True
            self._step(line, out)
            return
        self._end(out)  # cut off: closed as the end of the input would close it
        for item in [*held, line]:
            self._step(item, out)

    def _message_line(self, line: str, out: list[TracebackEvent]) -> None:
        block = self._block
        assert block is not None
        stripped = line.strip()
        if stripped in (CAUSE, CONTEXT):
            self._chain(line, "cause" if stripped == CAUSE else "context")
            return
        if (
            line.startswith(HEADER)
            or ends_with_header(line)
            or BOX_START.match(line)
            or _foreign(line)
            or SYNTAX_FRAME.match(line)
        ):
            self._close(out, complete=True)
            self._step(line, out)
            return
        if not stripped:
            block.pending_blank += 1
            return
        if len(block.message) >= MAX_MESSAGE_LINES or block.chars > MAX_BLOCK_CHARS:
            self._close(out, complete=True)
            self._step(line, out)
            return
        # Multi-line message or add_note() lines: they belong to the exception.
        for _ in range(block.pending_blank):
            block.keep("")
            block.message.append("")
        block.pending_blank = 0
        block.keep(line)
        block.message.append(line)

    def _chain(self, line: str, relation: str) -> None:
        block = self._block
        assert block is not None
        block.done.append(replace(block.current(), relation=relation))
        for _ in range(block.pending_blank):
            block.keep("")
        block.keep(line)
        block.frames, block.exc_type, block.message, block.group = [], "", [], ()
        block.pending_blank = 0
        self._state = _State.CHAINED

    def _chained_line(self, line: str, out: list[TracebackEvent]) -> None:
        block = self._block
        assert block is not None
        if not line.strip():
            block.keep(line)
        elif line.startswith(HEADER):
            block.keep(line)
            self._state = _State.FRAMES
        elif BOX_START.match(line):
            block.keep(line)
            block.box = [line]
            self._state = _State.BOX
        elif _foreign(line):
            self._hold(line)
        else:
            # A separator with nothing after it: keep what the chain holds so far.
            self._unchain()
            self._close(out, complete=False)
            self._step(line, out)

    def _unchain(self) -> None:
        block = self._block
        assert block is not None
        if block.done:
            last = block.done.pop()
            block.frames, block.exc_type = list(last.frames), last.type
            block.message, block.group = [last.message], last.group

    def _box_line(self, line: str, out: list[TracebackEvent]) -> None:
        block = self._block
        assert block is not None
        if IN_BOX.match(line):
            block.box.append(line)
            block.keep(line)
            return
        self._end_box()
        self._state = _State.AFTER_BOX
        self._step(line, out)

    def _end_box(self) -> None:
        block = self._block
        assert block is not None
        info = read_box(block.box, _chain_of)
        block.box = []
        if info is not None:
            block.exc_type, block.message = info.type, [info.message]
            block.frames, block.group = list(info.frames), info.group

    def _after_box_line(self, line: str, out: list[TracebackEvent]) -> None:
        block = self._block
        assert block is not None
        stripped = line.strip()
        if not stripped:
            block.pending_blank += 1
        elif stripped in (CAUSE, CONTEXT):
            self._chain(line, "cause" if stripped == CAUSE else "context")
        else:
            self._close(out, complete=bool(block.exc_type))
            self._step(line, out)

    def _mixed_line(self, line: str, out: list[TracebackEvent]) -> None:
        block = self._block
        assert block is not None and block.mix is not None
        mix = block.mix
        stripped = line.strip()
        explained = True
        if stripped in (CAUSE, CONTEXT):
            mix.separator()
        elif line.startswith(HEADER):
            if not mix.header():  # nothing waits for it: a traceback after the block
                self._close(out, complete=True)
                self._step(line, out)
                return
        elif line[:1] in (" ", "\t"):
            block.add_frame(line)
        elif not stripped:
            if not mix.waiting:
                block.pending_blank += 1  # part of a message if more of it follows
                return
        elif _foreign(line):
            if not mix.waiting:
                self._hold(line)  # the block ends here, unless a chain goes on after it
                return
            explained = False  # another writer's record, before its traceback
        else:
            exception = EXCEPTION.match(line)
            explained = exception is not None and mix.exception(
                exception["type"], exception["message"] or ""
            )
        mix.strays = 0 if explained else mix.strays + 1
        if not explained and (
            (not mix.waiting and (ends_with_header(line) or SYNTAX_FRAME.match(line)))
            or mix.strays > MAX_MESSAGE_LINES
        ):
            self._close(out, complete=True)
            self._step(line, out)
            return
        blanks = [""] * block.pending_blank
        block.pending_blank = 0
        if not explained:
            mix.message([*blanks, line])
        for kept in [*blanks, line]:
            block.keep(kept)

    def _json_line(self, line: str, out: list[TracebackEvent]) -> bool:
        """A JSON log record with a traceback in one of its fields."""
        found = json_traceback(line, HEADER)
        if found is None:
            return False
        context, text = found
        nested = TracebackParser(self.source, clock=self._now)
        prefix = self._context() if self._context is not None else None
        stream = self.stream_of(prefix)
        for event in parse_lines(text.splitlines(), nested):
            out.append(
                replace(event, line_no=self.line_no, record=context, prefix=prefix, stream=stream)
            )
        self.incomplete += nested.incomplete
        return True

    def stream_of(self, prefix: PrefixContext | None) -> str:
        """Where a traceback came from, as shown: the prefix's stream (on its host), else
        the host, else the source."""
        if prefix is not None and prefix.stream:
            return f"{self.host}/{prefix.stream}" if self.host else prefix.stream
        return self.host or self.source

    def _close(self, out: list[TracebackEvent], *, complete: bool) -> None:
        block = self._block
        assert block is not None
        events = block.events(
            complete=complete,
            source=self.source,
            stream=self.stream_of(block.prefix),
            now=self._now(),
        )
        self.incomplete += sum(not event.complete for event in events)
        out.extend(events)
        self._block = None
        self._state = _State.IDLE
        self._lookback.clear()


_HANDLERS: dict[_State, Callable[[TracebackParser, str, list[TracebackEvent]], None]] = {
    _State.IDLE: TracebackParser._idle_line,
    _State.FRAMES: TracebackParser._frame_line,
    _State.MESSAGE: TracebackParser._message_line,
    _State.CHAINED: TracebackParser._chained_line,
    _State.BOX: TracebackParser._box_line,
    _State.AFTER_BOX: TracebackParser._after_box_line,
    _State.INTERRUPTED: TracebackParser._interrupted_line,
    _State.SYNTAX: TracebackParser._syntax_line,
    _State.MIXED: TracebackParser._mixed_line,
}


def _foreign(line: str) -> bool:
    """A line another writer may have put inside a traceback: a log record, or the
    ``Exception in thread`` line that introduces another thread's traceback."""
    return bool(RECORD.match(line) or THREAD.match(line))


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
