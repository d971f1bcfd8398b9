"""The guard against real application errors: real Prometheus, the demo API's failure switch."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from errwatch.config import PrometheusConfig
from errwatch.core.injection.probe import ErrorSplitProbe
from errwatch.demo.prometheus import PrometheusServer
from errwatch.demo.stack import DemoApi
from errwatch.errors import SourceError
from tests.conftest import api_counter
from tests.core.injection.test_injector_cli import config, inject

USER_ROUTE = "/api/users/<int:user_id>"


@pytest.fixture
def app_traffic(demo_api: DemoApi) -> Iterator[None]:
    """The application's own users: 20 requests per second on a normal route."""
    stop = threading.Event()

    def browse() -> None:
        with httpx.Client(base_url=demo_api.url, timeout=2) as client:
            while not stop.wait(0.05):
                client.get("/api/users/1")

    thread = threading.Thread(target=browse, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=5)


async def wait_for_split(probe: ErrorSplitProbe, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await probe.read()).app_ratio is not None:
                return
        except SourceError:
            pass
        await asyncio.sleep(0.2)
    pytest.fail("Prometheus had no application traffic to divide by")


async def test_the_guard_ignores_injected_errors_and_aborts_on_the_applications(
    tmp_path: Path, demo_api: DemoApi, prometheus: PrometheusServer, app_traffic: None
) -> None:
    probe = ErrorSplitProbe(PrometheusConfig(url=prometheus.url), "/error")
    await wait_for_split(probe, 20)  # a fresh Prometheus needs its 5 s discovery tick
    path = config(tmp_path, demo_api.url, "guard_ratio = 0.1", prometheus=prometheus.url)

    # Injected 500s alone (every /error answer is one) are not the application failing.
    calm = inject(path, "--rate", "20", "--duration", "3s", "--json")
    assert calm.returncode == 0, calm.stderr
    assert json.loads(calm.stdout)["stopped_by"] == "duration"
    split = await probe.read()
    assert split.injected_errors > 5
    assert split.app_ratio == 0.0

    # Now the application fails for real on half of one route's requests.
    switched = httpx.post(
        f"{demo_api.url}/_test/failures", json={"route": USER_ROUTE, "ratio": 0.5}, timeout=2
    )
    assert switched.status_code == 200
    began = time.monotonic()
    aborted = inject(path, "--rate", "20", "--duration", "1m", "--json")
    took = time.monotonic() - began
    print(f"guard aborted after {took:.1f}s: {aborted.stdout}")
    await probe.aclose()
    assert aborted.returncode == 0, aborted.stderr
    summary = json.loads(aborted.stdout)
    assert summary["stopped_by"] == "guard"
    assert summary["detail"].startswith("application 5xx ratio ")
    assert summary["detail"].endswith("above the guard's 10.0%")
    assert took < 20
    assert api_counter(demo_api.url, USER_ROUTE, "500") > 10  # real errors, really logged
    assert "SimulatedFailure: failure switch on /api/users/<int:user_id>" in (
        demo_api.log_file.read_text()
    )


async def test_the_probe_says_why_it_has_no_reading(
    demo_api: DemoApi, prometheus: PrometheusServer
) -> None:
    named = {"status_label": "status", "route_label": "endpoint", "job": "api", "instance": ""}
    bad = ErrorSplitProbe(
        PrometheusConfig(url=prometheus.url, metric="http_requests_total{", **named), "/"
    )
    with pytest.raises(SourceError, match=r"^Prometheus bad query: .*parse error"):
        await bad.read()
    await bad.aclose()
    prometheus.stop()
    gone = ErrorSplitProbe(PrometheusConfig(url=prometheus.url), "/error")
    with pytest.raises(SourceError, match=r"^Prometheus unreachable: "):
        await gone.read()
    await gone.aclose()
