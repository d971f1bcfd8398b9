"""Build the core objects a dashboard needs from a config (no Textual here)."""

from __future__ import annotations

from dataclasses import dataclass

from errwatch.config import Config
from errwatch.core.injector import Injector
from errwatch.core.logwatch import TracebackMonitor
from errwatch.core.metrics import (
    BridgedSource,
    MetricsSource,
    PrometheusSource,
    ScrapeSource,
)


@dataclass(frozen=True, slots=True)
class Sources:
    """What the dashboard reads from and acts on."""

    metrics: MetricsSource
    tracebacks: TracebackMonitor | None
    injector: Injector


def build_metrics(
    config: Config, *, direct_scrape: bool = False, bridge_warmup: bool = False
) -> MetricsSource:
    """The metrics source alone: Prometheus, a direct scrape, or the first bridged by the second."""
    route = config.injection.route

    def scrape() -> ScrapeSource:
        return ScrapeSource(
            f"{config.target.url}/metrics", config.prometheus, injection_route=route
        )

    if direct_scrape:
        return scrape()
    prometheus = PrometheusSource(config.prometheus, injection_route=route, panels=config.panels)
    return BridgedSource(prometheus, scrape()) if bridge_warmup else prometheus


def build_sources(
    config: Config, *, direct_scrape: bool = False, bridge_warmup: bool = False
) -> Sources:
    """Prometheus (or a direct scrape of the target's /metrics), the logs, the injector.

    ``bridge_warmup``: a Prometheus that was just started shows the target's /metrics
    until it has data of its own (the demo).
    """
    metrics: MetricsSource = build_metrics(
        config, direct_scrape=direct_scrape, bridge_warmup=bridge_warmup
    )
    monitor = (
        TracebackMonitor(config.logs, injection_route=config.injection.route)
        if config.logs
        else None
    )
    injector = Injector(config.injection, config.target.url)
    return Sources(metrics=metrics, tracebacks=monitor, injector=injector)
