"""What the traceback parser produces: frames, exceptions, events (plain immutable data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from errwatch.core.logs.logrecords import RecordContext

if TYPE_CHECKING:
    from errwatch.core.logs.framing import PrefixContext

CAUSE = "The above exception was the direct cause of the following exception:"
CONTEXT = "During handling of the above exception, another exception occurred:"
"""The lines that join two exceptions of a chain."""


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
    prefix: PrefixContext | None = None
    """What the line prefix of its first line said (container, pod, host, unit, time)."""
    stream: str = ""
    """Where it occurred, as shown: a container, a pod, a host, a unit, else the file."""

    @property
    def logged(self) -> float | None:
        """The time the log gives: its record's own, else its line prefix's, else None."""
        if self.record is not None and self.record.timestamp is not None:
            return self.record.timestamp
        if self.prefix is not None:
            return self.prefix.timestamp
        return None

    @property
    def seen_at(self) -> float:
        """The log's timestamp when there is one, else the arrival time."""
        logged = self.logged
        return self.arrived if logged is None else logged

    @property
    def exceptions(self) -> tuple[ExceptionInfo, ...]:
        """The sub-exceptions of a final ExceptionGroup (empty otherwise)."""
        return self.chain[-1].group if self.chain else ()
