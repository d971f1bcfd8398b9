"""`errwatch scan` of >= 1 GB logs with sparse tracebacks, against `grep -c` on the same file.

Both run as whole commands (start-up included), several times each after a warm-up
that puts the file in the page cache; wall time is the median, peak RSS comes from
wait4() on each child. The logs are generated once under benchmarks/data/ (git-ignored):
app records, werkzeug access lines with ANSI colours, and every ~8 MB a traceback in
one of several formats, so the expected count is known exactly. The prefixed variant
is the same log as ``docker compose logs`` prints two services writing at once (every
line ``web-1  | `` or ``worker-1  | ``, the tracebacks web-1's): framing's cost is its
scan time against the unprefixed log's, both measured in the same run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import report, venv_bin

DATA = Path(__file__).parent / "data"
LOG = DATA / "scan-1g.log"
META = DATA / "scan-1g.json"
PREFIXED = DATA / "scan-1g-compose.log"
PREFIXED_META = DATA / "scan-1g-compose.json"
SIZE = 1024**3
RUNS = 5
SERVICES = (b"web-1     | ", b"worker-1  | ")
"""docker compose v2's prefixes for two services, padded to the longer name."""

RECORDS = [
    b"2025-07-29 14:35:%02d,%03d INFO [werkzeug] 127.0.0.1 - - [29/Jul/2025 14:35:02] "
    b'"GET /api/users/%d HTTP/1.1" 200 -\n',
    b"2025-07-29 14:35:%02d,%03d INFO [werkzeug] 127.0.0.1 - - [29/Jul/2025 14:35:02] "
    b'"\x1b[33mGET /api/nope/%d HTTP/1.1\x1b[0m" 404 -\n',
    b"2025-07-29 14:35:%02d,%03d INFO [shop.orders] order %d accepted for user 7, "
    b"3 items, total 42.50 EUR\n",
    b"2025-07-29 14:35:%02d,%03d WARNING [shop.cache] cache miss for key user:%d, "
    b"reloading from the database\n",
]

TRACEBACKS = [
    # logging.exception in a Flask handler
    b"2025-07-29 14:36:00,000 ERROR [api] Exception on /error [GET]\n"
    b"Traceback (most recent call last):\n"
    b'  File "/srv/app/api.py", line 129, in error\n'
    b"    ratio = 1 / 0\n"
    b"            ~~^~~\n"
    b"ZeroDivisionError: division by zero\n",
    # a chain
    b"2025-07-29 14:36:01,000 ERROR [shop.orders] order failed\n"
    b"Traceback (most recent call last):\n"
    b'  File "/srv/app/orders.py", line 40, in load\n'
    b"    return json.loads(raw)\n"
    b"json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)\n"
    b"\n"
    b"The above exception was the direct cause of the following exception:\n"
    b"\n"
    b"Traceback (most recent call last):\n"
    b'  File "/srv/app/orders.py", line 52, in create\n'
    b"    payload = load(body)\n"
    b"RuntimeError: bad order\n",
    # a script that does not compile (no Traceback header)
    b'  File "/srv/app/jobs/nightly.py", line 12\n'
    b"    def run(\n"
    b"           ^\n"
    b"SyntaxError: '(' was never closed\n",
    # a JSON record
    b'{"asctime": "2025-07-29 14:36:02,000", "levelname": "ERROR", "name": "shop.pay", '
    b'"message": "Exception on /pay [POST]", "exc_info": "Traceback (most recent call '
    b'last):\\n  File \\"/srv/app/pay.py\\", line 9, in charge\\n    return amount / 0\\n'
    b'ZeroDivisionError: division by zero"}\n',
]


def _prefixed(text: bytes, service: int) -> bytes:
    prefix = SERVICES[service]
    return b"".join(prefix + line for line in text.splitlines(keepends=True))


def generate(log: Path, meta_path: Path, *, prefixed: bool) -> dict[str, int]:
    """Write a log (about SIZE bytes) and return what it holds."""
    DATA.mkdir(exist_ok=True)
    block = bytearray()
    n = 0
    while len(block) < 8 * 1024 * 1024:
        record = RECORDS[n % len(RECORDS)] % (n % 60, n % 1000, n)
        block += _prefixed(record, n % 2) if prefixed else record
        n += 1
    tracebacks = 0
    written = 0
    with log.open("wb") as out:
        while written < SIZE:
            traceback = TRACEBACKS[tracebacks % len(TRACEBACKS)]
            if prefixed:
                traceback = _prefixed(traceback, 0)
            out.write(block)
            out.write(traceback)
            written += len(block) + len(traceback)
            tracebacks += 1
    meta = {"size": log.stat().st_size, "tracebacks": tracebacks}
    meta_path.write_text(json.dumps(meta))
    return meta


def the_log(log: Path = LOG, meta_path: Path = META, *, prefixed: bool = False) -> dict[str, int]:
    if log.exists() and meta_path.exists():
        meta: dict[str, int] = json.loads(meta_path.read_text())
        if log.stat().st_size == meta["size"]:
            return meta
    print(f"generating {log} ...", file=sys.stderr)
    return generate(log, meta_path, prefixed=prefixed)


def measure(argv: list[str]) -> tuple[float, int, bytes]:
    """Wall seconds, peak RSS in KiB and stdout of one whole command."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE)
    assert child.stdout is not None
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):  # grep -c exits 1 when it counts 0
        raise SystemExit(f"{argv[0]} failed with {child.returncode}")
    return elapsed, usage.ru_maxrss, out


@dataclass(frozen=True)
class Figures:
    """One log's medians: errwatch scan and grep -c, whole commands."""

    scan_wall: float
    scan_rss: float
    grep_wall: float
    grep_rss: float
    grep_count: int


def measure_log(log: Path, meta: dict[str, int], *, streams: set[str]) -> Figures:
    grep = ["grep", "-c", "Traceback (most recent call last)", str(log)]
    scan = [venv_bin("errwatch"), "scan", "--json", str(log)]
    measure(grep)  # warm the page cache
    measure(scan)
    grep_runs, scan_runs = [], []
    for _ in range(RUNS):  # interleaved, so both see the same machine
        grep_runs.append(measure(grep))
        scan_runs.append(measure(scan))
    found = json.loads(scan_runs[-1][2])
    assert found["events"] + found["incomplete"] == meta["tracebacks"], found["events"]
    seen = {name for group in found["groups"] for name in group["sources"]}
    assert seen == streams, seen
    return Figures(
        scan_wall=statistics.median(run[0] for run in scan_runs),
        scan_rss=max(run[1] for run in scan_runs) / 1024,
        grep_wall=statistics.median(run[0] for run in grep_runs),
        grep_rss=max(run[1] for run in grep_runs) / 1024,
        grep_count=int(grep_runs[-1][2]),
    )


def main() -> None:
    meta = the_log()
    plain = measure_log(LOG, meta, streams={str(LOG)})
    ratio = plain.scan_wall / plain.grep_wall
    report(
        f"errwatch scan --json, {meta['size'] / 1024**3:.2f} GiB log, "
        f"{meta['tracebacks']} tracebacks (all found)",
        f"wall median {plain.scan_wall:.3f}s, peak RSS {plain.scan_rss:.0f} MB",
        f"grep -c 'Traceback (most recent call last)': wall median {plain.grep_wall:.3f}s, "
        f"peak RSS {plain.grep_rss:.0f} MB (counts {plain.grep_count} header lines)",
        f"ratio {ratio:.2f}x (goal <= 2x: {'met' if ratio <= 2 else 'MISSED'}); "
        f"RSS goal <= 150 MB: {'met' if plain.scan_rss <= 150 else 'MISSED'}",
    )
    meta = the_log(PREFIXED, PREFIXED_META, prefixed=True)
    framed = measure_log(PREFIXED, meta, streams={"web-1"})
    cost = framed.scan_wall / plain.scan_wall - 1
    report(
        f"errwatch scan --json, {meta['size'] / 1024**3:.2f} GiB docker compose log "
        f"(two services interleaved), {meta['tracebacks']} tracebacks (all found, in web-1)",
        f"wall median {framed.scan_wall:.3f}s, peak RSS {framed.scan_rss:.0f} MB; "
        f"against the unprefixed log's scan ({plain.scan_wall:.3f}s): {cost:+.1%}",
        f"grep -c on the same file: wall median {framed.grep_wall:.3f}s "
        f"(ratio {framed.scan_wall / framed.grep_wall:.2f}x)",
        f"framing cost goal <= +20%: {'met' if cost <= 0.20 else 'MISSED'}",
    )


if __name__ == "__main__":
    main()
