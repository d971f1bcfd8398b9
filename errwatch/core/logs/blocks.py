"""A traceback being read: its lines, frames and chain so far (:class:`Block`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from errwatch.core.logs.events import ExceptionInfo, Frame
from errwatch.core.logs.logrecords import RecordContext
from errwatch.core.logs.tbformat import CARETS, MAX_BLOCK_CHARS, MAX_BLOCK_LINES

if TYPE_CHECKING:
    from errwatch.core.logs.framing import PrefixContext


@dataclass(slots=True)
class Block:
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
    extra_headers: int = 0
    margin: re.Pattern[str] | None = None
    """The shape of what came before the header on its line; removed from the lines that
    start with it."""
    flat: bool = False
    """Frames came without their indentation (a paste that lost it)."""
    prefix: PrefixContext | None = None
    others: list[ExceptionInfo] = field(default_factory=list)
    """Final exceptions of tracebacks interleaved with this one."""
    mixed: bool = False
    """Lines of another writer were found inside this block."""

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


def reached_carets(block: Block) -> bool:
    """Whether a headerless ``File`` block got as far as its caret line: a SyntaxError
    whose exception line never came, not ordinary text that starts like a frame."""
    return any(CARETS.match(line) for line in block.lines[1:])


def join_message(message: list[str]) -> str:
    return "\n".join(message).rstrip()
