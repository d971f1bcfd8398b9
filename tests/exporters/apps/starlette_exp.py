"""FastAPI (Starlette) with starlette-exporter's middleware and handler."""

from fastapi import FastAPI
from starlette_exporter import PrometheusMiddleware, handle_metrics

from tests.exporters.apps import port_argument, serve_asgi
from tests.exporters.apps.fastapi_app import routes

app = routes(FastAPI())
app.add_middleware(PrometheusMiddleware)
app.add_route("/metrics", handle_metrics)

if __name__ == "__main__":
    serve_asgi(app, port_argument())
