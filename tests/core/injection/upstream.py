"""A real HTTP upstream for the proxy's tests: a Flask app served by werkzeug (HTTP/1.1,
keep-alive, chunked streaming), in a thread on a free loopback port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import Flask, Response, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

BINARY = bytes(range(256)) * 4096
"""1 MiB of every byte value."""


class _KeepAlive(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class Upstream:
    """The running server and what it saw."""

    url: str
    peers: list[str] = field(default_factory=list)
    """The client address of every request, in order (one per kept-alive connection)."""


def _app(state: Upstream) -> Flask:
    app = Flask(__name__)

    @app.before_request
    def remember() -> None:
        state.peers.append(f"{request.environ['REMOTE_ADDR']}:{request.environ['REMOTE_PORT']}")

    @app.route("/echo", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    @app.route("/echo/<path:rest>", methods=["GET", "POST"])
    def echo(rest: str = "") -> Response:
        body = request.get_data()
        headers = [[name, value] for name, value in request.headers.items()]
        answer = jsonify(
            method=request.method,
            path=request.full_path,
            headers=headers,
            body=body.decode("latin-1"),
            chunked="chunked" in request.headers.get("Transfer-Encoding", ""),
        )
        answer.headers["X-Upstream"] = "echo"
        answer.headers.add("Set-Cookie", "a=1; Path=/")
        answer.headers.add("Set-Cookie", "b=2; Path=/")
        return answer

    @app.get("/binary")
    def binary() -> Response:
        return Response(BINARY, mimetype="application/octet-stream")

    @app.get("/stream")
    def stream() -> Response:
        lines = (f'{{"n": {n}}}\n'.encode() for n in range(int(request.args.get("n", 50))))
        return Response(lines, mimetype="application/x-ndjson")  # no length: chunked

    @app.get("/status/<int:code>")
    def status(code: int) -> Response:
        return Response(f"status {code}", status=code)

    return app


@contextmanager
def upstream() -> Iterator[Upstream]:
    """Serve the app on 127.0.0.1, on a free port, until the block ends."""
    state = Upstream(url="")
    server = make_server("127.0.0.1", 0, _app(state), threaded=True, request_handler=_KeepAlive)
    state.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
