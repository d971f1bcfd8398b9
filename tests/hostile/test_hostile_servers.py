"""Slow and strange servers: one deadline per answer, a parse that cannot end is a state."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from errwatch.config import PrometheusConfig
from errwatch.core.metrics.rates import SourceState
from errwatch.core.metrics.source import PrometheusSource
from errwatch.demo.prometheus import PrometheusServer
from errwatch.demo.stack import DemoApi
from tests.hostile.servers import DrippingServer, RecordingProxy
from tests.loopback import Reply, loopback

PINNED = {"metric": "http_requests_total", "status_label": "status", "job": "api"}
"""Discovery pinned, so the rate query is the first request."""


def check(
    config: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "errwatch", "check", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_a_dripping_prometheus_times_out_within_the_query_timeout() -> None:
    with DrippingServer(interval=0.2) as server:  # the whole answer would take ~25 s
        source = PrometheusSource(PrometheusConfig(url=server.url, timeout=1.0, **PINNED))
        started = time.monotonic()
        snapshot = source.poll()
        elapsed = time.monotonic() - started
        source.close()
    assert snapshot.state is SourceState.TIMEOUT, snapshot.detail
    assert elapsed < 5  # one deadline for the whole answer, not one per byte


def test_check_ends_on_time_against_a_dripping_prometheus(tmp_path: Path) -> None:
    with DrippingServer(interval=0.2) as server:
        path = tmp_path / "config.toml"
        path.write_text(f'[prometheus]\nurl = "{server.url}"\ntimeout = "1s"\nrefresh = "500ms"\n')
        started = time.monotonic()
        done = check(path, "--duration", "3s")
        elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stdout + done.stderr  # no answer is never health
    assert "timeout" in done.stdout
    assert elapsed < 30  # before: for ever


def test_json_nested_200000_deep_is_a_state_not_a_traceback(tmp_path: Path) -> None:
    nested = b'{"status":"success","data":' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    with loopback() as server:
        server.reply = Reply(body=nested)
        source = PrometheusSource(PrometheusConfig(url=server.url, timeout=5.0, **PINNED))
        snapshot = source.poll()
        source.close()
        assert snapshot.state is SourceState.QUERY_ERROR
        assert "nested too deeply" in snapshot.detail
        path = tmp_path / "config.toml"
        path.write_text(f'[prometheus]\nurl = "{server.url}"\ntimeout = "2s"\n')
        done = check(path, "--duration", "1s")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "nested too deeply" in done.stdout


def test_check_ignores_proxy_variables_and_uses_the_configured_proxy(
    tmp_path: Path, demo_api: DemoApi, prometheus: PrometheusServer
) -> None:
    path = tmp_path / "config.toml"
    body = f'[target]\nurl = "{demo_api.url}"\n[prometheus]\nurl = "{prometheus.url}"\n'
    path.write_text(body)
    with RecordingProxy() as proxy:
        env = {**os.environ, **proxy.environ(), "NO_PROXY": "", "no_proxy": ""}
        done = check(path, "--duration", "2s", "--json", env=env)
        assert proxy.requests == []  # HTTP_PROXY and friends never see a query
        assert '"prometheus"' in done.stdout, done.stderr
        # Named in the config, the proxy is used: that is how a user behind one asks for it.
        path.write_text(body + f'proxy = "{proxy.url}"\n')
        check(path, "--duration", "1s", env=env)
        assert any(prometheus.url.encode() in request for request in proxy.requests)
