"""The local stack of `errwatch demo`: the demo API, a real Prometheus, light traffic."""

from __future__ import annotations

import contextlib
import random
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx

from errwatch.config import Config, LogConfig
from errwatch.demo.process import (
    Service,
    port_is_free,
    read_line,
    spawn,
    tail_of,
    terminate,
)
from errwatch.demo.prometheus import PrometheusServer, find_prometheus
from errwatch.demo.server import READY_PREFIX
from errwatch.errors import SourceError

DEFAULT_API_PORT = 5000


class DemoApi(Service):
    """The demo API in its own process (as a real service would be); a restart keeps the port."""

    def __init__(self, workdir: Path, *, port: int = DEFAULT_API_PORT, test_routes: bool = True):
        self.workdir = workdir
        self.wanted_port = port
        self.test_routes = test_routes
        self.log_file = workdir / "api.log"
        self.stderr_log = workdir / "api.stderr.log"
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL once started."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def host_port(self) -> str:
        """``127.0.0.1:PORT``, the scrape target."""
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id while running."""
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 15.0) -> None:
        """Start on the wanted port, or on a free one if it is taken; wait for the ready line."""
        port = self.port or (self.wanted_port if port_is_free(self.wanted_port) else 0)
        argv = [
            sys.executable,
            "-m",
            "errwatch",
            "demo-app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-file",
            str(self.log_file),
        ]
        if self.test_routes:
            argv.append("--enable-test-routes")
        self._proc = spawn(argv, log=self.stderr_log, stdout_pipe=True)
        assert self._proc.stdout is not None
        line = read_line(self._proc.stdout, time.monotonic() + timeout)
        if line is None or not line.startswith(READY_PREFIX):
            terminate(self._proc)
            raise SourceError(f"demo API did not start: {tail_of(self.stderr_log)}")
        self.port = int(line.rsplit(":", 1)[1])

    def stop(self) -> None:
        """Stop the process."""
        if self._proc is not None:
            terminate(self._proc)
            self._proc = None


class BackgroundTraffic:
    """A few requests per second on normal routes, the odd 404, so the chart stays alive."""

    def __init__(self, base_url: str, *, rate: float = 3.0, seed: int = 5000) -> None:
        self.base_url = base_url
        self.rate = rate
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-traffic", daemon=True)

    def start(self) -> None:
        """Start the sending thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop and join the sending thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _request(self, client: httpx.Client) -> None:
        pick = self._random.random()
        if pick < 0.45:
            client.get(f"/api/users/{self._random.randint(1, 3)}")
        elif pick < 0.75:
            client.get("/api/users")
        elif pick < 0.9:
            client.post("/api/orders", json={"user_id": self._random.randint(1, 3), "item": "book"})
        elif pick < 0.97:
            client.get(f"/api/users/{self._random.randint(100, 999)}")  # 404
        else:
            client.get("/health")

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while not self._stop.wait(self._random.expovariate(self.rate)):
                with contextlib.suppress(httpx.HTTPError):
                    self._request(client)


class DemoStack(Service):
    """API + Prometheus (when a binary exists) + traffic; stops everything on exit."""

    def __init__(
        self,
        workdir: Path,
        *,
        api_port: int = DEFAULT_API_PORT,
        prometheus_binary: str | None = None,
        use_prometheus: bool = True,
        traffic_rate: float = 3.0,
    ) -> None:
        self.workdir = workdir
        self.api = DemoApi(workdir, port=api_port)
        binary = prometheus_binary or (find_prometheus() if use_prometheus else None)
        self._binary = binary
        self.prometheus: PrometheusServer | None = None
        self._traffic_rate = traffic_rate
        self.traffic: BackgroundTraffic | None = None

    def start(self) -> None:
        """Start every part; on a failure, stop what already started and re-raise."""
        try:
            self.api.start()
            if self._binary is not None:
                prom_dir = self.workdir / "prometheus"
                prom_dir.mkdir(exist_ok=True)
                self.prometheus = PrometheusServer(self._binary, prom_dir, [self.api.host_port])
                self.prometheus.start()
            if self._traffic_rate > 0:
                self.traffic = BackgroundTraffic(self.api.url, rate=self._traffic_rate)
                self.traffic.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop traffic, Prometheus and the API, in that order."""
        if self.traffic is not None:
            self.traffic.stop()
        if self.prometheus is not None:
            self.prometheus.stop()
        self.api.stop()

    def notice(self) -> str:
        """One line for the dashboard: what runs where, and any port change."""
        parts = [f"demo API on {self.api.host_port}"]
        if self.api.port != self.api.wanted_port:
            parts[0] += f" ({self.api.wanted_port} was taken)"
        if self.prometheus is not None:
            parts.append(f"Prometheus on 127.0.0.1:{self.prometheus.port}")
        else:
            parts.append("no Prometheus binary: reading /metrics directly")
        return " · ".join(parts)


def demo_config(config: Config, stack: DemoStack) -> Config:
    """The user's config pointed at the demo stack: its API, its Prometheus, its log."""
    prometheus = config.prometheus
    if stack.prometheus is not None:
        prometheus = replace(prometheus, url=stack.prometheus.url, selector="", job="api")
    return replace(
        config,
        target=replace(config.target, url=stack.api.url),
        # A demo lasts minutes: 2 minutes of chart show it, 5 would squeeze it to the edge.
        prometheus=replace(
            prometheus, refresh=min(prometheus.refresh, 1.0), range=min(prometheus.range, 120.0)
        ),
        logs=(LogConfig(path=str(stack.api.log_file), backfill="all"),),
    )
