"""A traceback seen before, recognised from its bytes: a repeat without a line-by-line read.

Recurring tracebacks are the norm (one bug, thousands of times). Their lines repeat
but for the message of each exception line (an id, an address, a count) and the log
record before them (a time). :class:`Repeats` keeps what the parser made of a
traceback whose bytes are exactly its text (no colours, no margin, no CR, nothing cut),
keyed by its *shape*: its bytes with the message of each exception line taken out.

A block at rest that has a known shape and ends the same way (its last exception line
followed by a line that ends a traceback) gives the same events but for those messages
and its own record: the parser would see the same lines in the same states, and the
state machine reads an exception line the same whatever its message
(:func:`exception_marker`). Anything else is read line by line, as before: a new
traceback, an ExceptionGroup box, interleaved writers, a message of several lines, a
cut one. Both the scan and live following go through here, so both paths still give
the same events.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from errwatch.core.logs.events import CAUSE, CONTEXT, ExceptionInfo, TracebackEvent
from errwatch.core.logs.lines import Buffer, decode_line, strip_ansi
from errwatch.core.logs.logrecords import RECORD
from errwatch.core.logs.tbformat import EXCEPTION, HEADER, MAX_BLOCK_CHARS
from errwatch.core.logs.tbmachine import ends_message

MAX_BYTES = min(64 * 1024, MAX_BLOCK_CHARS // 2)
"""Bytes of a traceback recognised as a repeat (nothing of it can be cut)."""
KNOWN = 1024
"""Shapes kept per source; past it the oldest is forgotten."""

_UNINDENTED = re.compile(rb"\n[^ \t\r\n]")  # a literal first: searched at memchr speed
_SEPARATORS = (HEADER.encode(), CAUSE.encode(), CONTEXT.encode(), b'File "')
_CHAIN_GOES_ON = (b"", CAUSE.encode(), CONTEXT.encode())
"""Unindented lines of a traceback that are part of its shape as they are."""

Marker = tuple[str, bool, bool]
"""An exception line without its message: its type, whether a colon follows, whether
a message does."""
Shape = tuple[bytes | Marker, ...]


def exception_marker(line: str) -> Marker | None:
    """An exception line as the state machine reads it (its message aside), or None."""
    found = EXCEPTION.match(line)
    if found is None or RECORD.match(line):
        return None
    return found["type"], ":" in line[len(found["type"]) :], found["message"] is not None


@dataclass(frozen=True, slots=True)
class Template:
    """What the parser made of a traceback, less the messages of its exception lines."""

    lines: tuple[str, ...]
    """The text's lines."""
    slots: tuple[int, ...]
    """Which of them are exception lines, in the order of the chain."""
    chain: tuple[ExceptionInfo, ...]


@dataclass(frozen=True, slots=True)
class Repeat:
    """A traceback of a known shape found in the bytes: what the parser needs to give
    its event (:meth:`~errwatch.core.logs.tracebacks.TracebackParser.repeat`)."""

    template: Template
    exceptions: tuple[str, ...]
    """Its exception lines, decoded."""
    stop: int
    """Where its bytes end (the line that ends it starts there)."""

    @property
    def lines(self) -> int:
        return len(self.template.lines)

    def text(self) -> str:
        lines = list(self.template.lines)
        for slot, line in zip(self.template.slots, self.exceptions, strict=True):
            lines[slot] = line
        return "\n".join(lines)

    def chain(self) -> tuple[ExceptionInfo, ...]:
        chain = []
        for info, line in zip(self.template.chain, self.exceptions, strict=True):
            found = EXCEPTION.match(line)
            assert found is not None
            message = (found["message"] or "").rstrip()
            chain.append(ExceptionInfo(info.type, message, info.frames, info.relation))
        return tuple(chain)


class Repeats:
    """The shapes of the tracebacks of one source, and what each gave."""

    def __init__(self, size: int = KNOWN) -> None:
        self._known: dict[Shape, Template] = {}
        self._size = size
        self.hits = 0
        """Tracebacks recognised so far."""

    def learn(self, data: Buffer, start: int, stop: int, event: TracebackEvent) -> None:
        """The parser read ``data[start:stop]`` (a block begun at rest, ended by the line
        at ``stop``) line by line and gave ``event``: keep it if a repeat can be read
        from its shape."""
        if (
            not event.complete
            or event.uncertain
            or stop - start > MAX_BYTES
            or any(info.group for info in event.chain)
            or data[start:stop] != event.text.encode() + b"\n"
        ):
            return
        lines = event.text.split("\n")
        slots = tuple(i for i, line in enumerate(lines) if exception_marker(line) is not None)
        if len(slots) != len(event.chain):
            return
        for slot, info in zip(slots, event.chain, strict=True):
            found = EXCEPTION.match(lines[slot])
            assert found is not None
            if (found["type"], (found["message"] or "").rstrip()) != (info.type, info.message):
                return  # a message of several lines: its exception line is not all of it
        shape = _shape(data, start, stop)
        if shape is None:
            return
        if len(self._known) >= self._size:
            del self._known[next(iter(self._known))]
        self._known[shape] = Template(tuple(lines), slots, event.chain)

    def recall(self, data: Buffer, start: int, end: int) -> Repeat | None:
        """The traceback at ``start`` (a line at rest that can open one), if it repeats a
        known shape and ends before ``end`` the way it did."""
        if not self._known:
            return None
        parts: list[bytes | Marker] = []
        exceptions: list[str] = []
        chunk = start
        for at, line_end, line, marker in _unindented(data, start, min(end, start + MAX_BYTES)):
            if marker is None:
                return None  # a record, or text the shapes kept never hold
            parts += (bytes(data[chunk:at]), marker)
            exceptions.append(line)
            chunk = line_end
            after_end = data.find(b"\n", line_end + 1, end)
            if after_end < 0:
                return None  # what follows is not there yet: read it line by line
            template = self._known.get((*parts, b"\n"))
            if template is not None:
                after = strip_ansi(decode_line(data[line_end + 1 : after_end]))
                if ends_message(after):
                    self.hits += 1
                    return Repeat(template, tuple(exceptions), line_end + 1)
            if data[line_end + 1 : after_end].strip() not in _CHAIN_GOES_ON:
                return None  # more message lines, or no traceback at all
        return None


def _shape(data: Buffer, start: int, stop: int) -> Shape | None:
    """The shape of the block ``data[start:stop]``, as :meth:`Repeats.recall` sees it."""
    parts: list[bytes | Marker] = []
    chunk = start
    for at, line_end, _, marker in _unindented(data, start, stop):
        if marker is None:
            return None
        parts += (bytes(data[chunk:at]), marker)
        chunk = line_end
    return (*parts, bytes(data[chunk:stop]))


def _unindented(
    data: Buffer, start: int, stop: int
) -> Iterator[tuple[int, int, str, Marker | None]]:
    """The lines of a block begun at ``start`` that its shape does not keep as they are
    (its first line aside): where each starts and ends, its text, its exception marker."""
    first = data.find(b"\n", start, stop)
    if first < 0:
        return
    for unindented in _UNINDENTED.finditer(data, first, stop):
        at = unindented.start() + 1
        if data.startswith(_SEPARATORS, at):
            continue
        line_end = data.find(b"\n", at, stop)
        if line_end < 0:
            return
        line = strip_ansi(decode_line(data[at:line_end]))
        yield at, line_end, line, exception_marker(line)
