"""HTTP/1.1 on the wire, as much as a reverse proxy needs: heads, framing, body relays.

Bytes in, bytes out: header names and values are never decoded for display, and every
body is relayed as it comes (a streamed or chunked body is never held whole).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

MAX_HEAD = 64 * 1024
"""Largest request or response head accepted (bytes)."""
CHUNK = 64 * 1024
"""Bytes relayed per read."""
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authorization",
    }
)
"""Headers about one connection, never passed on (RFC 9110 7.6.1)."""

Headers = list[tuple[bytes, bytes]]


class WireError(Exception):
    """A message that breaks HTTP/1.1 framing; the connection cannot be trusted after it."""


@dataclass(slots=True)
class Message:
    """A parsed head: the start line's three parts and the headers as sent."""

    first: bytes
    second: bytes
    third: bytes
    headers: Headers

    @property
    def version(self) -> bytes:
        """b"HTTP/1.1" of a request (its third part) or a response (its first)."""
        return self.third if self.third.startswith(b"HTTP/") else self.first

    def get(self, name: bytes) -> bytes | None:
        """The last value of a header (lowercase name), or None."""
        found = None
        for key, value in self.headers:
            if key.lower() == name:
                found = value
        return found

    def tokens(self, name: bytes) -> set[bytes]:
        """Comma-separated tokens of every value of a header, lowercased."""
        found: set[bytes] = set()
        for key, value in self.headers:
            if key.lower() == name:
                found.update(token.strip().lower() for token in value.split(b","))
        found.discard(b"")
        return found


async def read_head(reader: asyncio.StreamReader) -> bytes | None:
    """One head up to its blank line; None at a clean end of stream before any byte."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if not error.partial.strip():
            return None
        raise WireError("connection closed in the middle of a head") from None
    except asyncio.LimitOverrunError:
        raise WireError(f"head larger than {MAX_HEAD} bytes") from None


def parse_head(data: bytes) -> Message:
    """Split a head into its start line and headers."""
    lines = data[:-4].split(b"\r\n")
    while lines and not lines[0]:  # a stray CRLF before a request is tolerated (RFC 9112 2.2)
        lines.pop(0)
    if not lines:
        raise WireError("empty head")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2:
        raise WireError("malformed start line")
    if len(parts) == 2:
        parts.append(b"")
    headers: Headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip() or b" " in name:
            raise WireError("malformed header line")
        headers.append((name, value.strip(b" \t")))
    return Message(parts[0], parts[1], parts[2], headers)


def body_length(message: Message) -> int | None:
    """The Content-Length, -1 for chunked, None when the head says neither."""
    if b"chunked" in message.tokens(b"transfer-encoding"):
        return -1
    if message.get(b"transfer-encoding") is not None:
        raise WireError("unsupported transfer-encoding")
    values = {value.strip() for key, value in message.headers if key.lower() == b"content-length"}
    if not values:
        return None
    if len(values) > 1:
        raise WireError("conflicting content-length headers")
    value = values.pop()
    if not value.isdigit():
        raise WireError("invalid content-length")
    return int(value)


def wants_keep_alive(message: Message) -> bool:
    """Whether the sender keeps the connection open after this message."""
    tokens = message.tokens(b"connection")
    if message.version == b"HTTP/1.1":
        return b"close" not in tokens
    return b"keep-alive" in tokens


def end_to_end(headers: Headers, *, drop: frozenset[bytes] = frozenset()) -> Headers:
    """The headers without hop-by-hop ones (and those the Connection header names)."""
    named: set[bytes] = set()
    for key, value in headers:
        if key.lower() == b"connection":
            named.update(token.strip().lower() for token in value.split(b","))
    skip = HOP_BY_HOP | named | drop
    return [(key, value) for key, value in headers if key.lower() not in skip]


def render_head(start: bytes, headers: Headers) -> bytes:
    """A head ready to write."""
    return b"".join([start, b"\r\n", *(k + b": " + v + b"\r\n" for k, v in headers), b"\r\n"])


async def relay_length(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None, length: int
) -> None:
    """Relay exactly ``length`` bytes (``writer`` None: read and drop them)."""
    left = length
    while left:
        data = await reader.read(min(left, CHUNK))
        if not data:
            raise asyncio.IncompleteReadError(b"", left)
        left -= len(data)
        if writer is not None:
            writer.write(data)
            await writer.drain()


async def relay_chunked(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None, *, framed: bool = True
) -> None:
    """Relay a chunked body, trailers included, chunk by chunk as it comes.

    ``framed`` False writes the data alone (for an HTTP/1.0 client, which knows no chunks).
    """
    while True:
        line = await reader.readuntil(b"\r\n")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise WireError("malformed chunk size") from None
        if writer is not None and framed:
            writer.write(line)
        if size == 0:
            break
        await relay_length(reader, writer, size)
        if await reader.readexactly(2) != b"\r\n":
            raise WireError("chunk without its CRLF")
        if writer is not None and framed:
            writer.write(b"\r\n")
    while True:  # trailers, then the final CRLF
        line = await reader.readuntil(b"\r\n")
        if writer is not None and framed:
            writer.write(line)
        if line == b"\r\n":
            break
    if writer is not None:
        await writer.drain()


async def relay_to_end(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Relay until the sender closes (a response framed by the end of its connection)."""
    while data := await reader.read(CHUNK):
        writer.write(data)
        await writer.drain()


async def relay_body(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter | None,
    length: int | None,
    *,
    framed: bool = True,
) -> None:
    """Relay a body as :func:`body_length` described it (None: no body)."""
    if length is None or length == 0:
        return
    if length < 0:
        await relay_chunked(reader, writer, framed=framed)
    else:
        await relay_length(reader, writer, length)
