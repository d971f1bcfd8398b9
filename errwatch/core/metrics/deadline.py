"""One deadline for a whole HTTP answer (connect, headers, body), and a cap on its size.

requests' timeout applies to each socket operation: a server that sends one byte a second
never times out, and `errwatch check --duration 3s` would run for ever. A
:class:`DeadlineSession` runs a watchdog per request; at the deadline it shuts the
request's socket down, the blocked read ends at once, and the request fails as a
``requests.Timeout``. A body larger than the cap fails the same way, before it fills
memory. Proxy variables are ignored; a proxy is used only when the config names one.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

MAX_ANSWER = 64 * 1024**2
"""The largest answer read (bytes): no range query errwatch asks comes near it."""

_current = threading.local()


class _Watch:
    """The socket of the request in flight on one thread, and whether its time is up."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.expired = False
        self._lock = threading.Lock()

    def track(self, sock: socket.socket | None) -> None:
        with self._lock:
            self.sock = sock
            if self.expired:
                _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            _shut(self.sock)


def _shut(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _track(sock: socket.socket | None) -> None:
    watch: _Watch | None = getattr(_current, "watch", None)
    if watch is not None:
        watch.track(sock)


class _Tracked:
    """Tells the thread's watch which socket a connection reads from (new or kept alive)."""

    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        _track(sock)  # before a TLS handshake, which a slow server can drip too
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _track(self.sock)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Tracked, HTTPConnection):
    pass


class _HTTPSConnection(_Tracked, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS has pools of its own
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


class DeadlineSession(requests.Session):
    """A session whose every request ends within ``deadline`` seconds, all included."""

    def __init__(self, deadline: float, *, proxy: str = "", max_bytes: int = MAX_ANSWER) -> None:
        super().__init__()
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.trust_env = False  # HTTP_PROXY and .netrc are not the config
        if proxy:
            self.proxies = {"http": proxy, "https": proxy}
        adapter = _Adapter()
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def mount(self, prefix: str | bytes, adapter: Any) -> None:
        """Mount ``adapter``; a plain HTTPAdapter (prometheus-api-client mounts one with its
        retry policy) becomes a watched one with the same retries."""
        if isinstance(adapter, HTTPAdapter) and not isinstance(adapter, _Adapter):
            adapter = _Adapter(max_retries=adapter.max_retries)
        super().mount(prefix, adapter)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send with the watchdog armed; the body is read here, within the deadline."""
        stream = kwargs.pop("stream", False)
        watch, outer = _Watch(), getattr(_current, "watch", None)
        _current.watch = watch
        timer = threading.Timer(self.deadline, watch.expire)
        timer.daemon = True
        timer.start()
        try:
            response = super().send(request, stream=True, **kwargs)
            if not stream:
                self._read_body(response)
        except (requests.RequestException, OSError) as error:
            if watch.expired:
                raise requests.Timeout(f"no whole answer within {self.deadline:g}s") from error
            raise
        finally:
            timer.cancel()
            _current.watch = outer
        return response

    def _read_body(self, response: requests.Response) -> None:
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > self.max_bytes:
                response.close()
                raise requests.ConnectionError(
                    f"answer larger than {self.max_bytes // 1024**2} MiB: not read further"
                )
            chunks.append(chunk)
        response._content = b"".join(chunks)
        response._content_consumed = True  # type: ignore[attr-defined]
