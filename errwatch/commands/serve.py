"""`errwatch serve`: the dashboard in a browser, through textual-serve (loopback by default)."""

from __future__ import annotations

import argparse
import shlex
import sys

from errwatch.commands.common import config_path
from errwatch.errors import UsageError


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


def run_serve(args: argparse.Namespace) -> int:
    """Run the web server until Ctrl-C or SIGTERM."""
    try:
        from textual_serve.server import Server
    except ImportError:
        raise UsageError("serving needs textual-serve: pip install 'errwatch[serve]'") from None
    print(f"errwatch: serving on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    Server(served_command(args), host=args.host, port=args.port, title="errwatch").serve()
    return 0
