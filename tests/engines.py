"""PromQL engines for tests: the demo API scraped by a real Prometheus or VictoriaMetrics.

One scenario, two engines: tests take the ``engine`` fixture (tests/conftest.py) and
run once per engine.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from errwatch.config import PrometheusConfig
from errwatch.demo.prometheus import PrometheusServer, find_prometheus
from errwatch.demo.stack import DemoApi
from errwatch.demo.victoria import VictoriaMetricsServer, find_victoria_metrics

ENGINES = ("prometheus", "victoria-metrics")
FIRST_DATA_TIMEOUT = 30.0
"""Prometheus scrapes after its 5 s discovery tick; VictoriaMetrics makes new series
searchable after ~10 s. Both well inside this."""


def engine_binary(name: str) -> str:
    """The engine's binary, or a skip outside CI (a failure in CI)."""
    from tests.conftest import require_binary

    found = find_prometheus() if name == "prometheus" else find_victoria_metrics()
    return require_binary(name, found)


@dataclass
class EngineStack:
    """The demo API and one engine scraping it every second (job "api")."""

    name: str
    api: DemoApi
    server: PrometheusServer | VictoriaMetricsServer

    @property
    def url(self) -> str:
        """The engine's base URL."""
        return self.server.url

    def config(self, **overrides: object) -> PrometheusConfig:
        """A config reading this engine, quickly (1 s refresh, 2 s timeout)."""
        settings: dict[str, object] = {"url": self.url, "refresh": 1.0, "timeout": 2.0}
        settings.update(overrides)
        return PrometheusConfig(**settings)  # type: ignore[arg-type]

    def up(self) -> list[float]:
        """The engine's own answer to up{job="api"} (empty when it has none yet)."""
        with contextlib.suppress(httpx.HTTPError):
            answer = httpx.get(f"{self.url}/api/v1/query", params={"query": 'up{job="api"}'})
            return [float(item["value"][1]) for item in answer.json()["data"]["result"]]
        return []

    def wait_for_up(self, timeout: float = FIRST_DATA_TIMEOUT) -> None:
        """Until the engine has scraped the API and says so."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.up() == [1.0]:
                return
            time.sleep(0.2)
        pytest.fail(f"{self.name} did not scrape the API within {timeout}s")

    def ensure_running(self) -> None:
        """Restart whatever a test stopped, so the next test finds the stack whole."""
        if self.api.pid is None:
            self.api.start()
        if not self.server.running:
            self.server.start()


@contextlib.contextmanager
def engine_stack(name: str, workdir: Path) -> Iterator[EngineStack]:
    """Start the API and the engine, wait for the first scrape, stop both at the end."""
    binary = engine_binary(name)
    api = DemoApi(workdir, port=0)
    api.start()
    try:
        engine_dir = workdir / name
        engine_dir.mkdir()
        server_class = PrometheusServer if name == "prometheus" else VictoriaMetricsServer
        server = server_class(binary, engine_dir, [api.host_port])
        server.start()
        try:
            stack = EngineStack(name, api, server)
            stack.wait_for_up()
            yield stack
        finally:
            server.stop()
    finally:
        api.stop()
