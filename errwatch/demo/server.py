"""`errwatch demo-app`: serve the demo API alone, on loopback by default."""

from __future__ import annotations

import signal
import sys
from types import FrameType

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from errwatch.demo.api import configure_logging, create_app
from errwatch.errors import UsageError

READY_PREFIX = "errwatch demo-app listening on"
"""First line the demo API prints on stdout once the socket accepts connections."""


class _KeepAliveHandler(WSGIRequestHandler):
    # HTTP/1.1 keeps connections open, as a production server would; the default
    # HTTP/1.0 opens one TCP connection per request and saturates far earlier.
    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Scrapes are not traffic: a 1 s scrape would add 86,400 lines a day to the log.
        if self.path != "/metrics":
            super().log_request(code, size)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(
    host: str,
    port: int,
    *,
    log_file: str | None,
    enable_test_routes: bool,
    inventory_url: str | None = None,
) -> int:
    """Run the demo API until SIGTERM or Ctrl-C; print the ready line with the real port."""
    app = create_app(enable_test_routes=enable_test_routes, inventory_url=inventory_url)
    return serve_app(app, host, port, log_file=log_file, name="demo-app")


def ready_prefix(name: str) -> str:
    """The start of the line a demo service prints once it listens."""
    return f"errwatch {name} listening on"


def serve_app(app: Flask, host: str, port: int, *, log_file: str | None, name: str) -> int:
    """Serve a Flask app until SIGTERM or Ctrl-C; print the ready line with the real port."""
    configure_logging(log_file)
    try:
        server = make_server(host, port, app, threaded=True, request_handler=_KeepAliveHandler)
    except OSError as error:
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    signal.signal(signal.SIGTERM, _stop)
    print(f"{ready_prefix(name)} http://{host}:{server.server_port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()
    return 0
