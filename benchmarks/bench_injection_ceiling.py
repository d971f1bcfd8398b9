"""How fast one errwatch process sends on schedule: the figure behind injection.max_rate.

The target is a real Prometheus's ``/-/healthy`` (Go, fast, keeps connections alive), so
the sender is what gets measured; Prometheus counts what arrived in its own
``prometheus_http_requests_total{handler="/-/healthy"}``. At each asked rate errwatch
runs for a few seconds (concurrency 200); the baseline is Debian's hey asked the same
total rate (``hey -c 50 -q R/50``) in the same run.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import tempfile
from pathlib import Path

import httpx

from benchmarks.common import report
from errwatch.config import MAX_RATE, InjectionConfig
from errwatch.core.injection.injector import Injector
from errwatch.demo.prometheus import PrometheusServer, find_binary, find_prometheus

RATES = (500, 1000, 2000, 5000)
SECONDS = 4.0
HEY_WORKERS = 50
PATH = "/-/healthy"
_COUNTER = re.compile(r'prometheus_http_requests_total\{code="200",handler="/-/healthy"\} (\S+)')


def arrived(url: str) -> float:
    """Prometheus's own count of requests to /-/healthy."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    found = re.search(
        r'prometheus_http_requests_total\{code="200",handler="/-/healthy"\} (\S+)', text
    )
    return float(found.group(1)) if found else 0.0


def errwatch_run(url: str, rate: float) -> tuple[float, int]:
    """(arrived per second, skipped) of one errwatch run at ``rate``."""
    cfg = InjectionConfig(
        route=PATH, rate=rate, duration=SECONDS, max_rate=rate, concurrency=50, guard_ratio=0
    )
    before = arrived(url)
    stats = asyncio.run(Injector(cfg, url).run())
    return (arrived(url) - before) / SECONDS, stats.skipped


def hey_run(url: str, rate: float) -> float:
    """Arrived per second for hey asked the same total rate."""
    before = arrived(url)
    per_worker = max(1, round(rate / HEY_WORKERS))
    subprocess.run(
        ["hey", "-c", str(HEY_WORKERS), "-q", str(per_worker), "-z", f"{SECONDS:g}s", url + PATH],
        capture_output=True,
        check=True,
        timeout=SECONDS + 60,
    )
    return (arrived(url) - before) / SECONDS


def main() -> None:
    binary = find_prometheus()
    if binary is None or find_binary("hey") is None:
        raise SystemExit("prometheus and hey are needed (make debs)")
    with tempfile.TemporaryDirectory(prefix="errwatch-bench-ceiling-") as tmp:
        (Path(tmp) / "prometheus").mkdir()
        server = PrometheusServer(binary, Path(tmp) / "prometheus", [])
        server.start()
        try:
            errwatch_run(server.url, 200)  # warm up: connections, imports
            for rate in RATES:
                got, skipped = errwatch_run(server.url, rate)
                theirs = hey_run(server.url, rate)
                report(
                    f"injection at {rate} req/s asked, {SECONDS:g} s, arrived at the target",
                    f"errwatch {got:.0f}/s ({got / rate:.3f} of asked, {skipped} skipped)",
                    f"hey -c {HEY_WORKERS} {theirs:.0f}/s ({theirs / rate:.3f})",
                )
        finally:
            server.stop()
    print(f"injection.max_rate is capped at {MAX_RATE:g} req/s")


if __name__ == "__main__":
    main()
