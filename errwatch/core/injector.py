"""Fault injection: an open-loop, rate-limited, bounded sender of requests to a test route.

Requests leave on schedule whatever the latency (no coordinated omission): request
``i`` is due at ``start + i / rate``. A request that would exceed the concurrency
limit is not sent and is counted as skipped, so saturation shows instead of silently
slowing the schedule. Rate and duration are clamped to hard caps; only loopback hosts
are accepted unless the config names others.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from urllib.parse import urlsplit

import httpx

from errwatch.config import InjectionConfig
from errwatch.errors import UsageError

INJECTION_HEADER = "X-Errwatch-Injection"
LATENCY_KEEP = 10_000
"""Latencies kept for percentiles (a ring; memory stays bounded)."""


def check_target(url: str, allow_remote: tuple[str, ...] = ()) -> None:
    """Refuse hosts other than loopback unless named in ``allow_remote``."""
    host = urlsplit(url).hostname or ""
    if host in allow_remote or host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise UsageError(
        f"refusing to inject faults into {host}: not a loopback address. "
        f'To allow it, add "{host}" to injection.allow_remote in the config.'
    )


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) by nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class InjectionStats:
    """Counters of one injection run."""

    run_id: str = ""
    running: bool = False
    route: str = ""
    rate: float = 0.0
    started_at: float | None = None
    stopped_at: float | None = None
    sent: int = 0
    by_class: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    timeouts: int = 0
    connection_errors: int = 0
    skipped: int = 0
    in_flight: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    stopped_by: str = ""

    @property
    def failed(self) -> int:
        """Requests that got no HTTP answer."""
        return self.timeouts + self.connection_errors

    @property
    def server_errors(self) -> int:
        """5xx answers."""
        return self.by_class.get("5xx", 0)

    def elapsed(self, now: float) -> float:
        """Seconds since start, up to the stop."""
        if self.started_at is None:
            return 0.0
        return max(0.0, (self.stopped_at or now) - self.started_at)


class Injector:
    """Sends requests to ``target + route`` at a steady rate until stopped or timed out."""

    def __init__(
        self,
        cfg: InjectionConfig,
        target_url: str,
        *,
        allow_remote: tuple[str, ...] = (),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.cfg = cfg
        self.url = target_url.rstrip("/") + cfg.route
        self.allow_remote = allow_remote
        self._transport = transport
        self._rate = cfg.rate
        self._stop = asyncio.Event()
        self._rate_changed = asyncio.Event()
        self._stats = InjectionStats(route=cfg.route, rate=cfg.rate)
        self._counts: dict[str, int] = {}
        self._latencies: list[float] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_started = 0.0

    @property
    def running(self) -> bool:
        """Whether a run is under way."""
        return self._stats.running

    @property
    def rate(self) -> float:
        """The rate asked for now."""
        return self._rate

    @property
    def last_request_started(self) -> float:
        """``time.time()`` at which the newest request was handed to the client."""
        return self._last_started

    def clamp_rate(self, rate: float) -> float:
        """The rate bounded by ``max_rate`` (and at least 0.1 req/s)."""
        return min(max(rate, 0.1), self.cfg.max_rate)

    def set_rate(self, rate: float) -> float:
        """Change the rate, even while running; returns the rate actually applied."""
        self._rate = self.clamp_rate(rate)
        self._rate_changed.set()
        self._stats = _replace_stats(self._stats, rate=self._rate)
        return self._rate

    def stop(self, reason: str = "user") -> None:
        """Stop now: no request starts after this call returns."""
        if self._stats.running and not self._stop.is_set():
            self._stats = _replace_stats(self._stats, stopped_by=reason)
            self._stop.set()

    def stats(self) -> InjectionStats:
        """A snapshot of the counters."""
        latencies = self._latencies
        return _replace_stats(
            self._stats,
            by_class=MappingProxyType(dict(self._counts)),
            in_flight=len(self._tasks),
            p50_ms=percentile(latencies, 50),
            p99_ms=percentile(latencies, 99),
        )

    async def run(self, *, duration: float | None = None) -> InjectionStats:
        """Inject until stopped or ``duration`` (clamped to ``max_duration``) has passed."""
        check_target(self.url, self.allow_remote)
        if self._stats.running:
            raise UsageError("injection is already running")
        limit = min(duration or self.cfg.duration, self.cfg.max_duration)
        # Fresh events per run: an Event belongs to the loop that first waits on it.
        self._stop = asyncio.Event()
        self._rate_changed = asyncio.Event()
        self._counts = {}
        self._latencies = []
        run_id = secrets.token_hex(4)
        started = time.time()
        self._stats = InjectionStats(
            run_id=run_id, running=True, route=self.cfg.route, rate=self._rate, started_at=started
        )
        headers = {INJECTION_HEADER: run_id}
        limits = httpx.Limits(
            max_connections=self.cfg.concurrency, max_keepalive_connections=self.cfg.concurrency
        )
        client = httpx.AsyncClient(
            timeout=self.cfg.timeout, limits=limits, headers=headers, transport=self._transport
        )
        try:
            stopped_by = await self._schedule(client, limit)
            if not self._stats.stopped_by:
                self._stats = _replace_stats(self._stats, stopped_by=stopped_by)
            self._stats = _replace_stats(self._stats, stopped_at=time.time())
            if self._tasks:  # in-flight requests end within the request timeout
                await asyncio.wait(set(self._tasks), timeout=self.cfg.timeout + 1)
        finally:
            for task in list(self._tasks):
                task.cancel()
            await client.aclose()
            if self._stats.stopped_at is None:
                self._stats = _replace_stats(
                    self._stats, stopped_at=time.time(), stopped_by="cancelled"
                )
            self._stats = _replace_stats(self._stats, running=False)
        return self.stats()

    async def _schedule(self, client: httpx.AsyncClient, limit: float) -> str:
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = start + limit
        epoch, sent_in_epoch = start, 0
        while True:
            if self._rate_changed.is_set():
                self._rate_changed.clear()
                epoch, sent_in_epoch = loop.time(), 0
            due = epoch + sent_in_epoch / self._rate
            if due >= deadline:
                await self._wait(deadline - loop.time())
                return "user" if self._stop.is_set() else "duration"
            delay = due - loop.time()
            if delay > 0 and await self._wait(delay):
                if self._stop.is_set():
                    return "user"
                continue  # the rate changed: recompute the schedule
            if self._stop.is_set():
                return "user"
            sent_in_epoch += 1
            if len(self._tasks) >= self.cfg.concurrency:
                self._stats = _replace_stats(self._stats, skipped=self._stats.skipped + 1)
                continue
            self._launch(client)

    async def _wait(self, delay: float) -> bool:
        """Sleep up to ``delay``; True if woken early by a stop or a rate change."""
        if delay <= 0:
            return self._stop.is_set()
        stop = asyncio.ensure_future(self._stop.wait())
        change = asyncio.ensure_future(self._rate_changed.wait())
        done, pending = await asyncio.wait(
            {stop, change}, timeout=delay, return_when="FIRST_COMPLETED"
        )
        for task in pending:
            task.cancel()
        return bool(done)

    def _launch(self, client: httpx.AsyncClient) -> None:
        self._last_started = time.time()
        self._stats = _replace_stats(self._stats, sent=self._stats.sent + 1)
        task = asyncio.create_task(self._send(client))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, client: httpx.AsyncClient) -> None:
        began = time.perf_counter()
        try:
            response = await client.request(self.cfg.method, self.url)
        except httpx.TimeoutException:
            self._stats = _replace_stats(self._stats, timeouts=self._stats.timeouts + 1)
            return
        except httpx.TransportError:
            self._stats = _replace_stats(
                self._stats, connection_errors=self._stats.connection_errors + 1
            )
            return
        latency = (time.perf_counter() - began) * 1000
        if len(self._latencies) >= LATENCY_KEEP:
            self._latencies[self._stats.sent % LATENCY_KEEP] = latency
        else:
            self._latencies.append(latency)
        key = f"{response.status_code // 100}xx"
        self._counts[key] = self._counts.get(key, 0) + 1


def _replace_stats(stats: InjectionStats, **changes: object) -> InjectionStats:
    return replace(stats, **changes)  # type: ignore[arg-type]
