"""A loopback HTTP proxy that records every connection that reaches it and answers 200.

A hostile or merely corporate proxy named in HTTP_PROXY is the failure shape here: no
real server stands in for "a proxy that should never have been asked".
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType


class RecordingProxy:
    """Accepts connections on 127.0.0.1, keeps the first bytes of each, answers 200 OK."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
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
            with peer:
                peer.settimeout(1)
                try:
                    self.requests.append(peer.recv(65536))
                    peer.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    )
                except OSError:
                    pass

    def environ(self) -> dict[str, str]:
        """Every proxy variable the HTTP clients errwatch uses would honour, pointing here."""
        names = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
        return {**{n: self.url for n in names}, **{n.lower(): self.url for n in names}}

    def __enter__(self) -> RecordingProxy:
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
