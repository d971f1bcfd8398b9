"""A traceback being read (:class:`Block`): its lines, frames and chain so far, and the
events it becomes once it ends.

Several writers on one stream (worker processes sharing a stderr) may print their
tracebacks line by line at once. A block that finds a second header among its frames
counts them (:class:`Mix`): every header opens a traceback, every exception line ends
one, a chain separator joins two. Their frames cannot be told apart; their final
exceptions are each an event, marked uncertain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from errwatch.core.logs.events import ExceptionInfo, Frame, TracebackEvent
from errwatch.core.logs.logrecords import RecordContext
from errwatch.core.logs.tbformat import (
    CARETS,
    FRAME,
    MAX_BLOCK_CHARS,
    MAX_BLOCK_LINES,
    REPEATED,
    SOURCE_NOISE,
)

if TYPE_CHECKING:
    from errwatch.core.logs.framing import PrefixContext

INCOMPLETE = "<incomplete traceback>"
"""The type of an event whose exception line never came."""


@dataclass(slots=True)
class Mix:
    """The tracebacks of several writers interleaved in one block, counted."""

    tracebacks: int = 1
    """Tracebacks begun in the block (a chained one counts once)."""
    owed: int = 1
    """Tracebacks (or parts of a chain) whose exception line has not come yet."""
    chained: int = 0
    """Chain separators whose next header has not come yet."""
    finals: list[tuple[str, list[str]]] = field(default_factory=list)
    """Final exceptions seen, oldest first: type and message lines."""
    strays: int = 0
    """Lines in a row that none of the tracebacks explains."""

    @property
    def waiting(self) -> bool:
        """Whether some traceback of the block still lacks its end."""
        return self.owed > 0 or self.chained > 0

    def header(self) -> bool:
        """A header: the next part of a chain, or another writer's traceback; False when
        nothing waits for it (a traceback after the block)."""
        if self.chained:
            self.chained -= 1
        elif self.owed:
            self.tracebacks += 1
        else:
            return False
        self.owed += 1
        return True

    def exception(self, type_: str, message: str) -> bool:
        """An exception line; False when no traceback waits for one (message text)."""
        if not self.owed:
            return False
        self.owed -= 1
        self.finals.append((type_, [message]))
        return True

    def message(self, lines: list[str]) -> bool:
        """More lines of the last final exception's message (a note, a long message);
        False when a traceback still waits for its end (the lines could be anyone's)."""
        if self.waiting or not self.finals:
            return False
        self.finals[-1][1].extend(lines)
        return True

    def separator(self) -> None:
        """``The above exception...``: the exception before it was not a final one."""
        self.chained += 1
        if self.finals:
            self.finals.pop()

    def links(self) -> list[ExceptionInfo | None]:
        """One entry per traceback: its final exception, None for one cut off."""
        finals: list[ExceptionInfo | None] = [
            ExceptionInfo(type_, join_message(message))
            for type_, message in self.finals[: self.tracebacks]
        ]
        return finals + [None] * (self.tracebacks - len(finals))


@dataclass(slots=True)
class Block:
    """One traceback (or several interleaved) being read."""

    start_line: int | None
    record: RecordContext | None
    thread: str | None
    lines: list[str] = field(default_factory=list)
    dropped: int = 0
    chars: int = 0
    done: list[ExceptionInfo] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    exc_type: str = ""
    message: list[str] = field(default_factory=list)
    group: tuple[ExceptionInfo, ...] = ()
    pending_blank: int = 0
    box: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    """Records of other writers found inside the block, until the next line says whether
    the block goes on (interleaved) or was cut off."""
    margin: re.Pattern[str] | None = None
    """The shape of what came before the header on its line; removed from the lines that
    start with it."""
    flat: bool = False
    """Frames came without their indentation (a paste that lost it)."""
    prefix: PrefixContext | None = None
    mixed: bool = False
    """Lines of another writer were found inside this block."""
    mix: Mix | None = None
    """Several tracebacks interleaved: counted, not told apart."""

    def keep(self, line: str) -> None:
        self.chars += len(line)
        if len(self.lines) < MAX_BLOCK_LINES and self.chars <= MAX_BLOCK_CHARS:
            self.lines.append(line)
        else:
            self.dropped += 1

    def current(self) -> ExceptionInfo:
        return ExceptionInfo(
            self.exc_type, join_message(self.message), tuple(self.frames), "", self.group
        )

    def add_frame(self, line: str) -> None:
        """An indented line: a frame, its source line, or a caret/repetition line."""
        frames = self.frames
        if 'File "' in line:
            frame = frame_of(line)
            if frame is not None:
                frames.append(frame)
                return
        if not frames:
            return
        last = frames[-1]
        if "[Previous line repeated " in line and (repeated := REPEATED.match(line)):
            frames[-1] = Frame(last.file, last.line, last.function, last.source, int(repeated[1]))
        elif not last.source and not SOURCE_NOISE.match(line):
            frames[-1] = with_source(last, line.strip())

    def events(
        self, *, complete: bool, source: str, stream: str, now: float
    ) -> list[TracebackEvent]:
        """What the block holds, once it has ended: one event per traceback."""
        chain = list(self.done)
        if self.exc_type:
            chain.append(self.current())
        if self.dropped:
            self.lines.append(f"[errwatch: {self.dropped} more lines not kept]")
        mixed = self.mixed or self.mix is not None
        frames = tuple(self.frames)
        incomplete = ExceptionInfo(INCOMPLETE, "", frames)
        links: list[tuple[ExceptionInfo, tuple[ExceptionInfo, ...], bool]]
        if self.mix is not None:
            links = [
                (info, (info,), True) if info is not None else (incomplete, (), False)
                for info in self.mix.links()
            ]
        elif chain:
            final = chain[-1]
            links = [(final, (final,) if mixed else tuple(chain), complete)]
        else:
            links = [(incomplete, (), False)]
        text = "\n".join(self.lines)
        return [
            TracebackEvent(
                type=info.type,
                message=info.message,
                frames=frames if mixed else info.frames,
                chain=info_chain,
                text=text,
                source=source,
                line_no=self.start_line,
                arrived=now,
                record=self.record,
                complete=done,
                thread=self.thread,
                uncertain=mixed,
                prefix=self.prefix,
                stream=stream,
            )
            for info, info_chain, done in links
        ]


@lru_cache(maxsize=4096)
def frame_of(line: str) -> Frame | None:
    """The frame a ``File "...", line N, in f`` line names (the same lines recur: kept)."""
    frame = FRAME.match(line)
    if frame is None:
        return None
    return Frame(frame["file"], int(frame["line"]), frame["func"] or "?")


@lru_cache(maxsize=4096)
def with_source(frame: Frame, source: str) -> Frame:
    """A frame with its source line."""
    return Frame(frame.file, frame.line, frame.function, source, frame.repeated)


def reached_carets(block: Block) -> bool:
    """Whether a headerless ``File`` block got as far as its caret line: a SyntaxError
    whose exception line never came, not ordinary text that starts like a frame."""
    return any(CARETS.match(line) for line in block.lines[1:])


def join_message(message: list[str]) -> str:
    return "\n".join(message).rstrip()
