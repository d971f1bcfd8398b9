"""`errwatch discover`: what errwatch reads from Prometheus for this API, the evidence,
and the config lines that pin the choice."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from errwatch.commands import output
from errwatch.commands.common import find_config

if TYPE_CHECKING:
    from errwatch.config import Config
    from errwatch.core.metrics.discovery import Discovery


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add `discover`."""
    discover = commands.add_parser(
        "discover",
        parents=[common],
        help="find the API's job, instance and request series in Prometheus; print the evidence",
        description=(
            'Find what the config leaves to "auto" (prometheus.metric, status_label, '
            "route_label, job, instance): the scrape target whose address is [target] url, "
            "the series counting its HTTP requests, their status and route labels. Prints "
            "the evidence and the TOML lines that pin the choice. Exit 0 found, 2 not found "
            "or Prometheus did not answer."
        ),
    )
    discover.add_argument("--json", action="store_true", help="print one JSON object")
    discover.set_defaults(run=run_discover)


def find(config: Config) -> Discovery:
    """Discovery against the configured Prometheus (blocking, one timeout per request)."""
    from errwatch.core.metrics.source import PrometheusSource

    source = PrometheusSource(
        config.prometheus, injection_route=config.injection.route, target_url=config.target.url
    )
    try:
        return source.discover()
    finally:
        source.close()


def describe(found: Discovery, config: Config) -> str:
    """The discovery for a person: where, what, the evidence, the others, the TOML.

    Each line quotes Prometheus (labels, names, sample values) and stays one line: a
    newline in a label value cannot forge the next one."""
    lines = [f"errwatch discover: {config.prometheus.url}, API {config.target.url}"]
    if found.targets:
        health = ", ".join(sorted({t.health or "?" for t in found.targets}))
        every = f", scraped every {found.scrape_interval:g}s" if found.scrape_interval else ""
        instance = f'instance "{found.instance}"' if found.instance else "every instance"
        count = len(found.targets)
        lines.append(
            f'  target     job "{found.job}", {instance} ({count} target'
            f"{'s' if count != 1 else ''}: {health}{every})"
        )
    if found.problem:
        lines.append(f"  not found  {found.problem}")
        lines += [f"  closest    {near}" for near in found.closest]
        return output.one_per_line(lines)
    candidate = found.candidate
    if candidate is not None:
        by = f" ({candidate.exporter})" if candidate.exporter else ""
        lines += [
            f"  series     {candidate.metric}{by}",
            f"  evidence   {candidate.evidence()}",
        ]
    if found.split_exact:
        lines.append(
            f"  split      exact: {config.injection.route} told apart by {found.route_label}"
        )
    else:
        why = (
            f"{found.route_label} holds names, not paths" if found.route_label else "no route label"
        )
        lines.append(
            f"  split      estimated ({why}): the injector's own answers are subtracted "
            "from the totals"
        )
    lines += [f"  other      {o.metric}: {o.evidence()}" for o in found.others]
    lines += [f"  note       {note}" for note in found.notes]
    pinned = ", ".join(found.pinned) or "nothing"
    lines += [f"  pinned     by the config: {pinned}", "", "To pin this choice in config.toml:"]
    return output.one_per_line([*lines, *found.toml().splitlines()])


def run_discover(args: argparse.Namespace) -> int:
    """Print what discovery found; 0 found, 2 not (or no answer: a SourceError)."""
    config = find_config(args)
    found = find(config)
    # Target labels, metric names, sample values: Prometheus's words, shown as data.
    if args.json:
        output.out_json(found.to_json(), indent=2)
    else:
        output.out(describe(found, config))
    return 0 if found.ok else 2
