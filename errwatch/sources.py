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


def build_sources(
    config: Config, *, direct_scrape: bool = False, bridge_warmup: bool = False
) -> Sources:
    """Prometheus (or a direct scrape of the target's /metrics), the logs, the injector.

    ``bridge_warmup``: a Prometheus that was just started shows the target's /metrics
    until it has data of its own (the demo).
    """
    metrics: MetricsSource
    scrape_url = f"{config.target.url}/metrics"
    if direct_scrape:
        metrics = ScrapeSource(scrape_url, config.prometheus)
    elif bridge_warmup:
        metrics = BridgedSource(
            PrometheusSource(config.prometheus), ScrapeSource(scrape_url, config.prometheus)
        )
    else:
        metrics = PrometheusSource(config.prometheus)
    monitor = (
        TracebackMonitor(config.logs, injection_route=config.injection.route)
        if config.logs
        else None
    )
    injector = Injector(config.injection, config.target.url)
    return Sources(metrics=metrics, tracebacks=monitor, injector=injector)
