"""A traceback seen before, recognised from its bytes: a repeat without a line-by-line read.

Recurring tracebacks are the norm (one bug, thousands of times). Their lines repeat
but for the message of each exception line (an id, an address, a count) and the log
record before them (a time). :class:`Repeats` keeps what the parser made of a
traceback whose bytes are exactly its text (no colours, no margin, no CR, nothing cut),
keyed by its *shape*: its bytes with the message of each exception line taken out,
those inside an ExceptionGroup's box included.

A block at rest that has a known shape and ends the same way (its last exception line
followed by a line that ends a traceback, or its box followed by a line that is no
part of it) gives the same events but for those messages and its own record: the
parser would see the same lines in the same states, and the state machine, like the box
reader, reads an exception line the same whatever its message
(:func:`exception_marker`). Anything else is read line by line, as before: a new
traceback, interleaved writers, a message of several lines, a member's own chain, a
cut one. Both the scan and live following go through here, so both paths still give
the same events.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from errwatch.core.logs.events import CAUSE, CONTEXT, ExceptionInfo, TracebackEvent
from errwatch.core.logs.exgroups import IN_BOX
from errwatch.core.logs.lines import Buffer, decode_line, strip_ansi
from errwatch.core.logs.logrecords import RECORD
from errwatch.core.logs.tbformat import EXCEPTION, HEADER, MAX_BLOCK_CHARS
from errwatch.core.logs.tbmachine import ends_message

MAX_BYTES = min(64 * 1024, MAX_BLOCK_CHARS // 2)
"""Bytes of a traceback recognised as a repeat (nothing of it can be cut)."""
KNOWN = 1024
"""Shapes kept per source; past it the oldest is forgotten."""

# A line that may be an exception line: unindented, or the content of a box's line
# ("    | ValueError: x"). A literal first, so the bytes are searched at memchr speed.
_CANDIDATE = re.compile(rb"\n(?: +\| )?[^ \t\r\n]")
_CANDIDATE_TEXT = re.compile(r"(?: +\| )?[^ \t\r\n]")
_SEPARATORS = (HEADER, CAUSE, CONTEXT, 'File "')
"""Lines (or box contents) that are part of a shape as they are."""
_SEPARATOR_BYTES = tuple(text.encode() for text in _SEPARATORS)
_CHAIN_GOES_ON = (b"", CAUSE.encode(), CONTEXT.encode())
_AFTER_BOX = "after the box"
"""The last part of the shape of a block that ended with its ExceptionGroup box."""

Marker = tuple[str, bool, bool]
"""An exception line without its message: its type, whether a colon follows, whether
a message does."""
Shape = tuple[bytes | Marker | str, ...]


def exception_marker(line: str) -> Marker | None:
    """An exception line as the state machine reads it (its message aside), or None."""
    found = EXCEPTION.match(line)
    if found is None or RECORD.match(line):
        return None
    return found["type"], ":" in line[len(found["type"]) :], found["message"] is not None


def _message(content: str) -> str:
    found = EXCEPTION.match(content)
    assert found is not None
    return (found["message"] or "").rstrip()


@dataclass(frozen=True, slots=True)
class Template:
    """What the parser made of a traceback, less the messages of its exception lines."""

    lines: tuple[str, ...]
    """The text's lines."""
    slots: tuple[int, ...]
    """Which of them are exception lines (in a box or not), in the order printed."""
    chain: tuple[ExceptionInfo, ...]


@dataclass(frozen=True, slots=True)
class Repeat:
    """A traceback of a known shape found in the bytes: what the parser needs to give
    its event (:meth:`~errwatch.core.logs.tracebacks.TracebackParser.repeat`)."""

    template: Template
    exceptions: tuple[str, ...]
    """Its exception lines, decoded."""
    messages: tuple[str, ...]
    """Their messages."""
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
        return _with_messages(self.template.chain, iter(self.messages))


def _printed(chain: tuple[ExceptionInfo, ...]) -> Iterator[ExceptionInfo]:
    """A chain's exceptions in the order their lines are printed: each before the
    members of its group."""
    for info in chain:
        yield info
        for member in info.group:
            yield from _printed((member,))


def _with_messages(
    chain: tuple[ExceptionInfo, ...], messages: Iterator[str]
) -> tuple[ExceptionInfo, ...]:
    """``chain`` with new messages, taken in the order printed."""
    rebuilt = []
    for info in chain:
        message = next(messages)
        group = tuple(_with_messages((member,), messages)[0] for member in info.group)
        rebuilt.append(ExceptionInfo(info.type, message, info.frames, info.relation, group))
    return tuple(rebuilt)


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
            or data[start:stop] != event.text.encode() + b"\n"
        ):
            return
        lines = event.text.split("\n")
        slots, exceptions = [], []
        for index in range(1, len(lines)):
            content = _content(lines[index])
            if content is not None and exception_marker(content) is not None:
                slots.append(index)
                exceptions.append(content)
        printed = list(_printed(event.chain))
        if len(printed) != len(slots):
            return  # a message of several lines, a member's own chain: read line by line
        for info, content in zip(printed, exceptions, strict=True):
            if (content.split(":", 1)[0], _message(content)) != (info.type, info.message):
                return
        shape = _shape(data, start, stop)
        if shape is None:
            return
        if len(self._known) >= self._size:
            del self._known[next(iter(self._known))]
        self._known[shape] = Template(tuple(lines), tuple(slots), event.chain)

    def recall(self, data: Buffer, start: int, end: int) -> Repeat | None:
        """The traceback at ``start`` (a line at rest that can open one), if it repeats a
        known shape and ends before ``end`` the way it did."""
        if not self._known:
            return None
        parts: list[bytes | Marker | str] = []
        lines: list[str] = []
        messages: list[str] = []
        chunk = start
        for at, body, line_end, line, marker in _candidates(
            data, start, min(end, start + MAX_BYTES)
        ):
            if marker is None:
                if body == at:  # perhaps the line after the block's box
                    template = self._known.get((*parts, bytes(data[chunk:at]), _AFTER_BOX))
                    if template is not None and _ends_box(line):
                        return self._hit(template, lines, messages, at)
                return None  # a record, or text the shapes kept never hold
            parts += (bytes(data[chunk:body]), marker)
            lines.append(line)
            messages.append(_message(line[body - at :]))
            chunk = line_end
            if body != at:
                continue  # in a box: the block goes on at least to the box's end
            after_end = data.find(b"\n", line_end + 1, end)
            if after_end < 0:
                return None  # what follows is not there yet: read it line by line
            template = self._known.get((*parts, b"\n"))
            if template is not None:
                after = strip_ansi(decode_line(data[line_end + 1 : after_end]))
                if ends_message(after):
                    return self._hit(template, lines, messages, line_end + 1)
            if data[line_end + 1 : after_end].strip() not in _CHAIN_GOES_ON:
                return None  # more message lines, or no traceback at all
        return None

    def _hit(self, template: Template, lines: list[str], messages: list[str], stop: int) -> Repeat:
        self.hits += 1
        return Repeat(template, tuple(lines), tuple(messages), stop)


def _ends_box(line: str) -> bool:
    """Whether a line after a box ends the block (no more box, no chain separator)."""
    stripped = line.strip()
    return bool(stripped) and stripped not in (CAUSE, CONTEXT) and not IN_BOX.match(line)


def _content(line: str) -> str | None:
    """The part of a line that may be an exception line (the line, or a box line's
    content), or None; the same lines as :func:`_candidates` finds in bytes."""
    found = _CANDIDATE_TEXT.match(line)
    if found is None:
        return None
    content = line[found.end() - 1 :]
    return None if content.startswith(_SEPARATORS) else content


def _shape(data: Buffer, start: int, stop: int) -> Shape | None:
    """The shape of the block ``data[start:stop]``, as :meth:`Repeats.recall` sees it."""
    parts: list[bytes | Marker | str] = []
    chunk = start
    last_top = False
    for at, body, line_end, _, marker in _candidates(data, start, stop):
        if marker is None:
            return None
        parts += (bytes(data[chunk:body]), marker)
        chunk = line_end
        last_top = body == at
    if last_top and chunk + 1 == stop:  # ended after its last exception line
        return (*parts, b"\n")
    return (*parts, bytes(data[chunk:stop]), _AFTER_BOX)


def _candidates(
    data: Buffer, start: int, stop: int
) -> Iterator[tuple[int, int, int, str, Marker | None]]:
    """The lines of a block begun at ``start`` its shape does not keep as they are (the
    first line aside): where each starts, where the part that may be an exception line
    starts, where it ends, its text, its exception marker."""
    first = data.find(b"\n", start, stop)
    if first < 0:
        return
    for candidate in _CANDIDATE.finditer(data, first, stop):
        at = candidate.start() + 1
        body = candidate.end() - 1
        if data.startswith(_SEPARATOR_BYTES, body):
            continue
        line_end = data.find(b"\n", at, stop)
        if line_end < 0:
            return
        line = strip_ansi(decode_line(data[at:line_end]))
        yield at, body, line_end, line, exception_marker(line[body - at :])
