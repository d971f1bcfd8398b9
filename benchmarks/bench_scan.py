"""`errwatch scan` of a >= 1 GB log with sparse tracebacks, against `grep -c` on the same file.

Both run as whole commands (start-up included), several times each after a warm-up
that puts the file in the page cache; wall time is the median, peak RSS comes from
wait4() on each child. The log is generated once under benchmarks/data/ (git-ignored):
app records, werkzeug access lines with ANSI colours, and every ~8 MB a traceback in
one of several formats, so the expected count is known exactly.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import report, venv_bin

DATA = Path(__file__).parent / "data"
LOG = DATA / "scan-1g.log"
META = DATA / "scan-1g.json"
SIZE = 1024**3
RUNS = 5

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


def generate() -> dict[str, int]:
    """Write the log (about SIZE bytes) and return what it holds."""
    DATA.mkdir(exist_ok=True)
    block = bytearray()
    n = 0
    while len(block) < 8 * 1024 * 1024:
        block += RECORDS[n % len(RECORDS)] % (n % 60, n % 1000, n)
        n += 1
    tracebacks = 0
    written = 0
    with LOG.open("wb") as out:
        while written < SIZE:
            out.write(block)
            out.write(TRACEBACKS[tracebacks % len(TRACEBACKS)])
            written += len(block) + len(TRACEBACKS[tracebacks % len(TRACEBACKS)])
            tracebacks += 1
    meta = {"size": LOG.stat().st_size, "tracebacks": tracebacks}
    META.write_text(json.dumps(meta))
    return meta


def the_log() -> dict[str, int]:
    if LOG.exists() and META.exists():
        meta: dict[str, int] = json.loads(META.read_text())
        if LOG.stat().st_size == meta["size"]:
            return meta
    print(f"generating {LOG} ...", file=sys.stderr)
    return generate()


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


def main() -> None:
    meta = the_log()
    grep = ["grep", "-c", "Traceback (most recent call last)", str(LOG)]
    scan = [venv_bin("errwatch"), "scan", "--json", str(LOG)]
    measure(grep)  # warm the page cache
    measure(scan)
    grep_runs, scan_runs = [], []
    for _ in range(RUNS):  # interleaved, so both see the same machine
        grep_runs.append(measure(grep))
        scan_runs.append(measure(scan))
    found = json.loads(scan_runs[-1][2])
    assert found["events"] + found["incomplete"] == meta["tracebacks"], found["events"]
    grep_wall = statistics.median(run[0] for run in grep_runs)
    scan_wall = statistics.median(run[0] for run in scan_runs)
    scan_rss = max(run[1] for run in scan_runs) / 1024
    grep_rss = max(run[1] for run in grep_runs) / 1024
    ratio = scan_wall / grep_wall
    report(
        f"errwatch scan --json, {meta['size'] / 1024**3:.2f} GiB log, "
        f"{meta['tracebacks']} tracebacks (all found)",
        f"wall median {scan_wall:.3f}s, peak RSS {scan_rss:.0f} MB",
        f"grep -c 'Traceback (most recent call last)': wall median {grep_wall:.3f}s, "
        f"peak RSS {grep_rss:.0f} MB (counts {int(grep_runs[-1][2])} header lines)",
        f"ratio {ratio:.2f}x (goal <= 2x: {'met' if ratio <= 2 else 'MISSED'}); "
        f"RSS goal <= 150 MB: {'met' if scan_rss <= 150 else 'MISSED'}",
    )


if __name__ == "__main__":
    main()
