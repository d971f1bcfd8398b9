"""`errwatch proxy --tcp`: faults on a link that does not speak HTTP (Redis, PostgreSQL).

Bytes are relayed both ways untouched. A fault touches a share of the connections:

- **delay**: every piece of data the client sends waits ``delay`` before it goes on
  (order kept), so each request/reply round trip takes that much longer;
- **reset**: at the next data the client sends, both connections are cut with a TCP
  reset, and the client's request gets no answer;
- **refuse**: new connections are refused. At ratio 1 the proxy stops listening, so a
  client gets ``ECONNREFUSED`` exactly as from a dead server; below 1 a system cannot
  refuse one connection of a listening port, so the picked ones are reset as soon as
  they are accepted, before any byte reaches the upstream.

Connections already open when a window starts are picked from too (a pooled client keeps
its connections for hours); refuse concerns new connections only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from urllib.parse import urlsplit

from errwatch.config import ProxyConfig
from errwatch.core.injection.httpwire import CHUNK
from errwatch.core.injection.links import Listener, reset

CONNECT_TIMEOUT = 5.0
"""Seconds to open the upstream connection; past it the client's connection is reset."""


class _Link:
    """One client connection and its upstream connection."""

    def __init__(
        self,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        fault: str | None,
    ) -> None:
        self.client_reader, self.client_writer = client
        self.up_reader, self.up_writer = upstream
        self.fault = fault
        self.pending: deque[tuple[float, float, bytes]] = deque()
        """(due, arrived, data) held by a delay, in order."""
        self.releasing: asyncio.Task[None] | None = None

    def cut(self) -> None:
        """Reset both connections."""
        reset(self.client_writer)
        reset(self.up_writer)


class TcpProxy(Listener):
    """A TCP relay in front of a tcp://host:port upstream, with connection faults."""

    def __init__(self, cfg: ProxyConfig, *, allow_remote: tuple[str, ...] = ()) -> None:
        super().__init__(cfg, allow_remote=allow_remote)
        parts = urlsplit(cfg.upstream)
        self.up_host = parts.hostname or "127.0.0.1"
        self.up_port = parts.port or 0
        self._links: set[_Link] = set()
        self._refusing = False

    def fault_started(self) -> None:
        if self.fault.kind == "refuse":
            if self.fault.ratio >= 1:
                self._refusing = True
                asyncio.get_running_loop().create_task(self._stop_accepting())
            return
        for link in self._links:
            if self.pick():
                self._mark(link, self.fault.kind)

    def fault_stopped(self) -> None:
        for link in self._links:
            link.fault = None
        if self._refusing:
            self._refusing = False
            with contextlib.suppress(RuntimeError):  # no loop: the listener is gone anyway
                asyncio.get_running_loop().create_task(self.resume_listening())

    async def _stop_accepting(self) -> None:
        if self._refusing:
            await self.pause_listening()
            self.set_state("refusing", "not listening: new connections are refused")

    def _mark(self, link: _Link, kind: str | None) -> None:
        link.fault = kind
        if kind == "delay":
            self.count_fault("delay")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        kind = self.fault.kind if self.active and self.pick() else None
        if kind == "refuse":
            self.count_fault("refuse")
            reset(writer)
            return
        try:
            upstream = await asyncio.wait_for(
                asyncio.open_connection(self.up_host, self.up_port), CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError):
            self.count_upstream_error()
            reset(writer)
            return
        self.count_forwarded()
        link = _Link((reader, writer), upstream, None)
        self._mark(link, kind)
        self._links.add(link)
        pumps = [
            asyncio.create_task(self._pump_up(link)),
            asyncio.create_task(self._pump_down(link)),
        ]
        try:
            done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
            if any(not task.cancelled() and task.exception() for task in done):
                link.cut()  # one side failed: the other must not wait for it forever
            await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            self._links.discard(link)
            for task in (*pumps, link.releasing):
                if task is not None:
                    task.cancel()
            link.up_writer.close()

    async def _pump_up(self, link: _Link) -> None:
        """Client -> upstream, through the delay or the reset when the link is faulted."""
        loop = asyncio.get_running_loop()
        while data := await link.client_reader.read(CHUNK):
            if link.fault == "reset":
                self.count_fault("reset")
                link.cut()
                return
            if link.fault == "delay" or link.pending:
                now = loop.time()
                wait = self.fault.delay if link.fault == "delay" else 0.0
                link.pending.append((now + wait, now, data))
                if link.releasing is None or link.releasing.done():
                    link.releasing = loop.create_task(self._release(link))
                continue
            link.up_writer.write(data)
            await link.up_writer.drain()
        if link.releasing is not None:
            await link.releasing
        if link.up_writer.can_write_eof():
            link.up_writer.write_eof()

    async def _release(self, link: _Link) -> None:
        """Send held data once it is due, in order."""
        loop = asyncio.get_running_loop()
        while link.pending:
            due, arrived, data = link.pending[0]
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            link.pending.popleft()
            link.up_writer.write(data)
            self.count_added(loop.time() - arrived)
            await link.up_writer.drain()

    async def _pump_down(self, link: _Link) -> None:
        """Upstream -> client, untouched."""
        while data := await link.up_reader.read(CHUNK):
            link.client_writer.write(data)
            await link.client_writer.drain()
        if link.client_writer.can_write_eof():
            link.client_writer.write_eof()
