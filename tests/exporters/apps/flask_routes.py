"""The routes of the Flask apps of the matrix: /, /items/<id>, /error (500), /fail (500),
and /once (500), asked once by the test of a new label set's first error."""

from flask import Flask


def routes(app: Flask) -> Flask:
    """Add the four routes to ``app``."""

    @app.get("/")
    def index() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/items/<int:item_id>")
    def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/error")
    def error() -> tuple[dict[str, str], int]:
        return {"error": "division by zero"}, 500

    @app.get("/fail")
    def fail() -> tuple[dict[str, str], int]:
        return {"error": "the database is gone"}, 500

    @app.get("/once")
    def once() -> tuple[dict[str, str], int]:
        return {"error": "rare"}, 500

    return app
