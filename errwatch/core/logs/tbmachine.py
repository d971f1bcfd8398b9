"""The traceback parser's state machine: what each line does to an open block.

:class:`LineMachine` holds one block at a time (:class:`~errwatch.core.logs.blocks.Block`)
and moves it on line by line, state by state, until it ends and becomes events. How
a block opens (lines at rest, the record before it, a traceback escaped in JSON) and
the public interface are :class:`~errwatch.core.logs.tracebacks.TracebackParser`'s.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from enum import IntEnum, auto
from typing import TYPE_CHECKING, Protocol

from errwatch.core.logs.blocks import Block, Mix, reached_carets
from errwatch.core.logs.events import CAUSE, CONTEXT, ExceptionInfo, TracebackEvent
from errwatch.core.logs.exgroups import BOX_START, IN_BOX, box_closed, read_box
from errwatch.core.logs.lines import RecentLines
from errwatch.core.logs.logrecords import RECORD
from errwatch.core.logs.tbformat import (
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
    chain_separator,
    ends_traceback,
    ends_with_header,
)

if TYPE_CHECKING:
    from errwatch.core.logs.framing import PrefixContext


class Lookback(Protocol):
    """The lines seen before a traceback (a deque, or a stream's view of shared lines)."""

    def append(self, line: str, /) -> None: ...
    def extend(self, lines: Iterable[str], /) -> None: ...
    def clear(self) -> None: ...
    def __len__(self) -> int: ...
    def __getitem__(self, index: int, /) -> str: ...
    def __reversed__(self) -> Iterator[str]: ...


class State(IntEnum):  # an int's hash: the handler of each line is looked up by state
    IDLE = auto()
    FRAMES = auto()  # after a header: frames and source lines
    MESSAGE = auto()  # after the exception line: message lines, notes
    CHAINED = auto()  # after "The above exception..." / "During handling..."
    BOX = auto()  # inside an ExceptionGroup box
    AFTER_BOX = auto()  # the box ended: only a chain message may follow
    INTERRUPTED = auto()  # a record inside a traceback: cut off, or another writer's?
    SYNTAX = auto()  # a headerless `File` line: a SyntaxError, if one follows
    MIXED = auto()  # several writers' tracebacks interleaved: counted (blocks.Mix)


class LineMachine:
    """One block at a time, moved on line by line (see :class:`TracebackParser`)."""

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
        self._state = State.IDLE
        self._block: Block | None = None
        self._recent: RecentLines | None = None
        """The lines before a traceback, when no one else keeps them (a demultiplexer does)."""
        if lookback is None:
            lookback = self._recent = RecentLines(LOOKBACK)
        self._lookback: Lookback = lookback
        self._context = context
        self._resume = State.FRAMES
        """The state an interrupted block goes back to if it goes on."""
        self.last_line_at = 0.0
        self.incomplete = 0
        self._escaped: dict[str, tuple[tuple[TracebackEvent, ...], int]] = {}
        """Tracebacks escaped in JSON records, parsed, for their repeats (by their text)."""

    def _end(self, out: list[TracebackEvent]) -> None:
        block = self._block
        state = self._state
        if block is None:
            return
        if state is State.SYNTAX:
            if reached_carets(block):
                self._close(out, complete=False)
            else:
                self._abandon([], out)
        elif state is State.INTERRUPTED:
            held, block.held = block.held, []
            self._state = self._resume
            self._end(out)
            for line in held:
                self._step(line, out)
        elif state is State.BOX:
            closed = box_closed(block.box[-1])
            self._end_box()
            self._close(out, complete=closed)
        elif state is State.CHAINED:
            self._unchain()
            self._close(out, complete=False)
        else:
            self._close(out, complete=state in (State.MESSAGE, State.AFTER_BOX))

    # -- the state machine ---------------------------------------------------------

    def _step(self, line: str, out: list[TracebackEvent]) -> None:
        handler = _HANDLERS[self._state]
        handler(self, line, out)

    def _frame_line(self, line: str, out: list[TracebackEvent]) -> None:
        block = self._block
        assert block is not None
        if line[:1] in (" ", "\t"):
            if line[1:2] not in (" ", "\t") and block.frames and self._outdented(line):
                return
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
            self._state = State.MIXED
            self._mixed_line(line, out)
            return
        exception = EXCEPTION.match(line)
        if exception and ends_traceback(line, exception) and not RECORD.match(line):
            self._exception_line(line, exception)
            return
        if foreign(line):
            self._hold(line)
            return
        # Anything else: the block was cut off (a new record, another kind of line).
        self._close(out, complete=False)
        self._step(line, out)

    def _outdented(self, line: str) -> bool:
        """An exception line one column in, under frames two columns in: a paste whose
        indentation drifts (``     KeyError: 'x'`` in a code block indented by four)."""
        exception = EXCEPTION.match(line[1:])
        if (
            exception is None
            or exception["message"] is None
            or not EXCEPTION_NAME.search(exception["type"])
            or RECORD.match(line[1:])
        ):
            return False
        self._exception_line(line, exception)
        return True

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
        self._state = State.MESSAGE

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

    def _hold(self, line: str) -> None:
        """A record inside a traceback: the next line says whether the block goes on."""
        assert self._block is not None
        self._block.held.append(line)
        self._resume = self._state
        self._state = State.INTERRUPTED

    def _interrupted_line(self, line: str, out: list[TracebackEvent]) -> None:
        block = self._block
        assert block is not None
        if foreign(line) and len(block.held) < HELD_LINES:
            block.held.append(line)  # the records of several other writers, one after another
            return
        held, block.held = block.held, []
        resume = self._resume
        if resume is State.CHAINED:
            resumes = bool(line.startswith(HEADER) or BOX_START.match(line))
        elif resume is State.MIXED:  # all ended, but one of them may be a chain's cause
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
        relation = chain_separator(stripped, CAUSE, CONTEXT)
        if relation is not None:
            self._chain(line, relation)
            return
        if ends_message(line):
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
        self._state = State.CHAINED

    def _chained_line(self, line: str, out: list[TracebackEvent]) -> None:
        block = self._block
        assert block is not None
        if not line.strip():
            block.keep(line)
        elif line.startswith(HEADER):
            block.keep(line)
            self._state = State.FRAMES
        elif BOX_START.match(line):
            block.keep(line)
            block.box = [line]
            self._state = State.BOX
        elif foreign(line):
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
        self._state = State.AFTER_BOX
        self._step(line, out)

    def _end_box(self) -> None:
        block = self._block
        assert block is not None
        info = read_box(block.box, self._chain_of)
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
        elif foreign(line):
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
        self._state = State.IDLE
        self._lookback.clear()

    def _idle_line(self, line: str, out: list[TracebackEvent]) -> None:
        raise NotImplementedError

    def _abandon(self, more: list[str], out: list[TracebackEvent]) -> None:
        raise NotImplementedError

    def _chain_of(self, lines: list[str]) -> list[ExceptionInfo]:
        raise NotImplementedError


_HANDLERS: dict[State, Callable[[LineMachine, str, list[TracebackEvent]], None]] = {
    State.IDLE: lambda machine, line, out: machine._idle_line(line, out),
    State.FRAMES: LineMachine._frame_line,
    State.MESSAGE: LineMachine._message_line,
    State.CHAINED: LineMachine._chained_line,
    State.BOX: LineMachine._box_line,
    State.AFTER_BOX: LineMachine._after_box_line,
    State.INTERRUPTED: LineMachine._interrupted_line,
    State.SYNTAX: LineMachine._syntax_line,
    State.MIXED: LineMachine._mixed_line,
}


def ends_message(line: str) -> bool:
    """Whether a line after an exception line ends its traceback (no chain separator):
    the next traceback, a log record, another thread's."""
    return bool(
        foreign(line)  # most often: the next log record
        or line.startswith(HEADER)
        or ends_with_header(line)
        or BOX_START.match(line)
        or SYNTAX_FRAME.match(line)
    )


def foreign(line: str) -> bool:
    """A line another writer may have put inside a traceback: a log record, or the
    ``Exception in thread`` line that introduces another thread's traceback."""
    return bool(RECORD.match(line) or THREAD.match(line))
