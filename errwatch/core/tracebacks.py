"""Log text -> Python traceback events.

One :class:`TracebackParser` per log file is fed line by line (live following and
offline scans use the same parser, so they give the same events). A traceback is
emitted once its final exception line is known and the block has ended: at the next
log record, at the end of the data available now (:meth:`TracebackParser.idle`), or at
the end of the file (:meth:`TracebackParser.finish`). A block cut off before its
exception line is emitted as incomplete after a timeout (:meth:`TracebackParser.expire`)
or at the next record, never dropped.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, auto

HEADER = "Traceback (most recent call last):"
CAUSE = "The above exception was the direct cause of the following exception:"
CONTEXT = "During handling of the above exception, another exception occurred:"

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]*)", line (?P<line>\d+)(?:, in (?P<func>.+))?\s*$')
_EXCEPTION = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::(?: (?P<message>.*))?)?$")
_CARET = re.compile(r"^\s*[~^]+\s*$")
_REPEATED = re.compile(r"^\s*\[Previous line repeated (\d+) more times?\]\s*$")
_THREAD = re.compile(r"^Exception in thread (?P<thread>.+?):?\s*$")
# A line that starts a new log record: an ISO-like date, a bracketed date (gunicorn),
# logging's basic "LEVEL:logger:" form, a werkzeug/combined access line, or syslog.
_RECORD = re.compile(
    r"^(?:\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"
    r"|(?:DEBUG|INFO|WARNING|ERROR|CRITICAL|FATAL)[:\s]"
    r"|\d{1,3}(?:\.\d{1,3}){3} - \S+ \["
    r"|[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} )"
)
_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}:\d{2})(?:[,.](?P<frac>\d{1,6}))?"
)
_LEVEL = re.compile(r"\b(DEBUG|INFO|WARNING|ERROR|CRITICAL|FATAL)\b")
_LOGGER = re.compile(r"\[(?P<logger>[\w.\-]+)\]|(?:ERROR|CRITICAL|WARNING):(?P<basic>[\w.\-]+):")
_FLASK = re.compile(r"Exception on (?P<route>\S+) \[(?P<method>[A-Z]+)\]")
_GUNICORN = re.compile(r"Error handling request (?:(?P<method>[A-Z]+) )?(?P<route>/\S*)")
_INJECTION = re.compile(r"X-Errwatch-Injection: (?P<run>[\w\-]+)")


def strip_ansi(line: str) -> str:
    """Remove terminal colour codes (Python 3.13 with FORCE_COLOR, werkzeug's access log)."""
    return _ANSI.sub("", line) if "\x1b" in line else line


@dataclass(frozen=True, slots=True)
class Frame:
    """One ``File "...", line N, in function`` entry and its source line."""

    file: str
    line: int
    function: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class ExceptionInfo:
    """One exception of a chain: its type, message and frames."""

    type: str
    message: str
    frames: tuple[Frame, ...] = ()
    relation: str = ""
    """How the NEXT exception relates to this one: "cause", "context" or "" for the last."""


@dataclass(frozen=True, slots=True)
class RecordContext:
    """What the log record introducing a traceback says: when, how bad, where from."""

    line: str
    timestamp: float | None = None
    logged_at: str | None = None
    level: str | None = None
    logger: str | None = None
    route: str | None = None
    method: str | None = None
    injection: str | None = None


@dataclass(frozen=True, slots=True)
class TracebackEvent:
    """One traceback: the final exception, its chain, where it came from."""

    type: str
    message: str
    frames: tuple[Frame, ...]
    chain: tuple[ExceptionInfo, ...]
    """Every exception of the block, oldest first; the last one is the final exception."""
    text: str
    source: str
    line_no: int
    arrived: float
    record: RecordContext | None = None
    complete: bool = True
    thread: str | None = None

    @property
    def seen_at(self) -> float:
        """The log's timestamp when there is one, else the arrival time."""
        if self.record is not None and self.record.timestamp is not None:
            return self.record.timestamp
        return self.arrived


def parse_record(line: str) -> RecordContext:
    """Time, level, logger, route and injection run in a log record's first line."""
    context = RecordContext(line=line)
    stamp = _TIMESTAMP.search(line)
    timestamp = logged_at = None
    if stamp:
        logged_at = stamp.group(0)
        frac = (stamp.group("frac") or "0").ljust(6, "0")
        try:
            parsed = time.strptime(
                f"{stamp.group('date')} {stamp.group('time')}", "%Y-%m-%d %H:%M:%S"
            )
            timestamp = time.mktime(parsed) + int(frac) / 1e6
        except (ValueError, OverflowError):
            timestamp = None
    level = _LEVEL.search(line)
    logger = _LOGGER.search(line)
    route = _FLASK.search(line) or _GUNICORN.search(line)
    injection = _INJECTION.search(line)
    return RecordContext(
        line=context.line,
        timestamp=timestamp,
        logged_at=logged_at,
        level=level.group(1) if level else None,
        logger=(logger.group("logger") or logger.group("basic")) if logger else None,
        route=route.group("route") if route else None,
        method=route.group("method") if route else None,
        injection=injection.group("run") if injection else None,
    )


class _State(Enum):
    IDLE = auto()
    FRAMES = auto()
    MESSAGE = auto()
    CHAINED = auto()


@dataclass(slots=True)
class _Block:
    start_line: int
    record: RecordContext | None
    thread: str | None
    lines: list[str] = field(default_factory=list)
    done: list[ExceptionInfo] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    exc_type: str = ""
    message: list[str] = field(default_factory=list)
    pending_blank: int = 0


class TracebackParser:
    """Incremental parser for one log file; ``feed`` each line, collect events."""

    def __init__(self, source: str = "", *, clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self.line_no = 0
        self._now = clock
        self._state = _State.IDLE
        self._block: _Block | None = None
        self._record: RecordContext | None = None
        self._record_line = 0
        self._thread: str | None = None
        self._last_line_at = 0.0
        self.incomplete = 0

    @property
    def in_block(self) -> bool:
        """Whether a traceback is open (started, not yet emitted)."""
        return self._block is not None

    def feed(self, raw: str) -> list[TracebackEvent]:
        """Consume one line (without its newline); return the events it completed."""
        self.line_no += 1
        self._last_line_at = self._now()
        line = strip_ansi(raw)
        out: list[TracebackEvent] = []
        self._step(line, out)
        return out

    def feed_many(self, lines: list[str]) -> list[TracebackEvent]:
        """Consume many lines at once."""
        out: list[TracebackEvent] = []
        now = self._now()
        self._last_line_at = now
        for raw in lines:
            self.line_no += 1
            self._step(strip_ansi(raw), out)
        return out

    def idle(self) -> list[TracebackEvent]:
        """No more data for now: a block whose exception line is known ends here."""
        if self._state is _State.MESSAGE:
            return [self._close(complete=True)]
        return []

    def expire(self, timeout: float) -> list[TracebackEvent]:
        """Close a block that has waited ``timeout`` seconds for its end, as incomplete."""
        if self._block is not None and self._now() - self._last_line_at >= timeout:
            return [self._close(complete=self._state is _State.MESSAGE)]
        return []

    def finish(self) -> list[TracebackEvent]:
        """End of input: emit what is open (incomplete if its exception line never came)."""
        if self._block is None:
            return []
        return [self._close(complete=self._state in (_State.MESSAGE, _State.CHAINED))]

    # -- the state machine ---------------------------------------------------------

    def _step(self, line: str, out: list[TracebackEvent]) -> None:
        state = self._state
        if state is _State.IDLE:
            self._idle_line(line)
        elif state is _State.FRAMES:
            self._frame_line(line, out)
        elif state is _State.MESSAGE:
            self._message_line(line, out)
        else:
            self._chained_line(line, out)

    def _idle_line(self, line: str) -> None:
        if line.startswith(HEADER):
            self._open()
            return
        thread = _THREAD.match(line)
        if thread:
            self._thread = thread.group("thread")
            self._record_line = self.line_no
            return
        if _RECORD.match(line):
            self._record = parse_record(line)
            self._record_line = self.line_no
            self._thread = None

    def _open(self) -> None:
        # The record (or "Exception in thread") must be the line just before, or close to it
        # with only message lines between: a record from long ago is not this traceback's.
        near = self.line_no - self._record_line <= 20
        record = self._record if near else None
        thread = self._thread if self.line_no - self._record_line == 1 else None
        self._block = _Block(start_line=self.line_no, record=record, thread=thread)
        self._block.lines.append(HEADER)
        self._state = _State.FRAMES

    def _frame_line(self, line: str, out: list[TracebackEvent]) -> None:
        block = self._block
        assert block is not None
        if line[:1] in (" ", "\t"):
            block.lines.append(line)
            frame = _FRAME.match(line)
            if frame:
                block.frames.append(
                    Frame(frame.group("file"), int(frame.group("line")), frame.group("func") or "?")
                )
            elif (
                block.frames
                and not block.frames[-1].source
                and not _CARET.match(line)
                and not _REPEATED.match(line)
            ):
                last = block.frames[-1]
                block.frames[-1] = Frame(last.file, last.line, last.function, line.strip())
            return
        if not line.strip():
            block.lines.append(line)
            return
        if _REPEATED.match(line):
            block.lines.append(line)
            return
        exception = _EXCEPTION.match(line)
        if exception and not _RECORD.match(line):
            block.lines.append(line)
            block.exc_type = exception.group("type")
            block.message = [exception.group("message") or ""]
            self._state = _State.MESSAGE
            return
        # Anything else: the block was cut off (a new record, another header).
        out.append(self._close(complete=False))
        self._step(line, out)

    def _message_line(self, line: str, out: list[TracebackEvent]) -> None:
        block = self._block
        assert block is not None
        stripped = line.strip()
        if stripped in (CAUSE, CONTEXT):
            block.done.append(
                ExceptionInfo(
                    block.exc_type,
                    _join(block.message),
                    tuple(block.frames),
                    "cause" if stripped == CAUSE else "context",
                )
            )
            block.lines.extend([""] * block.pending_blank)
            block.lines.append(line)
            block.frames, block.exc_type, block.message, block.pending_blank = [], "", [], 0
            self._state = _State.CHAINED
            return
        if line.startswith(HEADER) or _RECORD.match(line) or _THREAD.match(line):
            out.append(self._close(complete=True))
            self._step(line, out)
            return
        if not stripped:
            block.pending_blank += 1
            return
        # Multi-line message or add_note() lines: they belong to the exception.
        block.lines.extend([""] * block.pending_blank)
        block.message.extend([""] * block.pending_blank)
        block.pending_blank = 0
        block.lines.append(line)
        block.message.append(line)

    def _chained_line(self, line: str, out: list[TracebackEvent]) -> None:
        block = self._block
        assert block is not None
        if not line.strip():
            block.lines.append(line)
            return
        if line.startswith(HEADER):
            block.lines.append(line)
            self._state = _State.FRAMES
            return
        # A separator with nothing after it: keep what the chain holds so far.
        last = block.done.pop()
        block.frames, block.exc_type = list(last.frames), last.type
        block.message = [last.message]
        out.append(self._close(complete=False))
        self._step(line, out)

    def _close(self, *, complete: bool) -> TracebackEvent:
        block = self._block
        assert block is not None
        chain = list(block.done)
        if block.exc_type:
            chain.append(ExceptionInfo(block.exc_type, _join(block.message), tuple(block.frames)))
        final = (
            chain[-1] if chain else ExceptionInfo("<incomplete traceback>", "", tuple(block.frames))
        )
        if not complete:
            self.incomplete += 1
        event = TracebackEvent(
            type=final.type,
            message=final.message,
            frames=final.frames,
            chain=tuple(chain),
            text="\n".join(block.lines),
            source=self.source,
            line_no=block.start_line,
            arrived=self._now(),
            record=block.record,
            complete=complete,
            thread=block.thread,
        )
        self._block = None
        self._state = _State.IDLE
        self._record = None
        self._thread = None
        return event


def _join(message: list[str]) -> str:
    return "\n".join(message).rstrip()


def parse_text(text: str, source: str = "") -> list[TracebackEvent]:
    """Every traceback in a whole text (the bulk path; same parser as live following)."""
    parser = TracebackParser(source)
    events = parser.feed_many(text.splitlines())
    events.extend(parser.finish())
    return events
