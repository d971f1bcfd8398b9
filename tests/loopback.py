"""A small HTTP server on loopback for the failure shapes a real engine will not produce on
demand: a 503 while starting, a body cut short, a proxy's HTML page, a NaN, no answer, a
slow answer."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    """What the server answers: a status, a content type, a body; ``length`` may lie."""

    status: int = 200
    content_type: str = "application/json"
    body: bytes = b""
    length: int | None = None
    hang: bool = False
    """Accept the request and never answer (until the server stops)."""
    delay: float = 0.0
    """Seconds to wait before answering (a slow upstream)."""


@dataclass
class Loopback:
    """The running server: set ``reply`` (or ``route``) and read what it received."""

    url: str
    reply: Reply = field(default_factory=Reply)
    route: Callable[[str], Reply] | None = None
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def matrix(*series: tuple[dict[str, str], list[tuple[float, str]]]) -> Reply:
    """A 200 query_range answer with the given (labels, [(time, value)]) series."""
    result = [
        {"metric": labels, "values": [[t, v] for t, v in values]} for labels, values in series
    ]
    body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    return Reply(body=json.dumps(body).encode())


def vector(*samples: tuple[dict[str, str], float, str]) -> Reply:
    """A 200 instant query answer."""
    result = [{"metric": labels, "value": [t, v]} for labels, t, v in samples]
    body = {"status": "success", "data": {"resultType": "vector", "result": result}}
    return Reply(body=json.dumps(body).encode())


@contextmanager
def loopback() -> Iterator[Loopback]:
    """Serve on 127.0.0.1 on a free port until the block ends."""
    state: Loopback

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append((self.path, dict(self.headers.items())))
            reply = state.route(self.path) if state.route is not None else state.reply
            if reply.hang:
                state.stop.wait()
                return
            if reply.delay:
                state.stop.wait(reply.delay)
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            length = len(reply.body) if reply.length is None else reply.length
            self.send_header("Content-Length", str(length))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(reply.body)
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = Loopback(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
