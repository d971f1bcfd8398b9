"""100k lines/s for 10 s into a followed file, the dashboard running (headless, Pilot).

A writer process (its own interpreter, so it does not share the app's GIL) appends
1,000 lines every 10 ms, one traceback record per 100 lines. Measured: that the
dashboard counts exactly what was written, the benchmark process's peak RSS growth
(it must not follow the 80 MB the file grows by), and how long the app takes to act
on a key while the stream runs. Baseline, same run, same app: that key with no stream.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchmarks.common import percentile, report
from errwatch.config import Config, LogConfig
from errwatch.core.injection.injector import Injector
from errwatch.core.logs.logwatch import TracebackMonitor
from errwatch.core.metrics.rates import MetricsSnapshot, SourceState
from errwatch.ui.app import ErrwatchApp
from errwatch.ui.tracebacks import TracebackPanel

SECONDS = 10
LINES_PER_SECOND = 100_000
PRESSES = 30

WRITER = """
import sys, time
path, seconds, rate = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
plain = (b"2025-07-29 14:35:02,123 INFO [werkzeug] 127.0.0.1 - - "
         b"\\"GET /api/users/7 HTTP/1.1\\" 200 -\\n")
kinds = [
    (b"KeyError: 'user'\\n", b"users"), (b"ZeroDivisionError: division by zero\\n", b"ratio"),
    (b"ValueError: bad id\\n", b"parse"), (b"TimeoutError: backend\\n", b"fetch"),
]
def traceback(n):
    final, func = kinds[n % len(kinds)]
    return (b"2025-07-29 14:35:02,123 ERROR [api] Exception on /x [GET]\\n"
            b"Traceback (most recent call last):\\n"
            b'  File "/srv/app/views.py", line 12, in ' + func + b"\\n"
            b"    return handler(request)\\n" + final)
batch_lines = rate // 100  # every 10 ms
written = lines = 0
started = time.perf_counter()
with open(path, "ab", buffering=0) as out:
    for tick in range(int(seconds * 100)):
        parts = []
        count = 0
        while count < batch_lines:
            if count % 100 == 50:
                parts.append(traceback(written)); written += 1; count += 5
            else:
                parts.append(plain); count += 1
        out.write(b"".join(parts))
        lines += count
        delay = started + (tick + 1) / 100 - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
print(written, lines, time.perf_counter() - started)
"""


class NoMetrics:
    mode = "prometheus"

    def poll(self) -> MetricsSnapshot:
        return MetricsSnapshot(SourceState.NO_DATA, 0.0)

    def close(self) -> None:
        pass


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def key_response(app: ErrwatchApp, panel: TracebackPanel) -> float:
    """Seconds from a key `o` arriving to the panel having re-sorted its table.

    The key is posted as a terminal key arrives (``Pilot.press`` would also wait for
    the whole process to be idle, which a busy follower thread never quite is)."""
    wanted = "count" if panel.order == "last" else "last"
    started = time.perf_counter()
    app.simulate_key("o")
    async with asyncio.timeout(10):
        while panel.order != wanted:
            await asyncio.sleep(0.001)
    return time.perf_counter() - started


async def run() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        log = Path(workdir) / "app.log"
        log.write_bytes(b"")
        config = Config(logs=(LogConfig(path=str(log)),))
        app = ErrwatchApp(
            config,
            metrics=NoMetrics(),
            tracebacks=TracebackMonitor(config.logs),
            injector=Injector(config.injection, config.target.url),
        )
        async with app.run_test(size=(120, 40)) as pilot:
            panel = app.query_one(TracebackPanel)
            await pilot.pause(0.5)
            quiet = []
            for _ in range(PRESSES):
                quiet.append(await key_response(app, panel))
                await asyncio.sleep(0.05)
            before = rss_mb()
            writer = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    textwrap.dedent(WRITER),
                    str(log),
                    str(SECONDS),
                    str(LINES_PER_SECOND),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            busy = []
            peak = before
            while writer.poll() is None:
                busy.append(await key_response(app, panel))
                peak = max(peak, rss_mb())
                await asyncio.sleep(0.25)
            out, _ = writer.communicate()
            tracebacks, lines, took = out.split()
            expected = int(tracebacks)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                update = panel.update
                if update is not None and update.events >= expected:
                    break
                await pilot.pause(0.1)
                peak = max(peak, rss_mb())
            await pilot.pause(1.0)  # nothing more may come
            update = panel.update
            counted = update.events if update is not None else 0
            grouped = sum(g.count for g in update.groups) if update is not None else 0
            size = log.stat().st_size / 1024**2
    ms = [t * 1000 for t in busy]
    report(
        f"{int(lines) / float(took):,.0f} lines/s for {float(took):.1f} s "
        f"({size:.0f} MB, {expected} tracebacks) into a followed file, dashboard running",
        f"counted {counted} ({'exact' if counted == expected == grouped else 'WRONG'}), "
        f"RSS +{peak - before:.0f} MB (peak {peak:.0f} MB), key `o` acted on in "
        f"median {statistics.median(ms):.0f} ms, p99 {percentile(ms, 99):.0f} ms, "
        f"max {max(ms):.0f} ms over {len(ms)} presses",
        f"same key, no stream: median {statistics.median(quiet) * 1000:.0f} ms, "
        f"max {max(quiet) * 1000:.0f} ms",
    )


if __name__ == "__main__":
    asyncio.run(run())
