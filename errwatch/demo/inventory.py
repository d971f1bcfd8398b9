"""The demo's backend: a small inventory service the demo API calls for stock levels.

A real Flask app in its own process (``python -m errwatch.demo.inventory``), written the
way Flask's error guide says (JSON errors), with nothing to break on purpose: when the
API fails because of it, the cause is the link between them, which `errwatch proxy`
breaks or slows.
"""

from __future__ import annotations

import argparse
from typing import Any

from flask import Flask, abort, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

STOCK: dict[int, dict[str, Any]] = {
    1: {"name": "notebook", "available": 120, "warehouse": "Lyon"},
    2: {"name": "fountain pen", "available": 35, "warehouse": "Lyon"},
    3: {"name": "ink bottle", "available": 0, "warehouse": "Lille"},
    4: {"name": "desk lamp", "available": 12, "warehouse": "Nantes"},
    5: {"name": "paper clips", "available": 4000, "warehouse": "Lille"},
}
READY_NAME = "inventory"
"""Name in the ready line (``errwatch inventory listening on http://...``)."""


def create_inventory() -> Flask:
    """The inventory service: ``GET /stock/<id>``, ``GET /stock``, ``GET /health``."""
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]

    @app.get("/stock/<int:product_id>")
    def stock(product_id: int) -> ResponseReturnValue:
        item = STOCK.get(product_id)
        if item is None:
            abort(404, description=f"No product {product_id} in the inventory.")
        return jsonify(product_id=product_id, **item)

    @app.get("/stock")
    def everything() -> ResponseReturnValue:
        return jsonify(items=[{"product_id": key, **item} for key, item in STOCK.items()])

    @app.get("/health")
    def health() -> ResponseReturnValue:
        return jsonify(status="ok")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        body = {"code": error.code, "name": error.name, "description": error.description}
        return jsonify(body), error.code or 500

    return app


def main(argv: list[str] | None = None) -> int:
    """Serve the inventory until SIGTERM or Ctrl-C."""
    from errwatch.demo.server import serve_app

    parser = argparse.ArgumentParser(prog="python -m errwatch.demo.inventory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log-file", metavar="PATH")
    args = parser.parse_args(argv)
    return serve_app(
        create_inventory(), args.host, args.port, log_file=args.log_file, name=READY_NAME
    )


if __name__ == "__main__":
    raise SystemExit(main())
