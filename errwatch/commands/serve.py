"""`errwatch serve`: the dashboard in a browser, through textual-serve (loopback by default).

The served dashboard has the fault-injection button: beyond loopback, anyone who reaches
the port could press it. Serving there takes ``--public``, says so, and every page and
websocket then needs a token that only the person who started the server is shown.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import TYPE_CHECKING, Any

from errwatch.commands import output
from errwatch.commands.common import config_path
from errwatch.core.injection.targets import is_allowed
from errwatch.errors import UsageError

if TYPE_CHECKING:
    from aiohttp import web

TOKEN_COOKIE = "errwatch_token"


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add `serve`."""
    serve = commands.add_parser(
        "serve", parents=[common], help="serve the dashboard in a web browser (textual-serve)"
    )
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument(
        "--public",
        action="store_true",
        help="allow a --host beyond loopback; pages then need the token printed at start",
    )
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="the URL browsers reach the server at, when it is not http://HOST:PORT",
    )
    serve.add_argument(
        "--demo", action="store_true", help="serve `errwatch demo` (its own stack per browser tab)"
    )
    serve.set_defaults(run=run_serve)


def served_command(args: argparse.Namespace) -> str:
    """The command each browser session runs: this errwatch, same config."""
    import os

    argv = [sys.executable, "-m", "errwatch"]
    path = config_path(args, os.environ)
    if path is not None:
        argv += ["--config", str(path.resolve())]
    if args.demo:
        argv.append("demo")
    return shlex.join(argv)


def check_exposure(host: str, port: int, public: bool) -> None:
    """Refuse a port out of range, and a host beyond loopback without ``--public``."""
    if not 1 <= port <= 65535:
        raise UsageError(f"--port: must be between 1 and 65535, got {port}")
    if not is_allowed(host) and not public:
        raise UsageError(
            f"--host {host}: anyone who reaches port {port} there could start fault injection "
            "from the served dashboard; add --public to serve it anyway (behind a token)"
        )


def public_url(host: str, port: int) -> str:
    """Where a browser reaches ``host``: this machine's name for an any-address bind."""
    if host in ("0.0.0.0", "::", ""):
        import socket

        host = socket.getfqdn()
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def token_middleware(token: str) -> Any:
    """An aiohttp middleware: the token in ``?token=`` (then a cookie) or 403."""
    import secrets

    from aiohttp import web

    @web.middleware
    async def require_token(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/static/"):  # the page's scripts and fonts: no data
            return await handler(request)  # type: ignore[no-any-return]
        given = request.query.get("token") or request.cookies.get(TOKEN_COOKIE) or ""
        if not secrets.compare_digest(given.encode(), token.encode()):
            return web.Response(
                status=403,
                text="errwatch: this dashboard needs the token `errwatch serve` printed\n",
            )
        response: web.StreamResponse = await handler(request)
        if "token" in request.query and not response.prepared:
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
        return response

    return require_token


def run_serve(args: argparse.Namespace) -> int:
    """Run the web server until Ctrl-C or SIGTERM."""
    check_exposure(args.host, args.port, args.public)
    try:
        from textual_serve.server import Server
    except ImportError:
        raise UsageError("serving needs textual-serve: pip install 'errwatch[serve]'") from None

    import secrets
    import socket

    token = secrets.token_urlsafe(24) if args.public else None
    url = (args.public_url or "").rstrip("/") or (
        public_url(args.host, args.port) if args.public else None
    )

    if token is None:
        listening = f"errwatch: serving on http://{args.host}:{args.port}"
    else:
        listening = (
            f"errwatch: serving on {args.host}:{args.port} beyond loopback: anyone who reaches "
            f"this port with the token can start fault injection. Open:\n  {url}/?token={token}"
        )

    class GuardedServer(Server):
        async def _make_app(self) -> web.Application:
            app: web.Application = await super()._make_app()
            if token is not None:
                app.middlewares.append(token_middleware(token))
            return app

    server = GuardedServer(
        served_command(args), host=args.host, port=args.port, title="errwatch", public_url=url
    )
    try:
        # aiohttp binds after its start-up hooks: try the port first, so a busy one is
        # said alone (the server still fails cleanly if it is taken in between).
        socket.create_server((args.host, args.port)).close()
        output.note(listening)
        server.serve()
    except OSError as error:
        raise UsageError(
            f"--port {args.port}: cannot listen on {args.host}: {error.strerror or error}"
        ) from None
    return 0
