"""`errwatch check`: watch metrics and logs for a while, print a summary, exit with a verdict."""

from __future__ import annotations

import argparse
from dataclasses import replace

from errwatch.commands import output
from errwatch.commands.common import duration_option, find_config
from errwatch.errors import UsageError


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add `check`."""
    check = commands.add_parser(
        "check",
        parents=[common],
        help="watch metrics and logs for a while; exit 0 healthy, 1 threshold crossed, 2 no data",
        description=(
            "Watch the metrics (and the logs named in the config) for --duration, then print "
            "a summary. Exit 0 healthy, 1 the application's 5xx ratio went above "
            "--max-error-ratio or the target was down, 2 bad config or the metrics source "
            "never answered."
        ),
    )
    check.add_argument("--duration", default="30s", help='how long to watch (default "30s")')
    check.add_argument(
        "--max-error-ratio",
        metavar="R",
        help="highest 5xx ratio (0..1) of the application's own routes "
        "(default: dashboard.ratio_critical)",
    )
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument(
        "--direct-scrape", action="store_true", help="read the target's /metrics, not Prometheus"
    )
    check.set_defaults(run=run_check)


def _threshold(text: str | None, default: float) -> float:
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise UsageError(
            f'--max-error-ratio: expected a number between 0 and 1, got "{text}"'
        ) from None
    if not 0 <= value <= 1:
        raise UsageError(f"--max-error-ratio: must be between 0 and 1, got {text}")
    return value


def run_check(args: argparse.Namespace) -> int:
    """Watch, summarise, and return the verdict as the exit code."""
    config = find_config(args)
    duration = duration_option(args.duration, "--duration")
    threshold = _threshold(args.max_error_ratio, config.dashboard.ratio_critical)
    from errwatch.core.check import UNUSABLE, CheckRun, watch
    from errwatch.core.logs.logwatch import TracebackMonitor
    from errwatch.sources import build_metrics

    source = build_metrics(config, direct_scrape=args.direct_scrape)
    # Only what happens during the check counts: the logs are read from their end.
    logs = [replace(log, backfill="none") for log in config.logs]
    monitor = TracebackMonitor(logs, injection_route=config.injection.route) if logs else None
    run = CheckRun(threshold=threshold, injection_route=config.injection.route)
    try:
        finished = watch(run, source, monitor, duration=duration, refresh=config.prometheus.refresh)
    finally:
        source.close()
        if monitor is not None:
            monitor.close()
    url = f"{config.target.url}/metrics" if args.direct_scrape else config.prometheus.url
    summary = run.summary(duration, url=url, interrupted=not finished)
    # Reasons, states, notes and groups quote the engine and the logs.
    if args.json:
        output.out_json(summary.to_json(), indent=2)
    else:
        output.out(summary.to_text())
    if summary.exit_code == UNUSABLE:
        output.error(summary.reasons[0])
    return 130 if not finished else summary.exit_code
