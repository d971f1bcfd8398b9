"""What the traceback parser produces: frames, exceptions, events (plain immutable data)."""

from __future__ import annotations

from dataclasses import dataclass

from errwatch.core.logs.logrecords import RecordContext


@dataclass(frozen=True, slots=True)
class Frame:
    """One ``File "...", line N, in function`` entry and its source line."""

    file: str
    line: int
    function: str
    source: str = ""
    repeated: int = 0
    """``[Previous line repeated N more times]`` after this frame."""


@dataclass(frozen=True, slots=True)
class ExceptionInfo:
    """One exception of a chain: its type, message and frames."""

    type: str
    message: str
    frames: tuple[Frame, ...] = ()
    relation: str = ""
    """How the NEXT exception relates to this one: "cause", "context" or "" for the last."""
    group: tuple[ExceptionInfo, ...] = ()
    """The sub-exceptions, when this is an ExceptionGroup."""


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
    line_no: int | None
    """Line of the input where the traceback starts (None when lines were not counted)."""
    arrived: float
    record: RecordContext | None = None
    complete: bool = True
    thread: str | None = None
    uncertain: bool = False
    """Lines of several tracebacks were interleaved: frames may belong to another one."""

    @property
    def seen_at(self) -> float:
        """The log's timestamp when there is one, else the arrival time."""
        if self.record is not None and self.record.timestamp is not None:
            return self.record.timestamp
        return self.arrived

    @property
    def exceptions(self) -> tuple[ExceptionInfo, ...]:
        """The sub-exceptions of a final ExceptionGroup (empty otherwise)."""
        return self.chain[-1].group if self.chain else ()
