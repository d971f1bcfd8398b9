"""`errwatch [--config PATH]`: the dashboard on the configured API, Prometheus and logs."""

from __future__ import annotations

import argparse

from errwatch.commands.common import find_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the default command."""
    parser.add_argument(
        "--direct-scrape",
        action="store_true",
        help="read the target's /metrics instead of querying Prometheus",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Open the dashboard."""
    config = find_config(args)
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
