"""Small real apps, each instrumented by one exporter people install, for the exporter matrix.

Every app answers the same routes: ``/`` and ``/items/<id>`` (200), ``/error`` (the
injection route, 500) and ``/fail`` (a real application error, 500), and serves its
exporter's ``/metrics``. Each runs as its own process: ``python -m
tests.exporters.apps.<name> --port N``.
"""

from __future__ import annotations

import argparse


def port_argument() -> int:
    """The --port the test gave."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    return int(parser.parse_args().port)


def serve_wsgi(app: object, port: int) -> None:
    """A threaded WSGI server on loopback (werkzeug's, without its coloured request log)."""
    import logging

    from werkzeug.serving import run_simple

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    run_simple("127.0.0.1", port, app, threaded=True)  # type: ignore[arg-type]


def serve_asgi(app: object, port: int) -> None:
    """uvicorn on loopback, quiet."""
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")  # type: ignore[arg-type]
