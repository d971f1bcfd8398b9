"""Time from `errwatch demo` to live rates on screen (tmux, 80x24), over several runs.

Baseline, measured in the same run: the time a freshly started Prometheus takes to
return its first non-empty rate for the same demo API (what a dashboard reading only
Prometheus would have to wait for).
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import report, tmux, tmux_new, tmux_sessions, venv_bin
from errwatch.config import PrometheusConfig
from errwatch.core.metrics.source import PrometheusSource
from errwatch.demo.prometheus import PrometheusServer, find_prometheus
from errwatch.demo.stack import DemoApi

RATE = re.compile(r"\b[245](?:0\d|xx)\s+(\d+\.\d\d)/s")  # a code or a class
RUNS = 3


def errwatch_first_data() -> float:
    session = "errwatch-bench-start"
    with tempfile.TemporaryDirectory() as workdir:
        started = time.monotonic()
        tmux_new(session, f"cd {workdir} && {venv_bin('errwatch')} demo")
        try:
            while time.monotonic() - started < 30:
                screen = tmux("capture-pane", "-p", "-t", session)
                if any(float(rate) > 0 for rate in RATE.findall(screen)):
                    return time.monotonic() - started
                time.sleep(0.05)
            raise SystemExit("no data on screen within 30 s")
        finally:
            tmux("send-keys", "-t", session, "q")
            while session in tmux_sessions():
                time.sleep(0.1)


def prometheus_first_data(binary: str) -> float:
    with tempfile.TemporaryDirectory() as workdir:
        api = DemoApi(Path(workdir), port=0)
        api.start()
        try:
            import httpx

            prom_dir = Path(workdir) / "prom"
            prom_dir.mkdir()
            started = time.monotonic()
            server = PrometheusServer(binary, prom_dir, [api.host_port])
            server.start()
            source = PrometheusSource(PrometheusConfig(url=server.url))
            try:
                with httpx.Client(base_url=api.url) as client:
                    while time.monotonic() - started < 30:
                        client.get("/api/users")
                        if any(rate > 0 for rate in source.poll().current().values()):
                            return time.monotonic() - started
                        time.sleep(0.05)
                raise SystemExit("Prometheus had no data within 30 s")
            finally:
                server.stop()
        finally:
            api.stop()


def main() -> None:
    binary = find_prometheus()
    if binary is None:
        raise SystemExit("prometheus is not installed")
    ours = [errwatch_first_data() for _ in range(RUNS)]
    theirs = [prometheus_first_data(binary) for _ in range(RUNS)]
    report(
        "errwatch demo -> first rates on screen (tmux 80x24)",
        f"median {statistics.median(ours):.2f}s (runs: {', '.join(f'{t:.2f}' for t in ours)})",
        f"fresh Prometheus -> first non-empty rate: median {statistics.median(theirs):.2f}s",
        "goal <= 5 s: " + ("met" if statistics.median(ours) <= 5 else "MISSED"),
    )


if __name__ == "__main__":
    main()
