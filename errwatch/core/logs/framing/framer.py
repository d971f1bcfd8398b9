"""One raw line -> (stream, text): the prefix recognised, stripped, and what it says kept.

A :class:`Framer` is a constant literal prefix (a fixed string, or an indentation) and/or
a :class:`~errwatch.core.logs.framing.formats.PrefixFormat`. :meth:`Framer.split` is on
the hot path (every line a traceback touches), so it returns plain tuples and builds
nothing else; what a prefix says about a traceback (:class:`PrefixContext`: stream
name, attributes, time) is built by :meth:`Framer.context` only when a traceback opens.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from errwatch.core.logs.framing.formats import TEXT_GROUP, TIME_GROUPS, PrefixFormat
from errwatch.core.logs.framing.times import prefix_time

TOOL_STREAM = "\x00"
"""Key of the lines a multiplexing tool writes itself, without a prefix
(``Attaching to web_1``, ``web_1 exited with code 1``)."""
# Colour codes, and what a Windows console shows of them once pasted ("←[33m").
_COLOURS = re.compile(r"(?:\x1b|\u2190)\[[0-9;?]*[ -/]*[@-~]")


def strip_colours(line: str) -> str:
    """The line without terminal colour codes (real ones, or pasted as ``←[33m``)."""
    if "\x1b" in line or "\u2190[" in line:
        return _COLOURS.sub("", line)
    return line


@dataclass(frozen=True, slots=True)
class PrefixContext:
    """What the prefix of a traceback's first line says."""

    stream: str
    """The stream's name as shown: a container, pod/container, host/unit; "" for one
    stream."""
    fields: tuple[tuple[str, str], ...] = ()
    """Every named part of the prefix but the time (service, pod, host, tag, pid...)."""
    timestamp: float | None = None
    logged_at: str | None = None
    """The prefix's time, as epoch seconds and as written."""


class Framer:
    """Splits lines of one source: a literal prefix, then a known or custom format."""

    def __init__(
        self, format: PrefixFormat | None = None, literal: str = "", indent: int = 0
    ) -> None:
        self.format = format
        self.literal = literal
        self.indent = indent
        """Spaces every text starts with after the prefix (rsyslog's RFC 5424 files keep
        the space a local sender put before its message): removed too."""
        self.width = 0
        """Characters of the prefix of the last line split (journald aligns the rest of
        a multi-line entry under its text)."""
        self._pattern = format.pattern if format is not None else None
        keys = format.keys if format is not None else ()
        self._keys = keys
        self._one_key = keys[0] if len(keys) == 1 else None
        self._json_text = format is not None and format.json_text

    @property
    def name(self) -> str:
        """What was recognised, for a person: ``docker compose``, ``literal "> "``."""
        parts = []
        if self.literal:
            shown = "indentation" if not self.literal.strip() else "literal prefix"
            parts.append(f"{shown} {self.literal!r}")
        if self.format is not None:
            parts.append(self.format.name)
        if self.indent:
            parts.append(f"indentation {self.indent}")
        return " + ".join(parts) or "none"

    @property
    def multi(self) -> bool:
        """Whether lines of several streams may be mixed."""
        return self.format is not None and self.format.multi

    @property
    def continued(self) -> bool:
        """Whether a line without the prefix belongs to the previous line's stream."""
        return self.format is None or self.format.continued

    @property
    def escaped_newlines(self) -> bool:
        """Whether ``#012`` inside a line stands for a newline (rsyslog)."""
        return self.format is not None and self.format.escaped_newlines

    def split(self, line: str) -> tuple[str, str] | None:
        """(stream key, text), or None when the line does not carry the prefix."""
        line = strip_colours(line)
        literal = self.literal
        offset = 0
        if literal:
            if not line.startswith(literal):
                return None
            offset = len(literal)
        pattern = self._pattern
        if pattern is None:
            self.width = offset
            return "", line[offset:]
        found = pattern.match(line, offset)
        if found is None:
            return None
        self.width = found.end()
        one = self._one_key
        if one is not None:
            key = found.group(one) or ""
        elif self._keys:
            key = "\x1f".join(value or "" for value in found.group(*self._keys))
        else:
            key = ""
        if self._json_text:
            return key, _json_string(found.group(TEXT_GROUP))
        end = found.end()
        indent = self.indent
        if indent and line[end : end + indent].isspace():
            end += indent
        return key, line[end:]

    def _match(self, line: str) -> re.Match[str] | None:
        line = strip_colours(line)
        offset = len(self.literal)
        if self.literal and not line.startswith(self.literal):
            return None
        return self._pattern.match(line, offset) if self._pattern is not None else None

    def context(self, line: str) -> PrefixContext | None:
        """What the prefix of ``line`` says; None when it has none."""
        if self.format is None:
            return None
        found = self._match(line)
        if found is None:
            return None
        values = {name: value for name, value in found.groupdict().items() if value is not None}
        written = next((values[name] for name in TIME_GROUPS if name in values), None)
        fields = tuple(
            (k, v) for k, v in values.items() if k not in TIME_GROUPS and k != TEXT_GROUP
        )
        stream = ""
        if self.format.show:
            shown = self.format.show
            stream = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), ""), shown)
        return PrefixContext(
            stream=stream,
            fields=fields,
            timestamp=prefix_time(written) if written else None,
            logged_at=written,
        )

    def needle(self, line: str) -> bytes | None:
        """Bytes every line of this line's stream holds, to find the stream's next line
        without reading the others (None: one stream, or no constant part)."""
        if not self.multi:
            return None
        found = self._match(line)
        if found is None:
            return None
        spans = [
            (found.start(name), found.end(name), name in self._keys)
            for name in found.re.groupindex
            if found.start(name) >= 0
        ]
        keys = [span for span in spans if span[2]]
        if not keys:
            return None
        start = min(span[0] for span in keys)
        last = max(span[1] for span in keys)
        after = [span[0] for span in spans if not span[2] and span[0] >= last]
        end = min(after, default=found.end())
        plain = strip_colours(line)
        text = plain[start:end]
        if start == 0 and plain is line:  # at the start of the line: anchor on its newline
            return b"\n" + text.encode()
        return text.encode() if len(text) >= 3 else None


def _json_string(inside: str) -> str:
    """The text of a JSON string's inside, its final newline dropped (one log line)."""
    if "\\" not in inside:
        return inside
    try:
        text = json.loads(f'"{inside}"')
    except ValueError:
        return inside
    return str(text).removesuffix("\n").removesuffix("\r")
