"""The local stack of `errwatch demo`: the demo API, its inventory backend behind two
errwatch proxies (run by the dashboard), a real Prometheus, light traffic."""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx

from errwatch.config import Config, FaultConfig, LogConfig, ProxyConfig
from errwatch.demo.process import (
    Service,
    free_port,
    port_is_free,
    read_line,
    spawn,
    tail_of,
    terminate,
)
from errwatch.demo.prometheus import PrometheusServer, find_prometheus
from errwatch.demo.server import ready_prefix
from errwatch.errors import SourceError

DEFAULT_API_PORT = 5000


def spawn_flask(argv: list[str], stderr_log: Path) -> subprocess.Popen[bytes]:
    """A demo service's process, its stdout piped for the ready line."""
    return spawn(argv, log=stderr_log, stdout_pipe=True)


def await_ready(proc: subprocess.Popen[bytes], stderr_log: Path, name: str, timeout: float) -> int:
    """The port a demo service listens on, once it printed its ready line."""
    assert proc.stdout is not None
    line = read_line(proc.stdout, time.monotonic() + timeout)
    if line is None or not line.startswith(ready_prefix(name)):
        terminate(proc)
        raise SourceError(f"demo {name} did not start: {tail_of(stderr_log)}")
    return int(line.rsplit(":", 1)[1])


class DemoApi(Service):
    """The demo API in its own process (as a real service would be); a restart keeps the port."""

    def __init__(
        self,
        workdir: Path,
        *,
        port: int = DEFAULT_API_PORT,
        test_routes: bool = True,
        inventory_url: str | None = None,
    ):
        self.workdir = workdir
        self.wanted_port = port
        self.test_routes = test_routes
        self.inventory_url = inventory_url
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
        if self.inventory_url:
            argv += ["--inventory-url", self.inventory_url]
        self._proc = spawn_flask(argv, self.stderr_log)
        self.port = await_ready(self._proc, self.stderr_log, "demo-app", timeout)

    def stop(self) -> None:
        """Stop the process."""
        if self._proc is not None:
            terminate(self._proc)
            self._proc = None


class Inventory(Service):
    """The inventory backend in its own process, on a free port."""

    def __init__(self, workdir: Path) -> None:
        self.log_file = workdir / "inventory.log"
        self.stderr_log = workdir / "inventory.stderr.log"
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL once started."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        """Start (on the same port after a restart) and wait for the ready line."""
        self.spawn()
        self.wait_ready(timeout)

    def spawn(self) -> None:
        """Start the process without waiting (the stack starts the API meanwhile)."""
        argv = [sys.executable, "-m", "errwatch.demo.inventory", "--port", str(self.port)]
        argv += ["--log-file", str(self.log_file)]
        self._proc = spawn_flask(argv, self.stderr_log)

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Wait for the ready line of a spawned process."""
        assert self._proc is not None
        self.port = await_ready(self._proc, self.stderr_log, "inventory", timeout)

    def stop(self) -> None:
        """Stop the process."""
        if self._proc is not None:
            terminate(self._proc)
            self._proc = None


def accepting(ports: tuple[int, ...]) -> bool:
    """Whether something accepts connections on every one of these loopback ports."""
    for port in ports:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return False
    return True


class BackgroundTraffic:
    """A few requests per second on normal routes, the odd 404, so the chart stays alive.

    Product pages (which call the inventory) join once the link to the inventory
    accepts connections: the dashboard starts the proxies on it a moment after the stack.
    """

    def __init__(
        self,
        base_url: str,
        *,
        rate: float = 3.0,
        seed: int = 5000,
        link: tuple[int, ...] = (),
    ) -> None:
        self.base_url = base_url
        self.rate = rate
        self.link = link
        self._link_up = not link
        self._link_checked = 0.0
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

    def _products(self) -> bool:
        if not self._link_up and time.monotonic() - self._link_checked >= 1.0:
            self._link_checked = time.monotonic()
            self._link_up = accepting(self.link)
        return self._link_up and bool(self.link)

    def _request(self, client: httpx.Client) -> None:
        pick = self._random.random()
        if self._products() and self._random.random() < 0.3:
            client.get(f"/api/products/{self._random.randint(1, 5)}")
        elif pick < 0.45:
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
    """API + inventory + Prometheus (when a binary exists) + traffic; stops everything."""

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
        self.inventory = Inventory(workdir)
        # API -> "inventory" proxy -> "inventory-slow" proxy -> inventory: two links in a
        # row, so the demo can cut the calls (first) and slow them (second) independently.
        self.link_ports = (free_port(), free_port())
        inventory_url = f"http://127.0.0.1:{self.link_ports[0]}"
        self.api = DemoApi(workdir, port=api_port, inventory_url=inventory_url)
        binary = prometheus_binary or (find_prometheus() if use_prometheus else None)
        self._binary = binary
        self.prometheus: PrometheusServer | None = None
        self._traffic_rate = traffic_rate
        self.traffic: BackgroundTraffic | None = None

    def start(self) -> None:
        """Start every part; on a failure, stop what already started and re-raise."""
        try:
            self.inventory.spawn()  # starts while the API does: the demo opens no later
            self.api.start()
            self.inventory.wait_ready()
            if self._binary is not None:
                prom_dir = self.workdir / "prometheus"
                prom_dir.mkdir(exist_ok=True)
                self.prometheus = PrometheusServer(self._binary, prom_dir, [self.api.host_port])
                self.prometheus.start()
            if self._traffic_rate > 0:
                self.traffic = BackgroundTraffic(
                    self.api.url, rate=self._traffic_rate, link=self.link_ports
                )
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
        self.inventory.stop()

    def proxies(self) -> tuple[ProxyConfig, ...]:
        """The two proxies on the API's link to the inventory, for the dashboard to run:
        the first (next to the API) resets a third of its connections (502s), the second
        delays half the stock calls past the API's 1 s timeout (504s)."""
        near, far = self.link_ports
        return (
            ProxyConfig(
                name="inventory",
                listen=f"127.0.0.1:{near}",
                upstream=f"http://127.0.0.1:{far}",
                fault=FaultConfig(kind="reset", ratio=0.3),
            ),
            ProxyConfig(
                name="inventory-slow",
                listen=f"127.0.0.1:{far}",
                upstream=self.inventory.url,
                fault=FaultConfig(kind="delay", delay=2.0, ratio=0.5, route="/stock/*"),
            ),
        )

    def notice(self) -> str:
        """One line for the dashboard: what runs where, and any port change."""
        parts = [f"demo API on {self.api.host_port}"]
        if self.api.wanted_port and self.api.port != self.api.wanted_port:
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
        proxies=(*config.proxies, *stack.proxies()),
    )
