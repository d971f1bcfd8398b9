"""`errwatch demo` and `errwatch demo-app`: the local stack, and the demo API alone."""

from __future__ import annotations

import argparse
from pathlib import Path

from errwatch.commands import output
from errwatch.commands.common import find_config, require_demo_extra
from errwatch.commands.dashboard import display_options, displayed, open_dashboard


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add `demo` and `demo-app`."""
    demo = commands.add_parser(
        "demo", parents=[common], help="start the demo API and Prometheus, open the dashboard"
    )
    demo.add_argument("--port", type=int, default=5000, help="API port, if free (default 5000)")
    demo.add_argument(
        "--no-prometheus", action="store_true", help="read /metrics directly, even with Prometheus"
    )
    display_options(demo)
    demo.set_defaults(run=run_demo)

    app = commands.add_parser("demo-app", help="run the demo API alone")
    app.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    app.add_argument("--port", type=int, default=5000, help="port (default 5000; 0 picks one)")
    app.add_argument("--log-file", metavar="PATH", help="log file (default: stderr)")
    app.add_argument(
        "--enable-test-routes", action="store_true", help="expose /error (off by default)"
    )
    app.add_argument(
        "--inventory-url",
        metavar="URL",
        help="the inventory service /api/products/<id> calls (default: none, it answers 503)",
    )
    app.set_defaults(run=run_demo_app)


def run_demo(args: argparse.Namespace) -> int:
    """Start the stack, open the dashboard on it, stop everything on the way out."""
    import tempfile

    require_demo_extra()
    config = displayed(find_config(args), args)
    from errwatch.demo.stack import DemoStack, demo_config

    output.note("errwatch demo: starting the demo API and Prometheus...")
    with (
        tempfile.TemporaryDirectory(prefix="errwatch-demo-") as workdir,
        DemoStack(
            Path(workdir), api_port=args.port, use_prometheus=not args.no_prometheus
        ) as stack,
    ):
        direct = stack.prometheus is None
        return open_dashboard(
            demo_config(config, stack),
            args,
            direct_scrape=direct,
            bridge_warmup=not direct,
            notice=stack.notice(),
        )


def run_demo_app(args: argparse.Namespace) -> int:
    """Serve the demo API until SIGTERM or Ctrl-C."""
    require_demo_extra()
    from errwatch.demo.server import serve

    return serve(
        args.host,
        args.port,
        log_file=args.log_file,
        enable_test_routes=args.enable_test_routes,
        inventory_url=args.inventory_url,
    )
