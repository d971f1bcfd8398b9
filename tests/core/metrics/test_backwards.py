"""Counters that go backwards, on a real Prometheus: each scrape is answered by one of three
"workers", each with its own counter (gunicorn without multiprocess mode does the same, at
random; here the turn is fixed so every window shape comes round).

The workers are a small server that answers scrapes in turn: a real gunicorn will not
hand scrapes to its workers in a given order (tests/exporters has the real one).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from errwatch.config import PrometheusConfig
from errwatch.core.metrics.rates import MetricsSnapshot, SourceState
from errwatch.core.metrics.source import PrometheusSource
from errwatch.demo.prometheus import PrometheusServer
from tests.conftest import poll_until

RATES = {"A": 3.0, "B": 1.0, "C": 1.0}
"""Requests per second each worker counts: 5 in all, A the busiest."""
BASES = {"A": 1000.0, "B": 500.0, "C": 800.0}
TURN = "AAAAABAAAAACCAB"
"""Which worker answers each scrape, round and round: drops, rises back, runs of one."""


STARTS = {"A": 1000.0, "B": 3000.0, "C": 2000.0}
"""Each worker's process start time, as prometheus_client exports it."""


class Workers(ThreadingHTTPServer):
    """Answers each scrape with the next worker's own count (and, with ``starts``, its
    process start time)."""

    def __init__(self, *, starts: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), Scrape)
        self.started = time.time()
        self.turn = itertools.cycle(TURN)
        self.lock = threading.Lock()
        self.starts = starts

    def exposition(self) -> str:
        with self.lock:
            worker = next(self.turn)
        count = int(BASES[worker] + RATES[worker] * (time.time() - self.started))
        text = f'# TYPE requests_total counter\nrequests_total{{code="200"}} {count}\n'
        if self.starts:
            text += f"process_start_time_seconds {STARTS[worker]}\n"
        return text


class Restarting(Workers):
    """One process, restarted every 4 s: its count starts again from 0, its start time
    moves on."""

    def exposition(self) -> str:
        now = time.time()
        born = self.started + (now - self.started) // RESTART_EVERY * RESTART_EVERY
        count = int(5.0 * (now - born))
        return (
            f'# TYPE requests_total counter\nrequests_total{{code="200"}} {count}\n'
            f"# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds {born}\n"
        )


RESTART_EVERY = 4.0


class Scrape(BaseHTTPRequestHandler):
    server: Workers

    def do_GET(self) -> None:
        body = self.server.exposition().encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(params=[False, True], ids=["counters only", "with start times"])
def workers(request: pytest.FixtureRequest) -> Iterator[Workers]:
    yield from serving(Workers(starts=request.param))


@pytest.fixture
def restarting() -> Iterator[Workers]:
    yield from serving(Restarting())


def serving(server: Workers) -> Iterator[Workers]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def scraping(prometheus_bin: str, server: Workers, tmp_path: Path) -> Iterator[PrometheusSource]:
    """A real Prometheus scraping ``server`` every second, and a source reading it."""
    host, port = server.server_address[:2]
    target = f"{host}:{port}"
    prometheus = PrometheusServer(prometheus_bin, tmp_path, [target])
    prometheus.start()
    cfg = PrometheusConfig(
        url=prometheus.url,
        metric="requests_total",
        status_label="code",
        route_label="",
        job="api",
        instance=target,
        rate_window=4.0,
        range=60.0,
        refresh=1.0,
    )
    source = PrometheusSource(cfg)
    try:
        yield source
    finally:
        source.close()
        prometheus.stop()


def test_points_whose_window_went_backwards_are_left_out(
    prometheus_bin: str, workers: Workers, tmp_path: Path
) -> None:
    with scraping(prometheus_bin, workers, tmp_path) as source:

        def seen(snapshot: MetricsSnapshot) -> bool:
            drawn = [p for one in snapshot.series for p in one.points]
            # A full turn or more: every shape of window has come round.
            return snapshot.state is SourceState.UP and bool(snapshot.notes) and len(drawn) >= 5

        snapshot = poll_until(source, seen, 60, "the note and points from windows on one worker")
        naive = httpx.get(
            f"{source.cfg.url}/api/v1/query",
            params={"query": 'max_over_time(rate(requests_total{job="api"}[4s])[60s:1s])'},
        ).json()["data"]["result"]
    [note] = snapshot.notes
    assert note.startswith("counters go backwards between scrapes")
    # rate() alone reads a rise back to A (hundreds above B) as requests: a spike.
    assert float(naive[0]["value"][1]) > 50
    # What is drawn: windows on one worker alone (A's count grows 3/s; before Prometheus
    # has a window to look back on, B's or C's 1/s may be); never above the real 5/s.
    drawn = [rate for one in snapshot.series for _, rate in one.points]
    assert all(rate <= 4.0 for rate in drawn), drawn
    assert sum(1 for rate in drawn if 2.5 <= rate <= 3.5) >= 3, drawn
    [instance] = snapshot.instances
    assert [p for s in instance.series for p in s.points] == [
        p for s in snapshot.series for p in s.points
    ]


def test_an_app_restarted_again_and_again_keeps_its_newest_points(
    prometheus_bin: str, restarting: Workers, tmp_path: Path
) -> None:
    # A resilience test restarting the API: its counters drop to 0 each time, which
    # rate() reads right; its start time only moves on, so no window is left out.
    with scraping(prometheus_bin, restarting, tmp_path) as source:
        snapshot = poll_until(
            source, lambda s: s.state is SourceState.UP and bool(s.notes), 60, "restarts said"
        )
    [note] = snapshot.notes
    assert note.startswith("counters go backwards between scrapes")
    assert snapshot.age is not None and snapshot.age < 2.5
    drawn = [rate for one in snapshot.series for _, rate in one.points]
    assert drawn and max(drawn) <= 7.5, drawn  # 5/s; never a whole count read as requests
