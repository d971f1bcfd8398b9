"""Servers of the shapes a real one will not produce on demand, on loopback.

A proxy that records every connection that reaches it (named in HTTP_PROXY, it should
never be asked), and a server that drips its answer a byte at a time.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import Self


class _Server:
    """Accepts connections on 127.0.0.1 and hands each to :meth:`handle` on its own thread."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                peer, _ = self._socket.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handle, args=(peer,), daemon=True).start()

    def _handle(self, peer: socket.socket) -> None:
        with peer:
            try:
                self.handle(peer)
            except OSError:
                return

    def handle(self, peer: socket.socket) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(2)
        self._socket.close()


class RecordingProxy(_Server):
    """Keeps the first bytes of every connection and answers 200 OK, as a proxy might."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[bytes] = []

    def handle(self, peer: socket.socket) -> None:
        peer.settimeout(1)
        self.requests.append(peer.recv(65536))
        peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def environ(self) -> dict[str, str]:
        """Every proxy variable the HTTP clients errwatch uses would honour, pointing here."""
        names = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
        return {**{n: self.url for n in names}, **{n.lower(): self.url for n in names}}


class DrippingServer(_Server):
    """Answers every request with a valid HTTP answer, sent one byte every ``interval`` s."""

    ANSWER = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n"
        + b'{"status":"success","data":{"resultType":"matrix","result":[]}}  '
    )

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__()
        self.interval = interval

    def handle(self, peer: socket.socket) -> None:
        peer.recv(65536)
        for byte in self.ANSWER:
            if self._stop.wait(self.interval):
                return
            peer.sendall(bytes([byte]))
