"""Freshness: from a request answered by the API to the dashboard's model showing it.

A real demo API, a real Prometheus (then a real VictoriaMetrics) scraping it every
second, and errwatch's app (headless, 80x24) polling every second. Each trial sends
one request with a status nobody else is sending (201, 400, 404, 500, 200 in turn; no
background traffic) and times until the rates panel's snapshot shows a rate for that status.

Baseline, measured on the same trials: the engine's own freshness, i.e. the time until
an instant query polled every 20 ms sees the counter move (what any dashboard reading
this engine waits for at least: the scrape). Goal: p50 <= 2.5 s.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchmarks.common import percentile, report
from errwatch.config import Config, PrometheusConfig, TargetConfig
from errwatch.core.injection.injector import Injector
from errwatch.core.metrics.source import PrometheusSource
from errwatch.demo.prometheus import PrometheusServer, ScrapingServer, find_prometheus
from errwatch.demo.stack import DemoApi
from errwatch.demo.victoria import VictoriaMetricsServer, find_victoria_metrics
from errwatch.ui.app import ErrwatchApp
from errwatch.ui.rates import RatesPanel

TRIALS = 30
CHANNELS: dict[str, tuple[str, str, dict[str, object] | None]] = {
    "201": ("POST", "/api/orders", {"user_id": 1, "item": "book"}),
    "400": ("POST", "/api/orders", {}),
    "404": ("GET", "/api/users/999", None),
    "500": ("GET", "/error", None),
    "200": ("GET", "/health", None),
}


def prometheus_count(client: httpx.Client, status: str) -> float:
    query = f'sum(http_requests_total{{status="{status}"}})'
    result = client.get("/api/v1/query", params={"query": query}).json()["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def watch_prometheus(url: str, status: str, before: float, sent: float, out: list[float]) -> None:
    """Baseline: seconds from ``sent`` until Prometheus's counter is above ``before``."""
    with httpx.Client(base_url=url, timeout=2) as client:
        while prometheus_count(client, status) <= before:
            time.sleep(0.02)
    out.append(time.monotonic() - sent)


async def trials(api: DemoApi, prometheus_url: str) -> tuple[list[float], list[float]]:
    cfg = PrometheusConfig(url=prometheus_url, refresh=1.0, timeout=2.0)
    config = Config(target=TargetConfig(url=api.url), prometheus=cfg)
    app = ErrwatchApp(
        config,
        metrics=PrometheusSource(cfg, injection_route="/error"),
        tracebacks=None,
        injector=Injector(config.injection, api.url),
    )
    ours: list[float] = []
    theirs: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(RatesPanel)

        def rate(status: str) -> float:
            snapshot = panel.snapshot
            return snapshot.current().get(status, 0.0) if snapshot else -1.0

        with (
            httpx.Client(base_url=api.url, timeout=2) as api_client,
            httpx.Client(base_url=prometheus_url, timeout=2) as prom_client,
        ):
            statuses = list(CHANNELS)
            phase = random.Random(5000)
            for trial in range(TRIALS):
                status = statuses[trial % len(statuses)]
                while rate(status) != 0.0:  # the last request of this status left the window
                    await pilot.pause(0.05)
                # Requests come at any moment, not just after a poll: a random phase.
                await pilot.pause(phase.uniform(0.0, 1.0))
                before = prometheus_count(prom_client, status)
                method, path, body = CHANNELS[status]
                answer = api_client.request(method, path, json=body)
                sent = time.monotonic()
                assert str(answer.status_code) == status, answer
                baseline = threading.Thread(
                    target=watch_prometheus, args=(prometheus_url, status, before, sent, theirs)
                )
                baseline.start()
                while rate(status) <= 0:
                    await pilot.pause(0.01)
                ours.append(time.monotonic() - sent)
                await asyncio.to_thread(baseline.join)
    return ours, theirs


def engine_run(server: ScrapingServer, api: DemoApi) -> tuple[list[float], list[float]]:
    """The trials against one started engine, once it has scraped the API."""
    with httpx.Client(base_url=server.url) as client:  # its first scrape (~7 s)
        query = {"query": 'up{job="api"} == 1'}
        while not client.get("/api/v1/query", params=query).json()["data"]["result"]:
            time.sleep(0.2)
    return asyncio.run(trials(api, server.url))


def main() -> None:
    engines: list[tuple[str, type[ScrapingServer], str | None]] = [
        ("Prometheus", PrometheusServer, find_prometheus()),
        ("VictoriaMetrics", VictoriaMetricsServer, find_victoria_metrics()),
    ]
    for name, kind, binary in engines:
        if binary is None:
            raise SystemExit(f"{name} is not installed (make debs)")
        with tempfile.TemporaryDirectory() as workdir:
            api = DemoApi(Path(workdir), port=0)
            api.start()
            engine_dir = Path(workdir) / "engine"
            engine_dir.mkdir()
            server = kind(binary, engine_dir, [api.host_port])
            server.start()
            try:
                ours, theirs = engine_run(server, api)
            finally:
                server.stop()
                api.stop()
        p50 = percentile(ours, 50)
        report(
            f"{name}: request -> dashboard model (1 s scrape, 1 s refresh, {TRIALS} trials)",
            f"p50 {p50:.2f}s, p99 {percentile(ours, 99):.2f}s, max {max(ours):.2f}s",
            f"{name}'s own data (instant query every 20 ms): "
            f"p50 {percentile(theirs, 50):.2f}s, p99 {percentile(theirs, 99):.2f}s",
            "goal p50 <= 2.5 s: " + ("met" if p50 <= 2.5 else "MISSED"),
        )


if __name__ == "__main__":
    main()
