"""`errwatch scan` of 1 GiB logs, sparse and dense, against `grep -c` on the same file.

Both run as whole commands (start-up included), several times each after a warm-up
that puts the file in the page cache; wall time is the median, peak RSS comes from
wait4() on each child. The logs are generated once under benchmarks/data/
(git-ignored): app records, werkzeug access lines with ANSI colours, and tracebacks,
so what they hold is known exactly. The sparse log has one every ~8 MB in one of
several formats. The dense one has one every ~2,000 lines (~5,900), as in a log taken
during an incident: eight kinds that recur with their times, ids, addresses and
durations changing (Flask, a chain, gunicorn, a JSON record, a thread, an asyncio
ExceptionGroup, a SyntaxError) and, every 50th, one seen once. The prefixed variant
is the sparse log as ``docker compose logs`` prints two services writing at once
(every line ``web-1  | `` or ``worker-1  | ``, the tracebacks web-1's): framing's cost
is its scan time against the unprefixed log's, both measured in the same run. The scan
runs as a user runs it: a file of that size is read in parts, one process per core
(:mod:`errwatch.core.logs.parts`); its figure in one pass (``--jobs 1``) is printed beside
it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import compile_bytecode, report, venv_bin

DATA = Path(__file__).parent / "data"
LOG = DATA / "scan-1g.log"
META = DATA / "scan-1g.json"
DENSE = DATA / "scan-1g-dense.log"
DENSE_META = DATA / "scan-1g-dense.json"
PREFIXED = DATA / "scan-1g-compose.log"
PREFIXED_META = DATA / "scan-1g-compose.json"
SIZE = 1024**3
RUNS = 5
CORES = len(os.sched_getaffinity(0))
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


DENSE_EVERY = 2000
"""Lines between two tracebacks of the dense log, as in a log taken during an incident."""
SHORT_RECORDS = [
    b"2025-07-29 14:35:%02d,%03d DEBUG [shop.db] query %d took 3 ms\n",
    b"2025-07-29 14:35:%02d,%03d INFO [api] GET /health %d 200\n",
]
_FLASK_FRAMES = (
    b'  File "/srv/venv/lib/python3.11/site-packages/flask/app.py", line 1455, in wsgi_app\n'
    b"    response = self.full_dispatch_request()\n"
    b"               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    b'  File "/srv/venv/lib/python3.11/site-packages/flask/app.py", line 869, in '
    b"full_dispatch_request\n"
    b"    rv = self.handle_user_exception(e)\n"
    b"         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    b'  File "/srv/venv/lib/python3.11/site-packages/flask/app.py", line 867, in '
    b"full_dispatch_request\n"
    b"    rv = self.dispatch_request()\n"
    b"         ^^^^^^^^^^^^^^^^^^^^^^^\n"
    b'  File "/srv/venv/lib/python3.11/site-packages/flask/app.py", line 852, in dispatch_request\n'
    b"    return self.ensure_sync(self.view_functions[rule.endpoint])(**view_args)\n"
    b"           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
)
RECURRING = [
    # The same bug again and again: only times, ids, addresses and pids change.
    b"%(ts)s ERROR [api] Exception on /orders/%(n)d [GET]\n"
    b"Traceback (most recent call last):\n" + _FLASK_FRAMES + b'  File "/srv/app/orders.py", '
    b"line 40, in show\n"
    b"    return ORDERS[order_id]\n"
    b"           ~~~~~~^^^^^^^^^^\n"
    b"KeyError: 'o-%(n)d'\n",
    b"%(ts)s ERROR [api] Exception on /error [GET]\n"
    b"Traceback (most recent call last):\n" + _FLASK_FRAMES + b'  File "/srv/app/api.py", '
    b"line 129, in error\n"
    b"    ratio = 1 / 0\n"
    b"            ~~^~~\n"
    b"ZeroDivisionError: division by zero\n",
    b"%(ts)s ERROR [shop.orders] order %(n)d failed\n"
    b"Traceback (most recent call last):\n"
    b'  File "/srv/app/db.py", line 31, in connect\n'
    b"    return psycopg2.connect(DSN, connect_timeout=3)\n"
    b"           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    b'  File "/srv/venv/lib/python3.11/site-packages/psycopg2/__init__.py", line 122, in connect\n'
    b"    conn = _connect(dsn, connection_factory=connection_factory, **kwasync)\n"
    b"           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    b'psycopg2.OperationalError: connection to server at "10.0.3.%(ip)d", port 5432 failed: '
    b"timeout expired\n"
    b"\n"
    b"\n"
    b"The above exception was the direct cause of the following exception:\n"
    b"\n"
    b"Traceback (most recent call last):\n"
    b'  File "/srv/app/orders.py", line 52, in create\n'
    b"    with db.connect() as conn:\n"
    b"         ^^^^^^^^^^^^\n"
    b'  File "/srv/app/db.py", line 33, in connect\n'
    b'    raise StorageError(f"database unreachable after {elapsed:.1f}s") from error\n'
    b"app.db.StorageError: database unreachable after %(secs)d.%(ms)ds\n",
    b"[%(ts_gunicorn)s +0000] [%(pid)d] [ERROR] Error handling request /api/users/%(n)d\n"
    b"Traceback (most recent call last):\n"
    b'  File "/srv/venv/lib/python3.11/site-packages/gunicorn/workers/sync.py", line 135, '
    b"in handle\n"
    b"    self.handle_request(listener, req, client, addr)\n"
    b'  File "/srv/venv/lib/python3.11/site-packages/gunicorn/workers/sync.py", line 178, '
    b"in handle_request\n"
    b"    respiter = self.wsgi(environ, resp.start_response)\n"
    b"               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    b'  File "/srv/app/users.py", line 18, in profile\n'
    b'    return render(user["profile"])\n'
    b"                  ~~~~^^^^^^^^^^^\n"
    b"TypeError: 'NoneType' object is not subscriptable\n",
    b'{"asctime": "%(ts)s", "levelname": "ERROR", "name": "shop.pay", '
    b'"message": "Exception on /pay/%(n)d [POST]", "exc_info": "Traceback (most recent call '
    b'last):\\n  File \\"/srv/app/pay.py\\", line 9, in charge\\n    return amount / 0\\n'
    b'ZeroDivisionError: division by zero"}\n',
    b"Exception in thread Thread-%(pid)d (pull):\n"
    b"Traceback (most recent call last):\n"
    b'  File "/usr/lib/python3.11/threading.py", line 1045, in _bootstrap_inner\n'
    b"    self.run()\n"
    b'  File "/srv/app/sync.py", line 22, in pull\n'
    b"    batch = queue.get(timeout=5)\n"
    b"            ^^^^^^^^^^^^^^^^^^^^\n"
    b"TimeoutError: no batch in 5 s (consumer %(n)d)\n",
    b"  + Exception Group Traceback (most recent call last):\n"
    b'  |   File "/srv/app/fanout.py", line 8, in <module>\n'
    b"  |     asyncio.run(main())\n"
    b'  |   File "/usr/lib/python3.11/asyncio/runners.py", line 190, in run\n'
    b"  |     return runner.run(main)\n"
    b"  |            ^^^^^^^^^^^^^^^^\n"
    b'  |   File "/srv/app/fanout.py", line 5, in main\n'
    b"  |     async with asyncio.TaskGroup() as tg:\n"
    b'  |   File "/usr/lib/python3.11/asyncio/taskgroups.py", line 145, in __aexit__\n'
    b"  |     raise me from None\n"
    b"  | ExceptionGroup: unhandled errors in a TaskGroup (2 sub-exceptions)\n"
    b"  +-+---------------- 1 ----------------\n"
    b"    | Traceback (most recent call last):\n"
    b'    |   File "/srv/app/fanout.py", line 3, in fetch\n'
    b'    |     raise ConnectionError(f"backend {host} refused")\n'
    b"    | ConnectionError: backend 10.0.3.%(ip)d:8080 refused\n"
    b"    +---------------- 2 ----------------\n"
    b"    | Traceback (most recent call last):\n"
    b'    |   File "/srv/app/fanout.py", line 3, in fetch\n'
    b'    |     raise ConnectionError(f"backend {host} refused")\n'
    b"    | ConnectionError: backend 10.0.4.%(ip)d:8080 refused\n"
    b"    +------------------------------------\n",
    TRACEBACKS[2],  # a script that does not compile, printed without a header
]
UNIQUE = (
    b"%(ts)s ERROR [plugins] plugin %(n)d crashed\n"
    b"Traceback (most recent call last):\n"
    b'  File "/srv/app/plugins/loader.py", line 61, in run_all\n'
    b"    plugin.run()\n"
    b'  File "/srv/app/plugins/p%(n)d.py", line 7, in run_%(n)d\n'
    b"    return settings[%(n)d]\n"
    b"IndexError: list index out of range\n"
)
"""A traceback seen once: a group of its own (every UNIQUE_EVERY-th traceback)."""
UNIQUE_EVERY = 50


def dense_traceback(n: int) -> tuple[bytes, int | None]:
    """The n-th traceback of the dense log, and its recurring kind (None: unique)."""
    second = 3600 + n * 0.3
    minute, sec = divmod(int(second), 60)
    hour, minute = divmod(minute, 60)
    fields = {
        b"ts": b"2025-07-29 %02d:%02d:%02d,%03d" % (14 + hour, minute, sec, n % 1000),
        b"ts_gunicorn": b"2025-07-29 %02d:%02d:%02d" % (14 + hour, minute, sec),
        b"n": 10_000 + n * 7,
        b"ip": n % 250 + 1,
        b"pid": 1000 + n % 4000,
        b"secs": 3 + n % 5,
        b"ms": n % 10,
    }
    if n % UNIQUE_EVERY == UNIQUE_EVERY - 1:
        return UNIQUE % fields, None
    kind = n % len(RECURRING)
    return RECURRING[kind] % fields, kind


def _filler(seed: int) -> bytes:
    """About DENSE_EVERY lines of ordinary records."""
    records = RECORDS + SHORT_RECORDS
    return b"".join(
        records[(seed + i) % len(records)] % (i % 60, (seed * 7 + i) % 1000, seed * 3571 + i)
        for i in range(DENSE_EVERY - 100 + seed % 200)
    )


def generate_dense(log: Path, meta_path: Path) -> dict[str, int]:
    """Write the dense log (about SIZE bytes, a traceback every ~DENSE_EVERY lines) and
    return what it holds."""
    DATA.mkdir(exist_ok=True)
    fillers = [_filler(seed) for seed in range(64)]
    kinds: set[int] = set()
    tracebacks = unique = written = 0
    with log.open("wb") as out:
        while written < SIZE:
            filler = fillers[tracebacks % len(fillers)]
            traceback, kind = dense_traceback(tracebacks)
            out.write(filler)
            out.write(traceback)
            written += len(filler) + len(traceback)
            tracebacks += 1
            if kind is None:
                unique += 1
            else:
                kinds.add(kind)
    meta = {
        "size": log.stat().st_size,
        "tracebacks": tracebacks,
        "groups": len(kinds) + unique,
    }
    meta_path.write_text(json.dumps(meta))
    return meta


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


Generator = Callable[[Path, Path], dict[str, int]]


def sparse(log: Path, meta_path: Path) -> dict[str, int]:
    return generate(log, meta_path, prefixed=False)


def compose(log: Path, meta_path: Path) -> dict[str, int]:
    return generate(log, meta_path, prefixed=True)


def the_log(log: Path, meta_path: Path, make: Generator) -> dict[str, int]:
    """The log (generated once under benchmarks/data/) and what it holds."""
    if log.exists() and meta_path.exists():
        meta: dict[str, int] = json.loads(meta_path.read_text())
        if log.stat().st_size == meta["size"]:
            return meta
    print(f"generating {log} ...", file=sys.stderr)
    return make(log, meta_path)


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


def measure_log(
    log: Path, meta: dict[str, int], *, streams: set[str], jobs: int | None = None
) -> Figures:
    """``jobs``: ``--jobs`` given to the scan (None: its default, one process per core)."""
    grep = ["grep", "-c", "Traceback (most recent call last)", str(log)]
    given = [] if jobs is None else ["--jobs", str(jobs)]
    scan = [venv_bin("errwatch"), "scan", "--json", *given, str(log)]
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
    if "groups" in meta:  # the dense log: every recurring kind, every unique one
        assert (found["incomplete"], len(found["groups"])) == (0, meta["groups"])
    return Figures(
        scan_wall=statistics.median(run[0] for run in scan_runs),
        scan_rss=max(run[1] for run in scan_runs) / 1024,
        grep_wall=statistics.median(run[0] for run in grep_runs),
        grep_rss=max(run[1] for run in grep_runs) / 1024,
        grep_count=int(grep_runs[-1][2]),
    )


def scan_line(name: str, meta: dict[str, int], figures: Figures, one_pass: Figures) -> float:
    """Report one log's scan against grep -c; the ratio."""
    ratio = figures.scan_wall / figures.grep_wall
    report(
        f"errwatch scan --json, {meta['size'] / 1024**3:.2f} GiB {name}, "
        f"{meta['tracebacks']} tracebacks (all found)",
        f"wall median {figures.scan_wall:.3f}s with a process per core ({CORES}), peak RSS "
        f"{figures.scan_rss:.0f} MB per process; in one pass (--jobs 1) {one_pass.scan_wall:.3f}s",
        f"grep -c 'Traceback (most recent call last)': wall median {figures.grep_wall:.3f}s, "
        f"peak RSS {figures.grep_rss:.0f} MB (counts {figures.grep_count} header lines)",
        f"ratio {ratio:.2f}x (goal <= 2x: {'met' if ratio <= 2 else 'MISSED'}); "
        f"RSS goal <= 150 MB: {'met' if figures.scan_rss <= 150 else 'MISSED'}",
    )
    return ratio


def main() -> None:
    load = os.getloadavg()[0]
    compile_bytecode()
    meta = the_log(LOG, META, sparse)
    parts = measure_log(LOG, meta, streams={str(LOG)})
    plain = measure_log(LOG, meta, streams={str(LOG)}, jobs=1)
    every = meta["size"] // meta["tracebacks"] >> 20
    scan_line(f"log, a traceback every {every} MiB", meta, parts, plain)
    meta = the_log(DENSE, DENSE_META, generate_dense)
    dense = measure_log(DENSE, meta, streams={str(DENSE)})
    dense_one = measure_log(DENSE, meta, streams={str(DENSE)}, jobs=1)
    name = f"log, a traceback every ~{DENSE_EVERY} lines ({meta['groups']} groups)"
    scan_line(name, meta, dense, dense_one)
    meta = the_log(PREFIXED, PREFIXED_META, compose)
    framed = measure_log(PREFIXED, meta, streams={"web-1"})
    framed_one = measure_log(PREFIXED, meta, streams={"web-1"}, jobs=1)
    cost = framed.scan_wall / parts.scan_wall - 1
    report(
        f"errwatch scan --json, {meta['size'] / 1024**3:.2f} GiB docker compose log "
        f"(two services interleaved), {meta['tracebacks']} tracebacks (all found, in web-1)",
        f"wall median {framed.scan_wall:.3f}s with a process per core, peak RSS "
        f"{framed.scan_rss:.0f} MB per process; against the unprefixed log's scan "
        f"({parts.scan_wall:.3f}s): {cost:+.1%}; in one pass {framed_one.scan_wall:.3f}s "
        f"against {plain.scan_wall:.3f}s ({framed_one.scan_wall / plain.scan_wall - 1:+.1%})",
        f"grep -c on the same file: wall median {framed.grep_wall:.3f}s "
        f"(ratio {framed.scan_wall / framed.grep_wall:.2f}x)",
        f"framing cost goal <= +20%: {'met' if cost <= 0.20 else 'MISSED'}",
    )
    print(
        f"load average (1 min) {load:.2f} before, {os.getloadavg()[0]:.2f} after; "
        f"{os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
