"""`errwatch proxy`: faults in the link to a dependency (arguments; the run is proxying.py)."""

from __future__ import annotations

import argparse


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add `proxy`."""
    proxy = commands.add_parser(
        "proxy",
        parents=[common],
        help="a fault proxy on the link to a dependency (HTTP or TCP)",
        description="Listen on HOST:PORT and pass everything to the upstream, except a share of "
        "the requests (HTTP) or connections (--tcp) that get the fault. After --duration "
        "everything passes; Ctrl-C or SIGTERM stops and prints the summary.",
    )
    proxy.add_argument(
        "--upstream", required=True, metavar="URL", help="http://HOST:PORT, or HOST:PORT with --tcp"
    )
    proxy.add_argument(
        "--listen",
        required=True,
        metavar="HOST:PORT",
        help='where to listen, e.g. "127.0.0.1:8081" (":8081" is loopback)',
    )
    proxy.add_argument(
        "--route", metavar="GLOB", help='HTTP: paths the fault touches, e.g. "/stock/*" (all)'
    )
    faults = proxy.add_mutually_exclusive_group()
    faults.add_argument("--abort", metavar="STATUS", help="HTTP: answer this status (400..599)")
    faults.add_argument("--delay", metavar="D", help='hold each request (or data) this long: "2s"')
    faults.add_argument("--reset", action="store_true", help="cut the connection (TCP reset)")
    faults.add_argument("--refuse", action="store_true", help="--tcp: refuse new connections")
    proxy.add_argument("--ratio", metavar="R", help="share of requests/connections faulted (1)")
    proxy.add_argument("--duration", metavar="D", help="fault for this long, then pass all")
    proxy.add_argument("--tcp", action="store_true", help="relay TCP (Redis, PostgreSQL...)")
    proxy.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    proxy.set_defaults(run=run_proxy)


def run_proxy(args: argparse.Namespace) -> int:
    """Proxy until Ctrl-C or SIGTERM; print the summary."""
    from errwatch.commands.proxying import run_proxy as run

    return run(args)
