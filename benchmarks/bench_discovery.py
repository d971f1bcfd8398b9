"""Discovery on a busy Prometheus: 10,000+ series from five apps, the API among them.

A real Prometheus scrapes five targets every second: the API (a prometheus-flask-exporter
exposition: 40 routes x 4 statuses, histograms), and four other apps whose series look
alike (http_requests_total by handler and status, duration histograms). Their
expositions are files served by Python's http.server.

Figure: ``PrometheusSource.discover()`` with metric, labels, job and instance all "auto"
(a fresh client each time, as at start), median and worst of 15 runs. Goal: <= 1 s.
Baseline, same run: one plain ``/api/v1/series`` call for the API's job, and one
``/api/v1/label/__name__/values`` over everything.

And the first frame: the dashboard (headless, 80x24) until its first frame is ready, with
discovery pending against this Prometheus, and against one that accepts connections and
never answers; baseline: the same config with everything pinned (no discovery).
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import percentile, report
from errwatch.config import Config, PrometheusConfig, TargetConfig
from errwatch.core.metrics.source import PrometheusSource
from errwatch.demo.process import free_port, spawn, terminate, wait_until_ok
from errwatch.demo.prometheus import PrometheusServer, find_prometheus

RUNS = 15
GOAL = 1.0
BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf")
STATUSES = ("200", "404", "500", "503")


def flask_exposition() -> str:
    """What prometheus-flask-exporter writes for 40 routes answered with 4 statuses."""
    lines = [
        "# HELP flask_http_request_duration_seconds Flask HTTP request duration in seconds",
        "# TYPE flask_http_request_duration_seconds histogram",
    ]
    for route in range(40):
        for status in STATUSES:
            labels = f'method="GET",path="/api/r{route}",status="{status}"'
            lines += [
                f'flask_http_request_duration_seconds_bucket{{{labels},le="{le}"}} 3'
                for le in BUCKETS
            ]
            lines += [
                f"flask_http_request_duration_seconds_count{{{labels}}} 3",
                f"flask_http_request_duration_seconds_sum{{{labels}}} 0.1",
            ]
    lines += ["# HELP flask_http_request_total Total number of HTTP requests"]
    lines += ["# TYPE flask_http_request_total counter"]
    lines += [f'flask_http_request_total{{method="GET",status="{s}"}} 120' for s in STATUSES]
    return "\n".join(lines) + "\n"


def other_exposition(app: int) -> str:
    """Another app on the same Prometheus, with look-alike series (~2,000)."""
    lines = ["# TYPE http_requests_total counter"]
    for handler in range(100):
        lines += [
            f'http_requests_total{{handler="/h{handler}",status="{s}xx",app="a{app}"}} 7'
            for s in "12345"
        ]
    lines.append("# TYPE http_request_duration_seconds histogram")
    for handler in range(100):
        lines += [
            f'http_request_duration_seconds_bucket{{handler="/h{handler}",le="{le}"}} 7'
            for le in BUCKETS
        ]
        lines += [
            f'http_request_duration_seconds_count{{handler="/h{handler}"}} 7',
            f'http_request_duration_seconds_sum{{handler="/h{handler}"}} 0.7',
        ]
    lines.append("# TYPE queue_depth gauge")
    lines += [f'queue_depth{{queue="q{n}"}} 3' for n in range(100)]
    return "\n".join(lines) + "\n"


def serve(directory: Path, text: str, log: Path) -> tuple[object, int]:
    directory.mkdir(parents=True)
    (directory / "metrics").write_text(text)
    port = free_port()
    argv = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    proc = spawn([*argv, "--directory", str(directory)], log=log)
    wait_until_ok(f"http://127.0.0.1:{port}/metrics", proc, log, 10)
    return proc, port


def scrape_config(targets: dict[str, int]) -> str:
    jobs = [
        f'  - job_name: "{job}"\n    scrape_interval: 1s\n    static_configs:\n'
        f'      - targets: ["127.0.0.1:{port}"]\n'
        for job, port in targets.items()
    ]
    return "global:\n  scrape_interval: 1s\nscrape_configs:\n" + "".join(jobs)


def series_count(url: str) -> int:
    query = {"query": 'count({__name__=~".+"})'}
    result = httpx.get(f"{url}/api/v1/query", params=query).json()["data"]["result"]
    return int(float(result[0]["value"][1])) if result else 0


def timed(call: object, runs: int = RUNS) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()  # type: ignore[operator]
        times.append(time.perf_counter() - began)
    return times


async def first_frame(config: Config) -> float:
    """Seconds until the dashboard's first frame is ready (headless, 80x24)."""
    from errwatch.sources import build_sources
    from errwatch.ui.app import ErrwatchApp

    began = time.perf_counter()
    app = ErrwatchApp.over(config, build_sources(config))
    async with app.run_test(size=(80, 24)):
        ready = time.perf_counter() - began
    return ready


def main() -> None:
    binary = find_prometheus()
    if binary is None:
        raise SystemExit("prometheus is not installed (make debs)")
    with tempfile.TemporaryDirectory(prefix="errwatch-bench-discovery-") as tmp:
        work = Path(tmp)
        procs = []
        targets: dict[str, int] = {}
        try:
            texts = {"payments": flask_exposition()}
            texts.update({f"other-{n}": other_exposition(n) for n in range(4)})
            for job, text in texts.items():
                proc, port = serve(work / job, text, work / f"{job}.log")
                procs.append(proc)
                targets[job] = port
            (work / "prometheus").mkdir()
            prometheus = PrometheusServer(binary, work / "prometheus", [])
            prometheus.config_path.write_text(scrape_config(targets))
            prometheus.start()
            try:
                deadline = time.monotonic() + 60
                while series_count(prometheus.url) < 10_000:
                    if time.monotonic() > deadline:
                        raise SystemExit("Prometheus did not reach 10,000 series in 60 s")
                    time.sleep(0.5)
                run(prometheus.url, targets["payments"], series_count(prometheus.url))
            finally:
                prometheus.stop()
        finally:
            for proc in procs:
                terminate(proc)  # type: ignore[arg-type]


def run(url: str, api_port: int, series: int) -> None:
    api = f"http://localhost:{api_port}"  # localhost here, 127.0.0.1 in Prometheus
    cfg = PrometheusConfig(url=url, timeout=5.0)
    found = []

    def discover() -> None:
        source = PrometheusSource(cfg, target_url=api)
        found.append(source.discover())
        source.close()

    took = timed(discover)
    assert all(f.ok for f in found), found[-1].problem
    with httpx.Client(base_url=url, timeout=5) as client:
        plain_series = timed(
            lambda: client.get("/api/v1/series", params={"match[]": '{job="payments"}'})
        )
        plain_names = timed(lambda: client.get("/api/v1/label/__name__/values"))
    median = statistics.median(took)
    report(
        f"bench_discovery ({series} series, {RUNS} runs, found {found[-1].metric})",
        f"discover() median {median * 1000:.0f} ms, p90 {percentile(took, 90) * 1000:.0f} ms, "
        f"max {max(took) * 1000:.0f} ms",
        f"one /api/v1/series for the job {statistics.median(plain_series) * 1000:.0f} ms, "
        f"one __name__ label-values call {statistics.median(plain_names) * 1000:.0f} ms",
        f"goal <= {GOAL:g} s: {'met' if max(took) <= GOAL else 'NOT met'}",
    )
    target = TargetConfig(url=api)
    off = {"recording": Config().recording.__class__(enabled=False)}
    auto = Config(target=target, prometheus=cfg, **off)  # type: ignore[arg-type]
    pinned_cfg = PrometheusConfig(
        url=url,
        metric="flask_http_request_duration_seconds_count",
        status_label="status",
        route_label="path",
        job="payments",
        instance="",
    )
    pinned = Config(target=target, prometheus=pinned_cfg, **off)  # type: ignore[arg-type]
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        stalled_cfg = PrometheusConfig(url=f"http://127.0.0.1:{port}", timeout=5.0)
        stalled = Config(target=target, prometheus=stalled_cfg, **off)  # type: ignore[arg-type]
        asyncio.run(first_frame(pinned))  # imports and Textual's first start, not measured
        frames = {
            name: statistics.median([asyncio.run(first_frame(config)) for _ in range(5)])
            for name, config in (("pinned", pinned), ("auto", auto), ("stalled", stalled))
        }
    report(
        "bench_discovery first frame (headless 80x24, median of 5)",
        f"discovery pending: {frames['auto'] * 1000:.0f} ms; against a Prometheus that never "
        f"answers: {frames['stalled'] * 1000:.0f} ms",
        f"everything pinned (no discovery): {frames['pinned'] * 1000:.0f} ms",
    )


if __name__ == "__main__":
    main()
