"""Flask instrumented by OpenTelemetry, exported by opentelemetry-exporter-prometheus.

``OTEL_SEMCONV_STABILITY_OPT_IN=http`` in the environment gives the stable HTTP
conventions (``http_server_request_duration_seconds``); without it, the old ones.
"""

from flask import Flask
from opentelemetry import metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import make_wsgi_app
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from tests.exporters.apps import port_argument, serve_wsgi
from tests.exporters.apps.flask_routes import routes

metrics.set_meter_provider(MeterProvider(metric_readers=[PrometheusMetricReader()]))
app = routes(Flask(__name__))
FlaskInstrumentor().instrument_app(app)


if __name__ == "__main__":
    serve_wsgi(DispatcherMiddleware(app, {"/metrics": make_wsgi_app()}), port_argument())
