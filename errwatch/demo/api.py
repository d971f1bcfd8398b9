"""The seed's "API principale": a small JSON API written the way Flask's error guide says.

- an app factory; JSON for every error (``{"code", "name", "description"}``);
- a global handler that logs any unhandled exception with its full traceback
  (the seed's missing "global middleware") and answers a JSON 500;
- test routes (``/error`` divides by zero) only when enabled, off by default
  (the seed's lesson about a test route exposed without restriction);
- with test routes, a failure switch (``POST /_test/failures``) that makes a normal
  route raise on a share of its requests: real application errors on demand;
- ``http_requests_total{method, endpoint, status}`` with every label set a route can
  produce created at start, so the first 500 is visible to ``rate()``;
- ``/api/products/<id>`` asks the inventory service for stock (httpx, with a timeout),
  through errwatch's proxy in the demo. Its failures have handlers of their own, as the
  guide advises for specific exceptions: a timeout is a 504, a connection that fails or
  is cut a 502, an error status from the inventory a 502; each logs its traceback.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from logging.handlers import WatchedFileHandler
from typing import Any

import httpx
from flask import Flask, abort, jsonify, request
from flask.typing import ResponseReturnValue
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    ProcessCollector,
    generate_latest,
)
from werkzeug.exceptions import BadGateway, GatewayTimeout, HTTPException, InternalServerError

INJECTION_HEADER = "X-Errwatch-Injection"
"""Header errwatch's fault injection puts on every request it sends."""

UNMATCHED = "<unmatched>"
"""Endpoint label of requests that match no route (404)."""

FAILURES_RULE = "/_test/failures"
"""Test route switching failures of normal routes on and off."""

PRODUCTS_RULE = "/api/products/<int:product_id>"
"""The route that calls the inventory service."""
INVENTORY_TIMEOUT = 1.0
"""Seconds the API waits for the inventory before answering 504."""


LOG_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"

USERS: dict[int, dict[str, Any]] = {
    1: {"id": 1, "name": "Ada Lovelace", "email": "ada@example.test"},
    2: {"id": 2, "name": "Grace Hopper", "email": "grace@example.test"},
    3: {"id": 3, "name": "Alan Turing", "email": "alan@example.test"},
}


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """A route, its method and every status it can answer."""

    rule: str
    method: str
    statuses: tuple[int, ...]
    test_only: bool = False


ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec("/", "GET", (200, 500)),
    RouteSpec("/health", "GET", (200, 500)),
    RouteSpec("/api/users", "GET", (200, 500)),
    RouteSpec("/api/users/<int:user_id>", "GET", (200, 404, 500)),
    RouteSpec("/api/orders", "POST", (201, 400, 500)),
    RouteSpec(PRODUCTS_RULE, "GET", (200, 404, 500, 502, 503, 504)),
    RouteSpec("/error", "GET", (500,), test_only=True),
    RouteSpec(FAILURES_RULE, "GET", (200,), test_only=True),
    RouteSpec(FAILURES_RULE, "POST", (200, 400), test_only=True),
)


class SimulatedFailure(RuntimeError):
    """Raised by a route whose failure switch is on: an unhandled error like any other."""


class FailureSwitch:
    """Which normal routes fail on purpose, and how often (thread-safe: werkzeug is threaded).

    Deterministic, not random: with a ratio of 0.5 every second request fails, so a
    test knows what the counters must say.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ratios: dict[str, float] = {}
        self._credit: dict[str, float] = {}

    def set(self, rule: str, ratio: float) -> None:
        """Make ``rule`` fail on ``ratio`` (0..1) of its requests; 0 turns it off."""
        with self._lock:
            self._credit.pop(rule, None)
            if ratio > 0:
                self._ratios[rule] = ratio
            else:
                self._ratios.pop(rule, None)

    def ratios(self) -> dict[str, float]:
        """The routes that fail, with their ratio."""
        with self._lock:
            return dict(self._ratios)

    def should_fail(self, rule: str) -> float | None:
        """The route's ratio if this request must fail, else None."""
        with self._lock:
            ratio = self._ratios.get(rule)
            if ratio is None:
                return None
            credit = self._credit.get(rule, 0.0) + ratio
            failing = credit >= 1.0 - 1e-9
            self._credit[rule] = credit - 1.0 if failing else credit
            return ratio if failing else None


def create_app(
    *,
    enable_test_routes: bool = False,
    registry: CollectorRegistry | None = None,
    inventory_url: str | None = None,
    inventory_timeout: float = INVENTORY_TIMEOUT,
) -> Flask:
    """Build the demo API; test routes exist only when ``enable_test_routes`` is true;
    ``/api/products/<id>`` asks ``inventory_url`` (503 when there is none)."""
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["ENABLE_TEST_ROUTES"] = enable_test_routes
    if registry is None:
        registry = CollectorRegistry()
        # What prometheus_client's default registry exports beside the app's own
        # metrics: process_start_time_seconds tells a restart from processes in turn.
        ProcessCollector(registry=registry)
    requests_total = Counter(
        "http_requests_total",
        "HTTP requests answered, by method, route template and status.",
        ["method", "endpoint", "status"],
        registry=registry,
    )
    for spec in ROUTES:
        if spec.test_only and not enable_test_routes:
            continue
        for status in spec.statuses:
            requests_total.labels(spec.method, spec.rule, str(status))
    requests_total.labels("GET", UNMATCHED, "404")

    _add_routes(app)
    inventory = (
        httpx.Client(base_url=inventory_url, timeout=inventory_timeout) if inventory_url else None
    )
    _add_product_route(app, inventory, inventory_timeout)
    if enable_test_routes:
        _add_test_routes(app, FailureSwitch())
    _add_error_handlers(app)

    @app.after_request
    def count_request(response: Any) -> Any:
        if request.path != "/metrics":
            rule = request.url_rule.rule if request.url_rule is not None else UNMATCHED
            requests_total.labels(request.method, rule, str(response.status_code)).inc()
        return response

    @app.get("/metrics")
    def metrics() -> ResponseReturnValue:
        return generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST}

    return app


def _add_routes(app: Flask) -> None:
    @app.get("/")
    def index() -> ResponseReturnValue:
        rules = sorted(str(rule) for rule in app.url_map.iter_rules() if rule.endpoint != "static")
        return jsonify(service="errwatch demo API", routes=rules)

    @app.get("/health")
    def health() -> ResponseReturnValue:
        return jsonify(status="ok")

    @app.get("/api/users")
    def list_users() -> ResponseReturnValue:
        return jsonify(users=list(USERS.values()))

    @app.get("/api/users/<int:user_id>")
    def get_user(user_id: int) -> ResponseReturnValue:
        user = USERS.get(user_id)
        if user is None:
            abort(404, description=f"No user with id {user_id}.")
        return jsonify(user)

    @app.post("/api/orders")
    def create_order() -> ResponseReturnValue:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or payload.get("user_id") not in USERS:
            abort(400, description='Send JSON {"user_id": <known id>, "item": <text>}.')
        item = payload.get("item")
        if not isinstance(item, str) or not item:
            abort(400, description='"item" must be a non-empty string.')
        return jsonify(user_id=payload["user_id"], item=item, status="accepted"), 201


def _add_product_route(app: Flask, inventory: httpx.Client | None, timeout: float) -> None:
    @app.get(PRODUCTS_RULE)
    def get_product(product_id: int) -> ResponseReturnValue:
        if inventory is None:
            abort(503, description="No inventory service is configured (--inventory-url).")
        answer = inventory.get(f"/stock/{product_id}")
        if answer.status_code == 404:
            abort(404, description=f"No product with id {product_id}.")
        answer.raise_for_status()  # a 5xx from the inventory is the inventory's failure
        stock = answer.json()
        return jsonify(product_id=product_id, name=stock["name"], available=stock["available"] > 0)

    # One handler per failure of the dependency, the most specific one wins (Flask's
    # error guide): each logs its traceback and says in JSON what the client can expect.
    @app.errorhandler(httpx.TimeoutException)
    def inventory_timeout(error: httpx.TimeoutException) -> ResponseReturnValue:
        _log_exception(app, error)
        return _error_body(
            GatewayTimeout(f"The inventory service did not answer within {timeout:g} s.")
        )

    @app.errorhandler(httpx.TransportError)
    def inventory_unreachable(error: httpx.TransportError) -> ResponseReturnValue:
        _log_exception(app, error)
        return _error_body(
            BadGateway("The inventory service could not be reached or cut the connection.")
        )

    @app.errorhandler(httpx.HTTPStatusError)
    def inventory_failed(error: httpx.HTTPStatusError) -> ResponseReturnValue:
        _log_exception(app, error)
        status = error.response.status_code
        return _error_body(BadGateway(f"The inventory service answered {status}."))


def _add_test_routes(app: Flask, switch: FailureSwitch) -> None:
    @app.get("/error")
    def error() -> ResponseReturnValue:
        # Deliberate, as in the seed: the supervision chain must see this 500.
        ratio = 1 / 0
        return jsonify(ratio=ratio)

    normal = {spec.rule for spec in ROUTES if not spec.test_only}

    @app.before_request
    def fail_on_demand() -> None:
        rule = request.url_rule.rule if request.url_rule is not None else None
        ratio = switch.should_fail(rule) if rule in normal else None
        if rule is not None and ratio is not None:
            raise SimulatedFailure(f"failure switch on {rule}: {ratio:.0%} of requests fail")

    @app.get(FAILURES_RULE)
    def list_failures() -> ResponseReturnValue:
        return jsonify(failures=switch.ratios())

    @app.post(FAILURES_RULE)
    def set_failures() -> ResponseReturnValue:
        payload = request.get_json(silent=True)
        payload = payload if isinstance(payload, dict) else {}
        rule, ratio = payload.get("route"), payload.get("ratio")
        if rule not in normal:
            known = ", ".join(sorted(normal))
            abort(400, description=f'"route" must be one of: {known}.')
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 <= ratio <= 1:
            abort(400, description='"ratio" must be a number from 0 (off) to 1 (every request).')
        switch.set(rule, float(ratio))
        return jsonify(failures=switch.ratios())


def _add_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        return _error_body(error)

    @app.errorhandler(Exception)
    def unhandled(error: Exception) -> ResponseReturnValue:
        _log_exception(app, error)
        return _error_body(InternalServerError())


def _log_exception(app: Flask, error: BaseException) -> None:
    """The error's traceback in the log, first line as Flask's own log_exception writes it
    (so log tools recognise the route and method), with errwatch's injection header."""
    injection = request.headers.get(INJECTION_HEADER)
    suffix = f" ({INJECTION_HEADER}: {injection})" if injection else ""
    app.logger.error("Exception on %s [%s]%s", request.path, request.method, suffix, exc_info=error)


def _error_body(error: HTTPException) -> ResponseReturnValue:
    code = error.code or 500
    body = {"code": code, "name": error.name, "description": error.description}
    return jsonify(body), code


def configure_logging(log_file: str | None) -> None:
    """Send every record (the app's and werkzeug's access log) to ``log_file`` or stderr.

    The file is reopened when something renames it away (logrotate's default), as a
    service under rotation does; a plain FileHandler would write on into the old file.
    """
    handler: logging.Handler
    handler = (
        WatchedFileHandler(log_file, encoding="utf-8") if log_file else logging.StreamHandler()
    )
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
