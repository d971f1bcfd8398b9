"""The exporter matrix's fleet: every app (or static exposition) on its own loopback port,
all scraped by ONE real Prometheus, each under its own job (none is "api"), with steady
background traffic, as on a Prometheus shared by many apps.

The static expositions (ingress-nginx, Traefik, Envoy, nginx-vts) cannot run here: their
documented text is served as a file by Python's http.server, rewritten as "traffic" moves
their counters, and scraped by the real Prometheus like any target.
"""

from __future__ import annotations

import contextlib
import json
import os
import string
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from errwatch.demo.process import free_port, spawn, terminate, wait_until_ok
from errwatch.demo.prometheus import PrometheusServer

ROOT = Path(__file__).resolve().parents[2]
EXPOSITIONS = Path(__file__).with_name("expositions")
TICK = 0.2
"""Seconds between two rounds of background traffic: 5 requests per second per app."""
OK_RATE = 1 / TICK


@dataclass(frozen=True)
class Kind:
    """One exporter of the matrix and what discovery must find for it."""

    job: str
    metric: str
    status_label: str
    route_label: str
    """The route label discovery reports ("" when there is none)."""
    module: str = ""
    """tests.exporters.apps.<module>; "" for a static exposition."""
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    static: str = ""
    """File under expositions/ for a static exposition."""
    metrics_path: str = "/metrics"
    gunicorn: bool = False
    classes: bool = False
    """The status label holds classes only ("5xx", "5")."""
    split: str = "exact"
    """"exact" (a route label with paths) or "estimated" (the injector's answers subtracted)."""
    multiprocess: bool = True
    """gunicorn: prometheus_client's multiprocess mode (else each worker counts alone)."""
    replicas: int = 1

    @property
    def app(self) -> bool:
        """A real app (injection and /fail apply), not a static exposition."""
        return not self.static


KINDS = (
    Kind("flask", "flask_http_request_duration_seconds_count", "status", "path", "flask_exporter"),
    Kind("fastapi", "http_requests_total", "status", "handler", "instrumentator", classes=True),
    Kind(
        "fastapi-ungrouped",
        "http_requests_total",
        "status",
        "handler",
        "instrumentator",
        args=("--ungrouped",),
    ),
    Kind("starlette", "starlette_requests_total", "status_code", "path", "starlette_exp"),
    Kind(
        "django",
        "django_http_responses_total_by_status_view_method_total",
        "status",
        "view",
        "django_app",
        split="estimated",
    ),
    Kind("aioprometheus", "status_codes_counter", "status_code", "path", "aioprom"),
    Kind(
        "otel",
        "http_server_duration_milliseconds_count",
        "http_status_code",
        "http_target",
        "otel_flask",
    ),
    Kind(
        "otel-stable",
        "http_server_request_duration_seconds_count",
        "http_response_status_code",
        "http_route",
        "otel_flask",
        env=(("OTEL_SEMCONV_STABILITY_OPT_IN", "http"),),
    ),
    Kind("gunicorn", "http_requests_total", "code", "handler", gunicorn=True),
    Kind(
        "ingress-nginx",
        "nginx_ingress_controller_requests",
        "status",
        "path",
        static="ingress_nginx.prom",
    ),
    Kind(
        "traefik",
        "traefik_service_requests_total",
        "code",
        "",
        static="traefik.prom",
        split="estimated",
    ),
    Kind(
        "envoy",
        "envoy_cluster_upstream_rq",
        "envoy_response_code",
        "",
        static="envoy.prom",
        metrics_path="/stats/prometheus",
        split="estimated",
    ),
    Kind(
        "nginx-vts",
        "nginx_vts_server_requests_total",
        "code",
        "",
        static="nginx_vts.prom",
        classes=True,
        split="estimated",
    ),
)
"""The matrix: what a URL-only config must find for each exporter."""
BY_JOB = {kind.job: kind for kind in KINDS}
EXTRAS = (
    Kind(
        "replicas",
        "flask_http_request_duration_seconds_count",
        "status",
        "path",
        "flask_exporter",
        replicas=2,
    ),
    Kind(
        "gunicorn-plain",
        "http_requests_total",
        "code",
        "handler",
        gunicorn=True,
        multiprocess=False,
    ),
)
"""Not in the matrix: two replicas under one job, and gunicorn without multiprocess mode."""


class StaticExposition:
    """A documented exposition served as a file; its counters move when told to."""

    def __init__(self, template: str, directory: Path, metrics_path: str) -> None:
        self.template = string.Template((EXPOSITIONS / template).read_text())
        self.path = directory / metrics_path.lstrip("/")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.counts = {"ok": 0, "fail": 0}
        self.write()

    def write(self) -> None:
        """Write the file whole, then rename: a scrape never reads half of it."""
        values = {**self.counts, "total": sum(self.counts.values())}
        part = self.path.with_suffix(".part")
        part.write_text(self.template.substitute(values))
        part.replace(self.path)

    def add(self, ok: int = 0, fail: int = 0) -> None:
        """Count requests, as the proxy would."""
        self.counts["ok"] += ok
        self.counts["fail"] += fail
        self.write()


@dataclass
class Member:
    """One running app (or static file server) of the fleet."""

    name: str
    kind: Kind
    port: int
    log: Path
    proc: object = None
    static: StaticExposition | None = None
    stopped: bool = False

    def stop(self) -> None:
        """Stop this member (its target goes down)."""
        self.stopped = True
        terminate(self.proc)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def instance(self) -> str:
        return f"127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        kind = self.kind
        if kind.static:
            root = self.log.parent / f"{self.name}-root"
            return [
                sys.executable,
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                str(self.port),
                "--directory",
                str(root),
            ]
        if kind.gunicorn:
            return [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "3",
                "--bind",
                self.instance,
                "--log-level",
                "warning",
                "tests.exporters.apps.gunicorn_multiproc:app",
            ]
        return [
            sys.executable,
            "-m",
            f"tests.exporters.apps.{kind.module}",
            "--port",
            str(self.port),
            *kind.args,
        ]


@dataclass
class Fleet:
    """Every member, the Prometheus scraping them all, and the background traffic."""

    members: dict[str, Member]
    prometheus: PrometheusServer
    workdir: Path
    failing: set[str] = field(default_factory=set)
    """Members whose app gets /fail requests (real application errors) on every tick."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def config(self, name: str, **prometheus: str) -> Path:
        """A config.toml naming only the URLs (and the injection route): nothing to find.
        ``prometheus``: keys a test pins on purpose."""
        member = self.members[name]
        extra = "".join(f'{key} = "{value}"\n' for key, value in prometheus.items())
        path = self.workdir / f"{name}.toml"
        path.write_text(
            f'[target]\nurl = "{member.url}"\n\n'
            f'[prometheus]\nurl = "{self.prometheus.url}"\nrefresh = "1s"\nrate_window = "4s"\n'
            f"{extra}\n"
            '[injection]\nroute = "/error"\n\n[recording]\nenabled = false\n'
        )
        return path

    def traffic(self) -> None:
        """5 requests per second of / to every app, and /fail to the failing ones."""
        with httpx.Client(timeout=2.0) as client:
            due = time.monotonic()
            while not self._stop.wait(max(0.0, due - time.monotonic())):
                due += TICK  # on schedule, whatever the requests took
                for name, member in list(self.members.items()):
                    if member.stopped:
                        continue
                    failing = name in self.failing
                    if member.static is not None:
                        with self._lock:
                            member.static.add(ok=1, fail=1 if failing else 0)
                        continue
                    with contextlib.suppress(httpx.HTTPError):
                        client.get(f"{member.url}/")
                        if failing:
                            client.get(f"{member.url}/fail")

    def stop(self) -> None:
        self._stop.set()


def scrape_configs(members: dict[str, Member]) -> str:
    """One Prometheus, one job per kind (replicas share theirs), 1 s scrapes."""
    by_job: dict[str, list[Member]] = {}
    for member in members.values():
        by_job.setdefault(member.kind.job, []).append(member)
    jobs = [
        {
            "job_name": job,
            "scrape_interval": "1s",
            "scrape_timeout": "1s",
            "metrics_path": same[0].kind.metrics_path,
            "static_configs": [{"targets": [m.instance for m in same]}],
        }
        for job, same in by_job.items()
    ]
    config = {"global": {"scrape_interval": "1s"}, "scrape_configs": jobs}
    return json.dumps(config, indent=2)


def environment(kind: Kind, workdir: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **dict(kind.env)}
    if kind.gunicorn and kind.multiprocess:
        shared = workdir / f"{kind.job}-multiproc"
        shared.mkdir(exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(shared)
    return env


@contextlib.contextmanager
def running_fleet(
    prometheus_bin: str, workdir: Path, kinds: tuple[Kind, ...] = KINDS + EXTRAS
) -> Iterator[Fleet]:
    """Start every member and Prometheus; traffic flows until the end."""
    members: dict[str, Member] = {}
    procs = []
    try:
        taken: set[int] = set()
        for kind in kinds:
            for replica in range(1, kind.replicas + 1):
                name = kind.job if kind.replicas == 1 else f"{kind.job}-{replica}"
                # The port is free when asked, and stays free until its app binds it: two
                # members must not be handed the same one meanwhile.
                port = free_port()
                while port in taken:
                    port = free_port()
                taken.add(port)
                member = Member(name, kind, port, workdir / f"{name}.log")
                if kind.static:
                    root = workdir / f"{name}-root"
                    member.static = StaticExposition(kind.static, root, kind.metrics_path)
                member.proc = spawn(member.argv(), log=member.log, env=environment(kind, workdir))
                procs.append(member.proc)
                members[name] = member
        for member in members.values():
            ready = member.kind.metrics_path if member.kind.static else "/"
            wait_until_ok(f"{member.url}{ready}", member.proc, member.log, 30.0)  # type: ignore[arg-type]
        prom_dir = workdir / "prometheus"
        prom_dir.mkdir()
        prometheus = PrometheusServer(prometheus_bin, prom_dir, [])
        prometheus.config_path.write_text(scrape_configs(members))
        prometheus.start()
        fleet = Fleet(members, prometheus, workdir)
        pump = threading.Thread(target=fleet.traffic, name="fleet-traffic", daemon=True)
        pump.start()
        try:
            wait_for_targets(prometheus.url, len(members))
            yield fleet
        finally:
            fleet.stop()
            pump.join(5)
            prometheus.stop()
    finally:
        for proc in procs:
            terminate(proc)  # type: ignore[arg-type]


def wait_for_targets(url: str, count: int, timeout: float = 30.0) -> None:
    """Until Prometheus has scraped every target once (its first look comes ~5 s in)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
            answer = httpx.get(f"{url}/api/v1/query", params={"query": "up == 1"}).json()
            if len(answer["data"]["result"]) >= count:
                return
        time.sleep(0.2)
    raise AssertionError(f"Prometheus did not scrape all {count} targets within {timeout}s")
