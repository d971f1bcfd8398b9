"""FastAPI with prometheus-fastapi-instrumentator; ``--ungrouped`` keeps status codes whole."""

import sys

from fastapi import FastAPI
from prometheus_fastapi_instrumentator import Instrumentator

from tests.exporters.apps import serve_asgi
from tests.exporters.apps.fastapi_app import routes

ungrouped = "--ungrouped" in sys.argv
if ungrouped:
    sys.argv.remove("--ungrouped")
app = routes(FastAPI())
Instrumentator(should_group_status_codes=not ungrouped).instrument(app).expose(app)

if __name__ == "__main__":
    from tests.exporters.apps import port_argument

    serve_asgi(app, port_argument())
