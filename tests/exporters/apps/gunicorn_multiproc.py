"""A Flask app under gunicorn with several workers, counted by prometheus_client.

With ``PROMETHEUS_MULTIPROC_DIR`` set, the workers share their counters through files
(prometheus_client's multiprocess mode) and /metrics adds them up; without it, each
worker answers with its own counters, which then jump between scrapes.
"""

import os

from flask import Flask, Response, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
)

from tests.exporters.apps.flask_routes import routes

app = routes(Flask(__name__))
REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "handler", "code"])


@app.after_request
def count(response: Response) -> Response:
    if request.path != "/metrics":
        rule = request.url_rule.rule if request.url_rule else "none"
        REQUESTS.labels(request.method, rule, str(response.status_code)).inc()
    return response


@app.get("/metrics")
def metrics() -> Response:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
