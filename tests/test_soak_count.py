"""The soak compares the dashboard's count with the log files as they were when it was read.

On a loaded CI the dashboard's teardown closed its proxies while the background traffic
still asked for product pages: the API logged ConnectError tracebacks after the count,
and a scan of the whole files found one more than the dashboard could have counted.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.soak import log_sizes, scan_as_of
from tests.realpython import logged

TWO_ERRORS = """
for _ in range(2):
    try:
        1 / 0
    except ZeroDivisionError:
        log.exception("Exception on /error [GET]")
    log.info("GET /error 500")
"""

LATE = """
import httpx
try:
    httpx.get("http://127.0.0.1:9/stock/1", timeout=1)
except httpx.ConnectError:
    log.exception("Exception on /api/products/1 [GET]")
"""


def test_a_traceback_written_after_the_count_is_not_in_the_files_compared(tmp_path: Path) -> None:
    first = tmp_path / "first"
    first.mkdir()
    text = logged(first, TWO_ERRORS)
    log = tmp_path / "api.log"
    log.write_text(text)
    os.rename(log, tmp_path / "api.log.1")  # rotated, as in the soak
    log.write_text(text)
    at_count = log_sizes(log)
    # After the count: a traceback in the current file, written as the demo API does.
    later = tmp_path / "later"
    later.mkdir()
    with log.open("a") as out:
        out.write(logged(later, LATE))

    assert scan_as_of(log_sizes(log)).events == 5  # the late one is in the files
    assert scan_as_of(at_count).events == 4  # but not in what the count could have seen
