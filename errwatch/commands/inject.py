"""`errwatch inject`: fault injection without the dashboard (arguments; the run is injecting.py)."""

from __future__ import annotations

import argparse


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add `inject`."""
    inject = commands.add_parser(
        "inject",
        parents=[common],
        help="inject faults into the target's test route, without the dashboard",
        description="Send a steady, bounded stream of requests to the API's test route; "
        "Ctrl-C stops and still prints the summary.",
    )
    inject.add_argument("--rate", metavar="R", help="requests per second in total (config: rate)")
    inject.add_argument("--duration", metavar="D", help='how long, e.g. "30s" (config: duration)')
    inject.add_argument("--route", metavar="PATH", help="route to inject into (config: route)")
    inject.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    inject.set_defaults(run=run_inject)


def run_inject(args: argparse.Namespace) -> int:
    """Inject until the duration, Ctrl-C, SIGTERM or the guard; print the summary."""
    from errwatch.commands.injecting import run_inject as run

    return run(args)
