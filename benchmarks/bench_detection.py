"""Detection: from the first injected error to the alert firing.

The demo API, a real Prometheus scraping it every second, background traffic, and
errwatch's app (headless) with its built-in alerts. Fault injection starts at 20 req/s
on /error; the first error is the first "Exception on /error" record in the API's own
log. Timed until errwatch fires "new traceback group" (from the log) and "5xx ratio
above 5%" (from the metrics: ratio > 5 % held for 3 s).

Baseline, measured in the same runs: Prometheus's own rule engine with the same
condition (the same 10 s rate window, ``for: 3s``, evaluated every second), polled on
/api/v1/alerts every 20 ms: the detection a team gets from Prometheus alerting alone.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path

import httpx

from benchmarks.common import api_and_prometheus, report
from errwatch.config import (
    Config,
    InjectionConfig,
    LogConfig,
    PrometheusConfig,
    RecordingConfig,
    TargetConfig,
)
from errwatch.core.incident.timeline import EventKind
from errwatch.core.metrics.rates import SourceState
from errwatch.demo.prometheus import PrometheusServer
from errwatch.demo.stack import BackgroundTraffic, DemoApi
from errwatch.sources import build_sources
from errwatch.ui.app import ErrwatchApp
from errwatch.ui.rates import RatesPanel
from errwatch.ui.timeline import TimelinePanel

RUNS = 3
RATIO_ALERT = "5xx ratio above 5%"
LOG_ALERT = "new traceback group"
RULE = "ErrorRatioAbove5Percent"
EXPR = (
    'sum(rate(http_requests_total{status=~"5.."}[10s]))'
    " / sum(rate(http_requests_total[10s])) > 0.05"
)


def with_rule(server: PrometheusServer, workdir: Path) -> None:
    """Add the baseline alerting rule to the engine's config (JSON is YAML)."""
    rules = workdir / "rules.yml"
    rule = {"alert": RULE, "expr": EXPR, "for": "3s"}
    group = {"name": "errwatch-bench", "interval": "1s", "rules": [rule]}
    rules.write_text(json.dumps({"groups": [group]}))
    config = json.loads(server.config_path.read_text())
    config["rule_files"] = [str(rules)]
    server.config_path.write_text(json.dumps(config))


def watch_rule(url: str, stop: threading.Event, out: list[float]) -> None:
    """The moment Prometheus's own rule is firing."""
    with httpx.Client(base_url=url, timeout=2) as client:
        while not stop.is_set():
            alerts = client.get("/api/v1/alerts").json()["data"]["alerts"]
            if any(a["labels"]["alertname"] == RULE and a["state"] == "firing" for a in alerts):
                out.append(time.time())
                return
            time.sleep(0.02)


def first_error_at(log: Path) -> float:
    """The time the API itself logged the first failure of /error."""
    for line in log.read_text(errors="replace").splitlines():
        if "Exception on /error" in line:
            return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    raise SystemExit("the API logged no error")


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def one_run(api: DemoApi, prometheus: PrometheusServer, workdir: Path) -> tuple[float, ...]:
    """(errwatch from the log, errwatch from the metrics, Prometheus's rule) in seconds."""
    config = Config(
        target=TargetConfig(url=api.url),
        prometheus=PrometheusConfig(url=prometheus.url, job="api", refresh=1.0, range=120.0),
        logs=(LogConfig(path=str(api.log_file), backfill="none"),),
        injection=InjectionConfig(rate=20, duration=60),
        recording=RecordingConfig(dir=str(workdir / "sessions")),
    )
    sources = build_sources(config)
    app = ErrwatchApp.over(config, sources, output_dir=workdir)
    fired: dict[str, float] = {}
    theirs: list[float] = []
    stop = threading.Event()
    async with app.run_test(size=(120, 40)) as pilot:
        rates = app.query_one(RatesPanel)
        incident = app.query_one(TimelinePanel).incident

        def settled() -> bool:  # data up, and every earlier alert resolved
            snapshot = rates.snapshot
            return (
                snapshot is not None
                and snapshot.state is SourceState.UP
                and snapshot.current().get("200", 0.0) > 0
                and snapshot.current().get("500", 0.0) == 0
            )

        await until(settled, 60, "Prometheus data without errors")
        log_size = api.log_file.stat().st_size
        baseline = threading.Thread(target=watch_rule, args=(prometheus.url, stop, theirs))
        baseline.start()
        await pilot.press("f")

        def both() -> bool:
            for event in incident.timeline.newest_first():
                if event.kind is EventKind.ALERT_FIRING:
                    fired.setdefault(str(event.data["name"]), event.at)
            return RATIO_ALERT in fired and LOG_ALERT in fired and bool(theirs)

        await until(both, 30, "both alerts and Prometheus's rule")
        await pilot.press("f")
        stop.set()
        await asyncio.to_thread(baseline.join)
    sources.incident.close()
    with api.log_file.open("rb") as log:
        log.seek(log_size)
        fresh = workdir / "run.log"
        fresh.write_bytes(log.read())
    first = first_error_at(fresh)
    return fired[LOG_ALERT] - first, fired[RATIO_ALERT] - first, theirs[0] - first


def main() -> None:
    results: list[tuple[float, ...]] = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as name:
            workdir = Path(name)
            stack = api_and_prometheus(workdir, prepare=partial(with_rule, workdir=workdir))
            with stack as (api, prometheus):
                traffic = BackgroundTraffic(api.url, rate=5.0)
                traffic.start()
                try:
                    results.append(asyncio.run(one_run(api, prometheus, workdir)))
                finally:
                    traffic.stop()
    logs, metrics, rule = (statistics.median(column) for column in zip(*results, strict=True))
    runs = "; ".join(", ".join(f"{value:.2f}" for value in run) for run in results)
    report(
        f"first injected error -> alert firing (20 req/s on /error, median of {RUNS} runs)",
        f"errwatch: {logs:.2f}s from the log (new traceback group), {metrics:.2f}s from the "
        f"metrics (5xx ratio > 5 % for 3 s) (runs: {runs})",
        f"Prometheus's own rule, same condition, evaluated every 1 s: {rule:.2f}s",
    )


if __name__ == "__main__":
    main()
