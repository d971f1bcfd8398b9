"""FastAPI with aioprometheus's ASGI middleware and metrics route."""

from aioprometheus.asgi.middleware import MetricsMiddleware
from aioprometheus.asgi.starlette import metrics
from fastapi import FastAPI

from tests.exporters.apps import port_argument, serve_asgi
from tests.exporters.apps.fastapi_app import routes

app = routes(FastAPI())
app.add_middleware(MetricsMiddleware)
app.add_route("/metrics", metrics)

if __name__ == "__main__":
    serve_asgi(app, port_argument())
