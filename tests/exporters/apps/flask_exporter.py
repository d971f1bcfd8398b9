"""Flask with prometheus-flask-exporter's defaults."""

from flask import Flask
from prometheus_flask_exporter import PrometheusMetrics

from tests.exporters.apps import port_argument, serve_wsgi
from tests.exporters.apps.flask_routes import routes

app = routes(Flask(__name__))
PrometheusMetrics(app)

if __name__ == "__main__":
    serve_wsgi(app, port_argument())
