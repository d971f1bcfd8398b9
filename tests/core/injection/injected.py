"""What a target saw of an injection: arrivals from the demo API's own log; when requests
left the injector; a hanging peer."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime
from pathlib import Path
from types import TracebackType

import httpx

_EXCEPTION = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ERROR .*Exception on \S+ \[\w+\]"
    r" \(X-Errwatch-Injection: (\w+)\)$",
    re.MULTILINE,
)


def arrivals(log_file: Path, run_id: str) -> list[float]:
    """Unix times at which the demo API logged the failure of each request of ``run_id``.

    The global handler logs each unhandled exception with a millisecond timestamp and
    the request's injection header: the server's own account of when requests arrived.
    """
    text = log_file.read_text(errors="replace")
    return [
        datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
        for stamp, run in _EXCEPTION.findall(text)
        if run == run_id
    ]


def span_rate(times: list[float]) -> float:
    """Requests per second between the first and the last arrival."""
    return (len(times) - 1) / (times[-1] - times[0])


class Clocked(httpx.AsyncHTTPTransport):
    """The real transport, noting when each request left: the injector's schedule on its
    own clock, apart from how long a busy API takes to handle and log it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(time.time())
        return await super().handle_async_request(request)


class HangingPeer:
    """A loopback TCP server that accepts, reads, and never answers (a hung upstream).

    A real API cannot be made to hang on demand; this is the failure shape it stands for.
    """

    def __init__(self) -> None:
        self.accepted: list[float] = []
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted.append(time.time())
        self._writers.append(writer)
        while await reader.read(65536):
            pass

    async def __aenter__(self) -> HangingPeer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()
