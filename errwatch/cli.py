"""Command line: parse arguments, build objects, hand them over. Nothing else lives here."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from errwatch import __version__
from errwatch.config import DEFAULT_PATH, Config, load_config
from errwatch.errors import ErrwatchError, UsageError


def _config(args: argparse.Namespace) -> Config:
    """The config named by --config, else ./config.toml, else the built-in defaults."""
    path: Path | None = getattr(args, "config", None)
    if path is not None:
        return load_config(path)
    if DEFAULT_PATH.exists():
        return load_config(DEFAULT_PATH)
    return Config()


def _require_demo_extra() -> None:
    try:
        import flask  # noqa: F401
        import prometheus_client  # noqa: F401
    except ImportError:
        raise UsageError("the demo needs the demo extra: pip install 'errwatch[demo]'") from None


def _dashboard(args: argparse.Namespace) -> int:
    config = _config(args)
    from errwatch.sources import build_sources
    from errwatch.ui.app import ErrwatchApp

    sources = build_sources(config, direct_scrape=args.direct_scrape)
    ErrwatchApp(
        config,
        metrics=sources.metrics,
        tracebacks=sources.tracebacks,
        injector=sources.injector,
    ).run()
    return 0


def _demo(args: argparse.Namespace) -> int:
    _require_demo_extra()
    config = _config(args)
    from errwatch.demo.stack import DemoStack, demo_config
    from errwatch.sources import build_sources
    from errwatch.ui.app import ErrwatchApp

    print("errwatch demo: starting the demo API and Prometheus...", file=sys.stderr, flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="errwatch-demo-") as workdir,
        DemoStack(
            Path(workdir), api_port=args.port, use_prometheus=not args.no_prometheus
        ) as stack,
    ):
        config = demo_config(config, stack)
        direct = stack.prometheus is None
        sources = build_sources(config, direct_scrape=direct, bridge_warmup=not direct)
        ErrwatchApp(
            config,
            metrics=sources.metrics,
            tracebacks=sources.tracebacks,
            injector=sources.injector,
            notice=stack.notice(),
        ).run()
    return 0


def _demo_app(args: argparse.Namespace) -> int:
    _require_demo_extra()
    from errwatch.demo.server import serve

    return serve(
        args.host, args.port, log_file=args.log_file, enable_test_routes=args.enable_test_routes
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="config file (default: ./config.toml, else built-in defaults)",
    )
    parser = argparse.ArgumentParser(
        prog="errwatch",
        description="Live error supervision: Prometheus rates, log tracebacks, fault injection.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"errwatch {__version__}")
    parser.add_argument(
        "--direct-scrape",
        action="store_true",
        help="read the target's /metrics instead of querying Prometheus",
    )
    parser.set_defaults(run=_dashboard)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    demo = commands.add_parser(
        "demo", parents=[common], help="start the demo API and Prometheus, open the dashboard"
    )
    demo.add_argument("--port", type=int, default=5000, help="API port, if free (default 5000)")
    demo.add_argument(
        "--no-prometheus", action="store_true", help="read /metrics directly, even with Prometheus"
    )
    demo.set_defaults(run=_demo)

    app = commands.add_parser("demo-app", help="run the demo API alone")
    app.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    app.add_argument("--port", type=int, default=5000, help="port (default 5000; 0 picks one)")
    app.add_argument("--log-file", metavar="PATH", help="log file (default: stderr)")
    app.add_argument(
        "--enable-test-routes", action="store_true", help="expose /error (off by default)"
    )
    app.set_defaults(run=_demo_app)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `errwatch` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except ErrwatchError as error:
        print(f"errwatch: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code
