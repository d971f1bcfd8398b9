"""What the HTTP and TCP fault proxies share on the network: a listener, its connections,
a reset that is a real TCP reset, and the proxy built from a ``[[proxies]]`` entry."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import socket
import struct
import threading
from collections.abc import Awaitable, Callable

from errwatch.config import ProxyConfig
from errwatch.core.injection.faults import FaultLink
from errwatch.core.injection.httpwire import MAX_HEAD, WireError
from errwatch.core.injection.targets import check_target
from errwatch.errors import SourceError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def reset(writer: asyncio.StreamWriter) -> None:
    """Cut a connection with a TCP reset (RST), not a polite close (FIN)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class Listener(FaultLink):
    """A fault link that listens: bind, serve until closed, track every connection."""

    def __init__(self, cfg: ProxyConfig, *, allow_remote: tuple[str, ...] = ()) -> None:
        super().__init__(cfg)
        check_target(cfg.upstream, allow_remote, action="proxy faults to")
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._done: asyncio.Event | None = None
        self._closed = threading.Event()

    @property
    def listening(self) -> bool:
        """Whether the listening socket is open."""
        return self._server is not None and self._server.is_serving()

    async def open(self) -> None:
        """Bind and start accepting; SourceError (one line) when the address is not usable."""
        self._loop = asyncio.get_running_loop()
        self._closed.clear()
        self.set_state("starting")
        try:
            self._server = await self._bind(self.port)
        except OSError as error:
            reason = _reason(error)
            where = f"{self.host}:{self.port}"
            self.set_state("failed", f"cannot listen on {where}: {reason}")
            raise SourceError(
                f"proxy {self.cfg.name}: cannot listen on {where}: {reason}"
            ) from None
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        self.set_state("listening", listen=f"{self.host}:{self.port}")

    async def _bind(self, port: int) -> asyncio.Server:
        return await asyncio.start_server(
            self._accept, self.host, port, limit=MAX_HEAD, reuse_address=True, backlog=1024
        )

    async def pause_listening(self) -> None:
        """Stop accepting (new connections are refused by the system); open ones go on."""
        if self._server is not None:
            self._server.close()
            self._server = None

    async def resume_listening(self) -> None:
        """Accept again on the same port; a port taken meanwhile is a visible state."""
        if self._server is None and self._done is not None and not self._done.is_set():
            try:
                self._server = await self._bind(self.port)
            except OSError as error:
                self.set_state("failed", f"cannot listen again: {_reason(error)}")
                return
            self.set_state("listening")

    async def serve(self) -> None:
        """Listen until :meth:`shutdown` (or cancellation), then close everything."""
        self._done = asyncio.Event()
        try:
            if self._server is None:
                await self.open()
            await self._done.wait()
        finally:
            await self.close()

    def shutdown(self, reason: str = "user") -> None:
        """Stop the fault and make :meth:`serve` return (from a signal handler, any thread)."""
        if self._elsewhere():
            self._hop(self.shutdown, reason)
            return
        self.stop_fault(reason)
        if self._done is not None:
            self._done.set()

    def run_in_thread(self) -> concurrent.futures.Future[None]:
        """Serve on an event loop of its own, in a daemon thread, until :meth:`shutdown`.

        The dashboard's drawing then never holds a request, nor a flood of requests the
        drawing. The future ends when the proxy has closed (with SourceError when it
        could not listen).
        """
        ended: concurrent.futures.Future[None] = concurrent.futures.Future()

        def main() -> None:
            # The waiting side may have given up (cancelled the future): nobody to tell.
            try:
                asyncio.run(self.serve())
            except BaseException as error:  # noqa: BLE001 (handed to the waiting worker)
                with contextlib.suppress(concurrent.futures.InvalidStateError):
                    ended.set_exception(error)
            else:
                with contextlib.suppress(concurrent.futures.InvalidStateError):
                    ended.set_result(None)
            finally:
                self._closed.set()

        thread = threading.Thread(target=main, name=f"errwatch-proxy-{self.cfg.name}")
        thread.daemon = True  # a proxy never holds the process at exit
        thread.start()
        return ended

    def stop_and_wait(self, reason: str, timeout: float = 2.0) -> None:
        """Shut down and, when serving in a thread, wait until everything is closed."""
        elsewhere = self._elsewhere()
        self.shutdown(reason)
        if elsewhere:
            self._closed.wait(timeout)

    async def close(self) -> None:
        """Stop listening and cut every connection; nothing is left open."""
        if self._done is not None:
            self._done.set()
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.close_upstream()
        if self._head.state != "failed":
            self.set_state("stopped")
        self._closed.set()

    def close_upstream(self) -> None:
        """Hook: close idle upstream connections."""

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.count_connection()
        try:
            await self.handle(reader, writer)
        except (OSError, asyncio.IncompleteReadError, WireError):
            pass  # the client went away, or broke framing mid-body: nothing more to say
        except asyncio.CancelledError:
            # close() cancels us. Ending quietly matters: asyncio (3.11) logs a cancelled
            # connection handler as an error.
            writer.transport.abort()
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()  # what was written still goes out, then FIN (a reset aborted it)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One client connection, until it ends."""
        raise NotImplementedError


def _reason(error: OSError) -> str:
    # asyncio rewords bind errors ("error while attempting to bind on address..."): the
    # system's own words are shorter.
    return os.strerror(error.errno) if error.errno else str(error)


def build_proxy(cfg: ProxyConfig, *, allow_remote: tuple[str, ...] = ()) -> Listener:
    """The HTTP proxy for an http(s):// upstream, the TCP proxy for a tcp:// one."""
    if cfg.tcp:
        from errwatch.core.injection.tcpproxy import TcpProxy

        return TcpProxy(cfg, allow_remote=allow_remote)
    from errwatch.core.injection.proxy import HttpProxy

    return HttpProxy(cfg, allow_remote=allow_remote)
