"""Shared fixtures: the real demo API and a real Prometheus on free loopback ports."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from errwatch.demo.prometheus import PrometheusServer, find_prometheus
from errwatch.demo.stack import DemoApi

if TYPE_CHECKING:
    from errwatch.core.metrics.polling import MetricsSource
    from errwatch.core.metrics.rates import MetricsSnapshot
    from tests.engines import EngineStack

IN_CI = os.environ.get("CI") == "true"


def pytest_configure(config: pytest.Config) -> None:
    """Recordings of the dashboards tests open go to a temporary place, not the user's;
    times on screen are UTC, so pictures do not depend on the machine's zone."""
    import tempfile

    os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="errwatch-test-state-")
    os.environ["TZ"] = "UTC"
    time.tzset()


def require_binary(name: str, found: str | None) -> str:
    """The binary, or a skip outside CI; in CI a missing binary fails, never skips silently."""
    if found:
        return found
    message = f"{name} is not installed (apt-get install -y --no-install-recommends {name})"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    return require_binary("prometheus", find_prometheus())


def wait_until(
    condition: Callable[[], object],
    timeout: float,
    what: str,
    pause: Callable[[float], object] = time.sleep,
) -> None:
    """Poll a condition on an external process; fail with ``what`` after ``timeout``.
    ``pause`` waits between two looks (0.05 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        pause(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def poll_until(
    source: MetricsSource,
    condition: Callable[[MetricsSnapshot], bool],
    timeout: float,
    what: str,
    *,
    pause: float = 0.5,
    between: Callable[[], None] = lambda: None,
    seen: list[MetricsSnapshot] | None = None,
) -> MetricsSnapshot:
    """Poll a metrics source until ``condition`` holds of its snapshot, ``pause`` seconds
    apart (Prometheus scrapes every second), calling ``between`` before each wait; every
    snapshot goes to ``seen``. Fails with ``what`` and the last snapshot after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        snapshot = source.poll()
        if seen is not None:
            seen.append(snapshot)
        if condition(snapshot):
            return snapshot
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}; last: {snapshot}")
        between()
        time.sleep(pause)


def api_counter(api_url: str, route: str, status: str) -> float:
    """The demo API's own http_requests_total for one route and status."""
    from errwatch.core.metrics.exposition import parse_counters

    text = httpx.get(f"{api_url}/metrics", timeout=2).text
    wanted = f'endpoint="{route}"'
    lines = [line for line in text.splitlines() if wanted in line]
    return parse_counters("\n".join(lines), "http_requests_total", "status").get(status, 0.0)


@pytest.fixture
def demo_api(tmp_path: Path) -> Iterator[DemoApi]:
    """The demo API with test routes, in its own process, on a free port."""
    api = DemoApi(tmp_path, port=0)
    api.start()
    yield api
    api.stop()


@pytest.fixture
def prometheus(
    prometheus_bin: str, demo_api: DemoApi, tmp_path: Path
) -> Iterator[PrometheusServer]:
    """A real Prometheus scraping the demo API every second (job "api")."""
    workdir = tmp_path / "prometheus"
    workdir.mkdir()
    server = PrometheusServer(prometheus_bin, workdir, [demo_api.host_port])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=["prometheus", "victoria-metrics"])
def engine_session(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineStack]:
    from tests.engines import engine_stack

    name: str = request.param
    with engine_stack(name, tmp_path_factory.mktemp(name)) as stack:
        yield stack


@pytest.fixture
def engine(engine_session: EngineStack) -> Iterator[EngineStack]:
    """A real PromQL engine scraping the demo API: Prometheus, then VictoriaMetrics.

    Started once per session (first data takes 7-10 s); a test may stop the API or the
    engine, both run again afterwards.
    """
    yield engine_session
    engine_session.ensure_running()
