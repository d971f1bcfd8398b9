"""Build the core objects a dashboard needs from a config (no Textual here)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from errwatch import __version__
from errwatch.config import Config
from errwatch.core.incident.incident import Incident
from errwatch.core.injection.answers import AnswerLedger
from errwatch.core.injection.injector import Injector
from errwatch.core.injection.links import Listener, build_proxy
from errwatch.core.logs.logwatch import TracebackMonitor
from errwatch.core.metrics.polling import MetricsSource
from errwatch.core.metrics.scrape import BridgedSource, ScrapeSource
from errwatch.core.metrics.source import PrometheusSource
from errwatch.errors import UsageError


@dataclass(frozen=True, slots=True)
class Sources:
    """What the dashboard reads from and acts on."""

    metrics: MetricsSource
    tracebacks: TracebackMonitor | None
    injector: Injector
    incident: Incident
    proxies: tuple[Listener, ...] = ()
    """The ``[[proxies]]``: built here, listening once the dashboard's worker runs them."""


def build_metrics(
    config: Config,
    *,
    direct_scrape: bool = False,
    bridge_warmup: bool = False,
    answers: AnswerLedger | None = None,
) -> MetricsSource:
    """The metrics source alone: Prometheus, a direct scrape, or the first bridged by the second.

    ``answers``: the injector's answers, from which test errors are estimated when the
    request series has no route label.
    """
    route = config.injection.route

    def scrape() -> ScrapeSource:
        return ScrapeSource(
            f"{config.target.url}/metrics", config.prometheus, injection_route=route
        )

    if direct_scrape:
        return scrape()
    prometheus = PrometheusSource(
        config.prometheus,
        injection_route=route,
        panels=config.panels,
        target_url=config.target.url,
        answers=answers,
    )
    return BridgedSource(prometheus, scrape()) if bridge_warmup else prometheus


def build_proxies(config: Config) -> tuple[Listener, ...]:
    """One fault proxy per ``[[proxies]]`` entry; a non-loopback upstream not named in
    injection.allow_remote is refused here (UsageError), before anything starts."""
    allow = config.injection.allow_remote
    return tuple(build_proxy(proxy, allow_remote=allow) for proxy in config.proxies)


def build_incident(
    config: Config, *, mode: str, clock: Callable[[], float] = time.time
) -> Incident:
    """The run's incident: alert rules and, unless [recording] is off, a started recording."""
    from errwatch.core.incident.recording import (
        Recorder,
        apply_retention,
        private_dir,
        session_path,
    )
    from errwatch.core.metrics.discovery import needs_discovery
    from errwatch.core.metrics.promql import rate_query

    injection = config.injection
    recorder = None
    if config.recording.enabled:
        started = clock()
        directory = Path(config.recording.dir)
        meta = {
            "started": repr(started),
            "target": config.target.url,
            "injection_route": injection.route,
            "query": (
                "discovered at start (see the header)"
                if needs_discovery(config.prometheus)
                else rate_query(config.prometheus, injection.route)
            ),
            "metric": config.prometheus.metric,
            "status_label": config.prometheus.status_label,
            "mode": mode,
            "errwatch": __version__,
        }
        try:
            private_dir(directory)
            apply_retention(
                directory,
                max_age=config.recording.keep,
                max_bytes=config.recording.max_size,
                now=started,
            )
            recorder = Recorder(session_path(directory, started), meta)
            recorder.start()
        except (OSError, sqlite3.Error) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise UsageError(
                f"cannot record into {directory}: {reason} "
                "(set [recording] dir, or enabled = false)"
            ) from None
    return Incident(
        config.alerts,
        injection_route=injection.route,
        method=injection.method,
        recorder=recorder,
        rate_window=config.prometheus.rate_window,
        clock=clock,
    )


def build_sources(
    config: Config, *, direct_scrape: bool = False, bridge_warmup: bool = False
) -> Sources:
    """Prometheus (or a direct scrape of the target's /metrics), the logs, the injector.

    ``bridge_warmup``: a Prometheus that was just started shows the target's /metrics
    until it has data of its own (the demo).
    """
    injector = Injector(config.injection, config.target.url)
    metrics: MetricsSource = build_metrics(
        config,
        direct_scrape=direct_scrape,
        bridge_warmup=bridge_warmup,
        answers=injector.answers,
    )
    monitor = (
        TracebackMonitor(config.logs, injection_route=config.injection.route)
        if config.logs
        else None
    )
    proxies = build_proxies(config)
    incident = build_incident(config, mode=metrics.mode)
    return Sources(
        metrics=metrics,
        tracebacks=monitor,
        injector=injector,
        incident=incident,
        proxies=proxies,
    )
