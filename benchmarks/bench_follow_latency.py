"""From the write() of a traceback to the group update in the core model, over 200 appends.

The monitor runs as the dashboard runs it (its own thread, the directory watcher, no
coalescing in the core); the time is taken when the update holding the event reaches
the consumer. Baseline, in the same run on the same appends: ``tail -F`` following the
same file, from the write() to the record's line coming out of its stdout. Twice: an
unprefixed log, and the same records as ``docker compose logs`` prints them (each line
``api-1  | ``, another service's lines in between).
"""

from __future__ import annotations

import random
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import percentile, report
from errwatch.config import LogConfig
from errwatch.core.logs.logwatch import TracebackMonitor

APPENDS = 200
RECORD = (
    "2025-07-29 14:35:02,000 ERROR [api] Exception on /orders/{n} [GET]\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/app/orders.py", line 40, in show\n'
    "    return ORDERS[order_id]\n"
    "           ~~~~~~^^^^^^^^^^\n"
    "KeyError: 'o-{n}'\n"
)
_ORDER = re.compile(r"/orders/(\d+) ")
OTHER = "2025-07-29 14:35:02,000 INFO [db] checkpoint complete\n"


def compose(text: str) -> str:
    """The record as docker compose prints it, a line of another service before it."""
    lines = text.splitlines(keepends=True)
    return "db-1   | " + OTHER + "".join(f"api-1  | {line}" for line in lines)


def main() -> None:
    run("unprefixed log", lambda text: text)
    run("docker compose log (two services)", compose)


def run(name: str, shape: Callable[[str], str]) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        log = Path(workdir) / "app.log"
        log.write_bytes(b"")
        written: dict[int, float] = {}
        grouped: dict[int, float] = {}
        tailed: dict[int, float] = {}

        monitor = TracebackMonitor([LogConfig(path=str(log))])
        stop = threading.Event()

        def follow() -> None:
            for update in monitor.run(stop):
                now = time.perf_counter()
                for event in update.new_events:
                    if event.record is not None and event.record.route:
                        grouped[int(event.record.route.rsplit("/", 1)[1])] = now

        tail = subprocess.Popen(
            ["tail", "-n", "0", "-F", str(log)], stdout=subprocess.PIPE, bufsize=0
        )

        def read_tail() -> None:
            assert tail.stdout is not None
            for line in tail.stdout:
                found = _ORDER.search(line.decode())
                if found:
                    tailed[int(found.group(1))] = time.perf_counter()

        threads = [threading.Thread(target=follow), threading.Thread(target=read_tail)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)  # both followers settled on the empty file
        rng = random.Random(3)
        with log.open("ab", buffering=0) as writer:
            for n in range(APPENDS):
                data = shape(RECORD.format(n=n)).encode()
                written[n] = time.perf_counter()
                writer.write(data)  # one write(), as logging does
                time.sleep(rng.uniform(0.02, 0.06))
        deadline = time.monotonic() + 5
        while (len(grouped) < APPENDS or len(tailed) < APPENDS) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        tail.terminate()
        for thread in threads:
            thread.join(5)
        tail.wait(5)
    ours = [(grouped[n] - written[n]) * 1000 for n in written if n in grouped]
    theirs = [(tailed[n] - written[n]) * 1000 for n in written if n in tailed]
    p50, p99 = percentile(ours, 50), percentile(ours, 99)
    report(
        f"write() -> group update in the core model, {name}, {len(ours)}/{APPENDS} appends",
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(ours):.1f} ms",
        f"tail -F, write() -> line on its stdout: p50 {percentile(theirs, 50):.1f} ms, "
        f"p99 {percentile(theirs, 99):.1f} ms ({len(theirs)}/{APPENDS} lines)",
        "goal p50 <= 30 ms, p99 <= 100 ms: "
        + ("met" if p50 <= 30 and p99 <= 100 and len(ours) == APPENDS else "MISSED"),
    )


if __name__ == "__main__":
    main()
