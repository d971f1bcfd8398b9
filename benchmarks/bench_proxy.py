"""The fault proxy: pass-through speed and added latency against the direct path, the exact
share of faults, the accuracy of a delay. Load from Debian's hey in every case.

The upstream is a real, fast HTTP server: Prometheus's ``/-/healthy`` (Go's net/http,
keep-alive), so what is measured is the proxy, not a slow backend. errwatch's proxy runs
as `errwatch proxy`, its own process, as a person would run it. The direct path and the
proxied path are measured in the same run, alternately, and the medians compared.
"""

from __future__ import annotations

import json
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import report
from errwatch.demo.process import read_line, terminate
from errwatch.demo.prometheus import PrometheusServer, find_binary, find_prometheus

RATE = 1000
"""Requests per second the latency is measured at (hey -c 10 -q 100)."""
SECONDS = 5
ROUNDS = 5
"""Alternated direct/proxied runs; the median of each side is reported."""
SHARE_REQUESTS = 1000
SHARE = 0.3
DELAY_MS = 100
READY = re.compile(r"listening on 127\.0\.0\.1:(\d+) -> ")


@dataclass(frozen=True, slots=True)
class Load:
    """What hey said about one run."""

    rate: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]


def hey(url: str, *args: str) -> Load:
    """Run hey and read its summary."""
    done = subprocess.run(
        ["hey", *args, url], capture_output=True, text=True, check=True, timeout=120
    )
    out = done.stdout

    def number(pattern: str) -> float:
        found = re.search(pattern, out)
        if found is None:
            raise SystemExit(f"hey said nothing about {pattern!r}:\n{out}")
        return float(found.group(1))

    statuses = dict(re.findall(r"\[(\d{3})\]\s+(\d+) responses", out))
    return Load(
        rate=number(r"Requests/sec:\s+([\d.]+)"),
        p50_ms=number(r"50% in ([\d.]+) secs") * 1000,
        p99_ms=number(r"99% in ([\d.]+) secs") * 1000,
        statuses={status: int(count) for status, count in statuses.items()},
    )


@dataclass
class Proxied:
    """A running `errwatch proxy`: its URL, and its --json summary once it stopped."""

    url: str
    summary: dict[str, Any] = field(default_factory=dict)


@contextmanager
def proxy(upstream: str, workdir: Path, *fault: str) -> Iterator[Proxied]:
    """`errwatch proxy --json` in front of ``upstream``, stopped by Ctrl-C (SIGINT) on exit."""
    config = workdir / "empty.toml"
    config.write_text("")
    argv = [sys.executable, "-m", "errwatch", "proxy", "--config", str(config), "--json"]
    argv += ["--upstream", upstream, "--listen", "127.0.0.1:0", *fault]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    line = read_line(proc.stderr, time.monotonic() + 15) or ""
    found = READY.search(line)
    if found is None:
        terminate(proc)
        raise SystemExit(f"errwatch proxy did not start: {line}")
    running = Proxied(f"http://127.0.0.1:{found.group(1)}")
    try:
        yield running
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        running.summary = json.loads(out)


def main() -> None:
    binary = find_prometheus()
    if binary is None or find_binary("hey") is None:
        raise SystemExit("prometheus and hey are needed (make debs)")
    with tempfile.TemporaryDirectory(prefix="errwatch-bench-proxy-") as tmp:
        workdir = Path(tmp)
        (workdir / "prometheus").mkdir()
        server = PrometheusServer(binary, workdir / "prometheus", [])
        server.start()
        try:
            run(server.url, workdir)
        finally:
            server.stop()


def run(upstream: str, workdir: Path) -> None:
    path = "/-/healthy"
    steady = ("-z", f"{SECONDS}s", "-c", "10", "-q", str(RATE // 10))
    with proxy(upstream, workdir) as running:
        proxied = running.url
        hey(proxied + path, "-n", "2000", "-c", "10")  # warm both paths up
        hey(upstream + path, "-n", "2000", "-c", "10")
        direct: list[Load] = []
        through: list[Load] = []
        for _ in range(ROUNDS):
            direct.append(hey(upstream + path, *steady))
            through.append(hey(proxied + path, *steady))
        top_direct = hey(upstream + path, "-z", "5s", "-c", "20")
        top_through = hey(proxied + path, "-z", "5s", "-c", "20")

    def median(loads: list[Load], field: str) -> float:
        return statistics.median(getattr(load, field) for load in loads)

    rate = median(through, "rate")
    added50 = median(through, "p50_ms") - median(direct, "p50_ms")
    added99 = median(through, "p99_ms") - median(direct, "p99_ms")
    report(
        f"pass-through at {RATE} req/s asked (hey -c 10 -q {RATE // 10} -z {SECONDS}s, "
        f"median of {ROUNDS}, upstream Prometheus /-/healthy)",
        f"errwatch proxy {rate:.0f} req/s, p50 {median(through, 'p50_ms'):.2f} ms, "
        f"p99 {median(through, 'p99_ms'):.2f} ms -> added p50 {added50:+.2f} ms, "
        f"p99 {added99:+.2f} ms",
        f"direct {median(direct, 'rate'):.0f} req/s, p50 {median(direct, 'p50_ms'):.2f} ms, "
        f"p99 {median(direct, 'p99_ms'):.2f} ms",
        "goal >= 1000 req/s and <= 2 ms added p99: "
        + ("met" if rate >= 0.98 * RATE and added99 <= 2.0 else "MISSED"),
    )
    report(
        "pass-through ceiling (hey -c 20, unthrottled, 5 s)",
        f"errwatch proxy {top_through.rate:.0f} req/s (p99 {top_through.p99_ms:.1f} ms)",
        f"direct {top_direct.rate:.0f} req/s (p99 {top_direct.p99_ms:.1f} ms)",
    )

    with proxy(upstream, workdir, "--abort", "503", "--ratio", str(SHARE)) as faulty:
        shared = hey(faulty.url + path, "-n", str(SHARE_REQUESTS), "-c", "10")
    aborted = shared.statuses.get("503", 0)
    assert faulty.summary["faulted"]["abort"] == aborted, "the proxy counted what hey saw"
    expected = SHARE * SHARE_REQUESTS
    report(
        f"fault share over {SHARE_REQUESTS} requests (--abort 503 --ratio {SHARE}, hey -c 10)",
        f"{aborted} aborted ({aborted / SHARE_REQUESTS:.1%}), {shared.statuses.get('200', 0)} "
        "passed",
        f"asked {expected:.0f} ({SHARE:.0%})",
        "goal within 2 %: " + ("met" if abs(aborted - expected) <= 0.02 * expected else "MISSED"),
    )

    with proxy(upstream, workdir, "--delay", f"{DELAY_MS}ms") as slow:
        delayed = hey(slow.url + path, "-n", "300", "-c", "10", "-q", "10")
    plain = hey(upstream + path, "-n", "300", "-c", "10", "-q", "10")
    added_p50 = delayed.p50_ms - plain.p50_ms
    added_p99 = delayed.p99_ms - plain.p99_ms
    own = slow.summary["added_latency_ms"]
    # Judged on what the client sees at the median, and on every delay the proxy applied
    # (its worst); the client's p99 also carries the machine's scheduling noise (printed).
    worst = max(abs(added_p50 - DELAY_MS), abs(own["max"] - DELAY_MS), abs(own["p99"] - DELAY_MS))
    report(
        f"delay accuracy (--delay {DELAY_MS}ms, 300 requests at 100 req/s)",
        f"seen by hey: added p50 {added_p50:.1f} ms, p99 {added_p99:.1f} ms; applied by the "
        f"proxy: p50 {own['p50']:.1f} ms, p99 {own['p99']:.1f} ms, max {own['max']:.1f} ms",
        f"direct p50 {plain.p50_ms:.2f} ms, p99 {plain.p99_ms:.2f} ms",
        "goal within 10 ms of the asked delay: " + ("met" if worst <= 10 else "MISSED"),
    )


if __name__ == "__main__":
    main()
