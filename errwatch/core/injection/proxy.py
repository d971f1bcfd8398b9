"""`errwatch proxy`'s HTTP side: a reverse proxy that aborts, delays or resets a share of
the requests to an upstream, and passes the rest untouched.

Hand-written HTTP/1.1 over asyncio streams: a framework would cost more than the 2 ms a
pass-through may add. Upstream connections are pooled and kept alive; bodies (fixed,
chunked, or up to the end of the connection) are relayed as they come, never held whole;
hop-by-hop headers stay on their hop. Answers from the upstream are bytes relayed, never
decoded for display.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

from errwatch.config import ProxyConfig
from errwatch.core.injection.faults import route_pattern
from errwatch.core.injection.httpwire import (
    MAX_HEAD,
    Message,
    WireError,
    body_length,
    end_to_end,
    parse_head,
    read_head,
    relay_body,
    relay_to_end,
    render_head,
    wants_keep_alive,
)
from errwatch.core.injection.links import Listener, reset

FAULT_HEADER = b"X-Errwatch-Fault"
"""Set on every answer the proxy makes itself (an abort, an unreachable upstream)."""
CONNECT_TIMEOUT = 5.0
"""Seconds to open a connection to the upstream before answering 504."""
SMALL = 16 * 1024
"""Bodies up to this size are read whole and written with their head."""
MAX_IDLE = 64
"""Idle upstream connections kept for reuse."""
_NO_BODY = (204, 304)
_DROPPED = frozenset({b"host", b"expect", b"content-length"})
_LENGTH = frozenset({b"content-length"})


class Upstream:
    """Where requests go: host, port, TLS, base path; a pool of kept-alive connections."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        secure = parts.scheme == "https"
        self.port = parts.port or (443 if secure else 80)
        self.ssl = ssl.create_default_context() if secure else None
        default = (secure and self.port == 443) or (not secure and self.port == 80)
        name = f"[{self.host}]" if ":" in self.host else self.host
        self.authority = (name if default else f"{name}:{self.port}").encode()
        self.base = parts.path.rstrip("/").encode()
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0
        """Connections opened so far (the rest of the requests reused one)."""

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        """A kept-alive connection if one is idle (reused True), else a new one."""
        while self._idle:
            reader, writer = self._idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer, True
            writer.transport.abort()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                self.host,
                self.port,
                ssl=self.ssl,
                server_hostname=self.host if self.ssl else None,
                limit=MAX_HEAD,
            ),
            CONNECT_TIMEOUT,
        )
        self.opened += 1
        return reader, writer, False

    def release(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Keep a connection whose last exchange ended cleanly, for the next request."""
        if len(self._idle) < MAX_IDLE and not writer.is_closing():
            self._idle.append((reader, writer))
        else:
            writer.close()

    def close(self) -> None:
        """Close every idle connection."""
        for _, writer in self._idle:
            writer.transport.abort()
        self._idle.clear()


class _Unanswered(WireError):
    """The upstream closed a connection cleanly before answering (a stale kept-alive one)."""


class _UpstreamFailed(Exception):
    """The upstream took no part in this exchange (refused, reset, closed, timed out)."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status


@dataclass(slots=True)
class _Request:
    """A client's request being handled: its head and what was learnt from it."""

    message: Message
    target: bytes
    length: int | None
    """Body length; -1 chunked, None no body."""
    expects: bool
    """Expect: 100-continue."""
    began: float
    delayed: float = 0.0


class HttpProxy(Listener):
    """A reverse proxy in front of an http(s):// upstream, with request faults."""

    def __init__(self, cfg: ProxyConfig, *, allow_remote: tuple[str, ...] = ()) -> None:
        super().__init__(cfg, allow_remote=allow_remote)
        self.upstream = Upstream(cfg.upstream)
        self._route = route_pattern(cfg.fault.route)

    def close_upstream(self) -> None:
        self.upstream.close()

    def _decide(self, path: bytes) -> str | None:
        if not self.active:
            return None
        if self._route is not None and not self._route.match(path.decode("latin-1")):
            return None
        return self.fault.kind if self.pick() else None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Exchanges on one client connection until either side ends it."""
        while await self._exchange(reader, writer):
            pass

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """One request and its answer; whether the client connection stays open."""
        try:
            head = await read_head(reader)
            if head is None:
                return False
            began = time.perf_counter()
            request = parse_head(head)
            length = body_length(request)
        except WireError as error:
            self._answer(writer, 400, f"errwatch proxy: bad request: {error}", keep=False)
            return False
        keep = wants_keep_alive(request)
        target = _origin_form(request.second)
        kind = self._decide(target.split(b"?", 1)[0])
        if kind == "reset":
            self.count_fault("reset")
            reset(writer)
            return False
        expects = b"100-continue" in request.tokens(b"expect")
        if kind == "abort":
            self.count_fault("abort")
            if expects and length:
                keep = False  # the client waits for a go-ahead it will not get: no body follows
            else:
                await relay_body(reader, None, length)
            description = f"fault injected by errwatch proxy {self.cfg.name}"
            self._answer(writer, self.fault.status, description, keep=keep, fault=b"abort")
            await writer.drain()
            return keep
        exchange = _Request(request, target, length, expects, began)
        if kind == "delay":
            self.count_fault("delay")  # counted now: the client may give up before the end
            slept = time.perf_counter()
            await asyncio.sleep(self.fault.delay)
            exchange.delayed = time.perf_counter() - slept
            self.count_added(exchange.delayed)
        return await self._forward(exchange, reader, writer)

    async def _forward(
        self, exchange: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        request, length = exchange.message, exchange.length
        keep = wants_keep_alive(request)
        headers = end_to_end(request.headers, drop=_DROPPED)
        headers.insert(0, (b"Host", self.upstream.authority))
        if length is not None and length < 0:
            headers.append((b"Transfer-Encoding", b"chunked"))
        elif length is not None:
            headers.append((b"Content-Length", str(length).encode()))
        start = request.first + b" " + self.upstream.base + exchange.target + b" HTTP/1.1"
        out = render_head(start, headers)
        if length is not None and 0 < length <= SMALL and not exchange.expects:
            # A small body goes with its head in one write, and can be sent again.
            out += await reader.readexactly(length)
            exchange.length = length = 0
        try:
            up_reader, up_writer, waited, response = await self._send(out, exchange, reader, writer)
        except _UpstreamFailed as failure:
            self.count_upstream_error()
            body_left = length is not None and length != 0
            self._answer(writer, failure.status, str(failure), keep=keep and not body_left)
            await writer.drain()
            return keep and not body_left
        self.count_forwarded()
        try:
            keep = await self._respond(request, response, keep, up_reader, writer)
        except BaseException:
            up_writer.transport.abort()
            raise
        finally:
            spent = time.perf_counter() - exchange.began - waited - exchange.delayed
            self.count_overhead(max(0.0, spent))
        if wants_keep_alive(response) and _framed(request, response):
            self.upstream.release(up_reader, up_writer)
        else:
            up_writer.close()
        return keep

    async def _send(
        self,
        out: bytes,
        exchange: _Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, float, Message]:
        """Send the request (its body relayed as it comes) and read the answer's head.

        A kept-alive connection the upstream closed meanwhile (a clean close, no answer)
        is retried once on a fresh one, when the request had no body left to stream
        (nothing was consumed that could not be sent again). A reset is not retried: it
        is the upstream's failure, and the client must see it (as a 502). Returns the
        connection, the seconds spent waiting for the upstream, and the final head
        (interim 1xx answers are passed to the client on the way).
        """
        length = exchange.length
        for attempt in (1, 2):
            try:
                up_reader, up_writer, reused = await self.upstream.connect()
            except TimeoutError:
                raise _UpstreamFailed(
                    504, self._say("did not accept a connection in time")
                ) from None
            except OSError as error:
                raise _UpstreamFailed(502, self._say(_why(error))) from None
            sent = time.perf_counter()
            try:
                up_writer.write(out)
                if length:
                    if exchange.expects:
                        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    await relay_body(reader, up_writer, length)
                else:
                    await up_writer.drain()
                response = await self._final_head(up_reader, writer)
                body_length(response)  # a framing the client could not follow: a 502 now
            except (OSError, asyncio.IncompleteReadError, WireError) as error:
                up_writer.transport.abort()
                if reader.at_eof() and length:
                    raise  # the client went away while sending its body
                if reused and not length and attempt == 1 and isinstance(error, _Unanswered):
                    continue
                raise _UpstreamFailed(502, self._say(_why(error))) from None
            except BaseException:
                up_writer.transport.abort()
                raise
            return up_reader, up_writer, time.perf_counter() - sent, response
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _final_head(
        self, up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> Message:
        while True:
            head = await read_head(up_reader)
            if head is None:
                raise _Unanswered("closed the connection without an answer")
            response = parse_head(head)
            status = _status(response)
            if not 100 <= status < 200 or status == 101:
                return response
            writer.write(head)  # 100 Continue, 103 Early Hints: the client may want them

    async def _respond(
        self,
        request: Message,
        response: Message,
        keep: bool,
        up_reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """Relay the answer's head and body; whether the client connection stays open."""
        status = _status(response)
        length = None if _bodiless(request, status) else body_length(response)
        # A chunked answer that also names a length is relayed chunked, without the length.
        chunked = length is not None and length < 0
        headers = end_to_end(response.headers, drop=_LENGTH if chunked else frozenset())
        modern = request.version == b"HTTP/1.1"
        framed_out = True
        if length is not None and length < 0:
            if modern:
                headers.append((b"Transfer-Encoding", b"chunked"))
            else:  # an HTTP/1.0 client knows no chunks: the data alone, then close
                framed_out = keep = False
        elif length is None and not _bodiless(request, status):
            keep = False  # framed by the end of the upstream's connection: so is ours
        if not keep:
            headers.append((b"Connection", b"close"))
        elif not modern:
            headers.append((b"Connection", b"keep-alive"))
        head = render_head(b"HTTP/1.1 " + response.second + b" " + response.third, headers)
        if length is not None and 0 < length <= SMALL:
            # Head and small body in one write: one segment for the client to wake up for.
            writer.write(head + await up_reader.readexactly(length))
            await writer.drain()
        elif length is None and not _bodiless(request, status):
            writer.write(head)
            await relay_to_end(up_reader, writer)
        else:
            writer.write(head)
            await relay_body(up_reader, writer, length, framed=framed_out)
            await writer.drain()
        self.count_status(status)
        return keep

    def _answer(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        description: str,
        *,
        keep: bool,
        fault: bytes = b"proxy",
    ) -> None:
        """An answer the proxy makes itself: JSON ``{"code", "name", "description"}``."""
        try:
            name = HTTPStatus(status).phrase
        except ValueError:
            name = "Error"
        body = json.dumps({"code": status, "name": name, "description": description}).encode()
        headers = [
            (b"Content-Type", b"application/json"),
            (b"Content-Length", str(len(body)).encode()),
            (FAULT_HEADER, fault),
        ]
        if not keep:
            headers.append((b"Connection", b"close"))
        start = f"HTTP/1.1 {status} {name}".encode()
        writer.write(render_head(start, headers) + body)
        self.count_status(status)

    def _say(self, what: str) -> str:
        return f"errwatch proxy {self.cfg.name}: upstream {self.cfg.upstream} {what}"


def _origin_form(target: bytes) -> bytes:
    """``/path?query`` of a request target, also when sent in absolute form."""
    if target.startswith((b"http://", b"https://")):
        rest = target.split(b"/", 3)
        return b"/" + rest[3] if len(rest) > 3 else b"/"
    return target if target.startswith(b"/") else b"/" + target


def _status(response: Message) -> int:
    if not response.second.isdigit() or len(response.second) != 3:
        raise WireError("malformed status code")
    return int(response.second)


def _bodiless(request: Message, status: int) -> bool:
    return request.first == b"HEAD" or status in _NO_BODY or 100 <= status < 200


def _framed(request: Message, response: Message) -> bool:
    """Whether the answer's end was known without the connection closing (reusable)."""
    if _bodiless(request, _status(response)):
        return True
    try:
        return body_length(response) is not None
    except WireError:
        return False


def _why(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "refused the connection"
    if isinstance(error, ConnectionResetError):
        return "reset the connection"
    if isinstance(error, asyncio.IncompleteReadError):
        return "closed the connection in the middle of its answer"
    if isinstance(error, WireError):
        return f"answered something that is not HTTP/1.1 ({error})"
    return f"failed: {getattr(error, 'strerror', None) or error}"
