"""FastAPI's routes, shared by the ASGI apps of the matrix."""

from fastapi import FastAPI
from fastapi.responses import JSONResponse


def routes(app: FastAPI) -> FastAPI:
    """/, /items/{item_id}, /error (500), /fail (500)."""

    @app.get("/")
    def index() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/items/{item_id}")
    def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/error")
    def error() -> JSONResponse:
        return JSONResponse({"error": "division by zero"}, status_code=500)

    @app.get("/fail")
    def fail() -> JSONResponse:
        return JSONResponse({"error": "the database is gone"}, status_code=500)

    return app
