"""Fault injection: an open-loop, rate-limited, bounded sender of requests to a test route.

Requests leave on schedule whatever the latency (no coordinated omission): request
``i`` is due at ``epoch + i / rate``. A request that would exceed the concurrency
limit is not sent and is counted as skipped, so saturation shows instead of silently
slowing the schedule. Rate and duration are clamped to hard caps; only loopback hosts
are accepted unless the config names others. A guard fed with the application's own
5xx ratio aborts the run when it passes the configured limit.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from errwatch.config import INJECTION_HEADER, InjectionConfig
from errwatch.core.injection.answers import AnswerLedger
from errwatch.core.injection.guard import ErrorGuard, ErrorSplit
from errwatch.core.injection.latency import LatencyHistogram
from errwatch.core.injection.targets import check_target
from errwatch.errors import UsageError

if TYPE_CHECKING:
    import httpx

MIN_RATE = 0.1
"""Slowest rate accepted, in requests per second."""
RATE_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
"""The rates ``+`` and ``-`` step through (1-2-5, as on an oscilloscope)."""


def step_rate(rate: float, direction: int) -> float:
    """The next rate of :data:`RATE_STEPS` above (``direction`` > 0) or below ``rate``."""
    if direction > 0:
        return next((step for step in RATE_STEPS if step > rate * 1.0001), RATE_STEPS[-1])
    return next((step for step in reversed(RATE_STEPS) if step < rate * 0.9999), RATE_STEPS[0])


@dataclass(frozen=True, slots=True)
class InjectionStats:
    """Counters of one injection run."""

    run_id: str = ""
    running: bool = False
    route: str = ""
    rate: float = 0.0
    duration: float = 0.0
    """The limit applied to this run, seconds."""
    started_at: float | None = None
    stopped_at: float | None = None
    sent: int = 0
    by_status: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """Answers per HTTP status code ("500": 12)."""
    timeouts: int = 0
    connection_errors: int = 0
    skipped: int = 0
    in_flight: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    stopped_by: str = ""
    """"duration", "user", "guard", "error", or what the caller said (quit, SIGTERM)."""
    detail: str = ""
    """Why, in words, when the guard or an error stopped the run."""

    @property
    def by_class(self) -> dict[str, int]:
        """Answers per status class ("5xx": 12)."""
        classes: dict[str, int] = {}
        for status, count in self.by_status.items():
            key = f"{status[0]}xx"
            classes[key] = classes.get(key, 0) + count
        return classes

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

    def achieved_rate(self, now: float) -> float:
        """Requests sent per second of the run so far."""
        elapsed = self.elapsed(now)
        return self.sent / elapsed if elapsed > 0 else 0.0


class _Counters:
    """The mutable side of a run, private to the injector (snapshots are InjectionStats)."""

    def __init__(self) -> None:
        self.sent = 0
        self.by_status: dict[str, int] = {}
        self.timeouts = 0
        self.connection_errors = 0
        self.skipped = 0
        self.latency = LatencyHistogram()


class Injector:
    """Sends requests to ``target + route`` at a steady rate until stopped or timed out."""

    def __init__(
        self,
        cfg: InjectionConfig,
        target_url: str,
        *,
        allow_remote: tuple[str, ...] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.cfg = cfg
        self.url = target_url.rstrip("/") + cfg.route
        self.allow_remote = cfg.allow_remote if allow_remote is None else allow_remote
        self.guard = ErrorGuard(cfg.guard_ratio, cfg.guard_hold)
        self.answers = AnswerLedger()
        """Every answer by status and tenth of a second, across runs: what errwatch caused."""
        self._transport = transport
        self._rate = self.clamp_rate(cfg.rate)
        self._rate_changed = False
        self._stopping = False
        self._waiter: asyncio.Future[None] | None = None
        self._head = InjectionStats(route=cfg.route, rate=self._rate)
        self._counters = _Counters()
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_started = 0.0

    @property
    def running(self) -> bool:
        """Whether a run is under way."""
        return self._head.running

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
        return min(max(rate, MIN_RATE), self.cfg.max_rate)

    def clamp_duration(self, duration: float) -> float:
        """The duration bounded by ``max_duration``."""
        return min(duration, self.cfg.max_duration)

    def set_rate(self, rate: float) -> float:
        """Change the rate, even while running; returns the rate actually applied.

        The schedule re-bases: the next request leaves one new interval after the last
        one (or now, if that is already past), so a change never sends a burst.
        """
        self._rate = self.clamp_rate(rate)
        self._rate_changed = True
        self._head = _with(self._head, rate=self._rate)
        self._wake()
        return self._rate

    def stop(self, reason: str = "user", detail: str = "") -> None:
        """Stop now: no request starts after this call returns."""
        if self._head.running and not self._stopping:
            self._stopping = True
            self._head = _with(self._head, stopped_by=reason, detail=detail)
            self._wake()

    def observe(self, split: ErrorSplit) -> None:
        """Feed the guard; stop the run (``stopped_by="guard"``) when it trips."""
        reason = self.guard.observe(
            split.app_ratio, split.at, estimated=split.estimated, low=split.app_ratio_low
        )
        if reason and self.running:
            self.stop("guard", reason)

    def stats(self) -> InjectionStats:
        """A snapshot of the counters."""
        counters = self._counters
        return _with(
            self._head,
            sent=counters.sent,
            by_status=MappingProxyType(dict(counters.by_status)),
            timeouts=counters.timeouts,
            connection_errors=counters.connection_errors,
            skipped=counters.skipped,
            in_flight=len(self._tasks),
            p50_ms=counters.latency.percentile(50),
            p99_ms=counters.latency.percentile(99),
        )

    async def run(self, *, duration: float | None = None) -> InjectionStats:
        """Inject until stopped or ``duration`` (clamped to ``max_duration``) has passed."""
        check_target(self.url, self.allow_remote)
        if self._head.running:
            raise UsageError("injection is already running")
        # Imported here: the dashboard's first frame does not wait for the HTTP client.
        import httpx

        limit = self.clamp_duration(duration or self.cfg.duration)
        run_id = secrets.token_hex(4)
        self._stopping = False
        self._rate_changed = False
        self._counters = _Counters()
        self.guard.reset()
        self._head = InjectionStats(
            run_id=run_id,
            running=True,
            route=self.cfg.route,
            rate=self._rate,
            duration=limit,
            started_at=time.time(),
        )
        # The config refuses errwatch's own header; a config built in code cannot forge it.
        own = INJECTION_HEADER.lower()
        headers = {k: v for k, v in self.cfg.headers.items() if k.lower() != own}
        headers[INJECTION_HEADER] = run_id
        limits = httpx.Limits(
            max_connections=self.cfg.concurrency, max_keepalive_connections=self.cfg.concurrency
        )
        # trust_env=False: HTTP_PROXY and the like must not carry injected requests off
        # loopback (the target check above would be for nothing) nor answer in its place.
        client = httpx.AsyncClient(
            timeout=self.cfg.timeout,
            limits=limits,
            headers=headers,
            transport=self._transport,
            trust_env=False,
        )
        try:
            try:
                stopped_by = await self._schedule(client, limit)
            except Exception as error:
                # A bug in the engine ends the run like a stop does: the requests already
                # sent still end within the timeout and are counted, then it is raised.
                self._end("error", f"{type(error).__name__}: {error}")
                await self._drain()
                raise
            self._end(stopped_by)
            await self._drain()
        finally:
            self._end("cancelled")  # only if nothing above ended the run (a cancelled worker)
            await self._abandon()
            await client.aclose()
            self._head = _with(self._head, running=False)
        return self.stats()

    def _end(self, reason: str, detail: str = "") -> None:
        """Mark the schedule as over, keeping the first reason given."""
        self._stopping = True
        if self._head.stopped_at is None:
            self._head = _with(self._head, stopped_at=time.time())
        if not self._head.stopped_by:
            self._head = _with(self._head, stopped_by=reason, detail=detail)

    async def _schedule(self, client: httpx.AsyncClient, limit: float) -> str:
        loop = asyncio.get_running_loop()
        epoch, index = loop.time(), 0
        deadline = epoch + limit
        # Started now, not when run() was called: building the client takes a few ms.
        self._head = _with(self._head, started_at=time.time())
        last_due: float | None = None
        while not self._stopping:
            if self._rate_changed:
                self._rate_changed = False
                now = loop.time()
                epoch = now if last_due is None else max(now, last_due + 1 / self._rate)
                index = 0
            due = epoch + index / self._rate
            # Far behind schedule (an absurd rate, a starved loop), ``due`` alone would reach
            # the deadline only after rate x duration turns of this loop: the clock ends it
            # too, and what was due but never started is counted as skipped, not lost.
            if due >= deadline or loop.time() >= deadline:
                await self._sleep_until(deadline)
                if self._rate_changed:
                    continue
                due_count = math.ceil(
                    (deadline - epoch) * self._rate - 1e-9
                )  # float noise is no request
                self._counters.skipped += max(0, due_count - index)
                return self._head.stopped_by or "duration"
            if due > loop.time():
                await self._sleep_until(due)
                continue  # woken on time, or by a stop or a rate change: look again
            index += 1
            last_due = due
            if len(self._tasks) >= self.cfg.concurrency:
                self._counters.skipped += 1
            else:
                self._launch(client)
            # Behind schedule the loop never sleeps: yield anyway, so a stop, a signal or
            # the duration is seen whatever the rate.
            await asyncio.sleep(0)
        return self._head.stopped_by

    async def _sleep_until(self, when: float) -> None:
        """Sleep until the loop time ``when``, or until stop() / set_rate() wakes us."""
        if self._stopping:
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiter = waiter
        timer = loop.call_at(when, _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None:
            _resolve(self._waiter)

    def _launch(self, client: httpx.AsyncClient) -> None:
        self._last_started = time.time()
        self._counters.sent += 1
        task = asyncio.create_task(self._send(client))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, client: httpx.AsyncClient) -> None:
        import httpx  # already loaded by run()

        counters = self._counters
        began = time.perf_counter()
        sent = time.time()
        try:
            # httpx's timeout is per read: a target that drips a byte a second would hold
            # the request (and a concurrency slot, and the end of the run) for ever.
            async with asyncio.timeout(self.cfg.timeout):
                response = await client.request(
                    self.cfg.method, self.url, content=self.cfg.body.encode() or None
                )
        except (httpx.TimeoutException, TimeoutError):
            counters.timeouts += 1
            return
        except httpx.TransportError:
            counters.connection_errors += 1
            return
        except Exception as error:  # noqa: BLE001 (a task boundary: shown in stats.detail)
            # Not the target's doing (a bug, a config httpx rejects): every request would
            # fail the same way, so the run ends and says why instead of going on blind.
            self.stop("error", f"{type(error).__name__}: {error}")
            return
        counters.latency.add((time.perf_counter() - began) * 1000)
        status = str(response.status_code)
        counters.by_status[status] = counters.by_status.get(status, 0) + 1
        self.answers.add(status, time.time(), sent)

    async def _drain(self) -> None:
        """Let in-flight requests end, for at most the request timeout."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.cfg.timeout)

    async def _abandon(self) -> None:
        """Cancel what is still in flight; those requests count as timeouts."""
        left = [task for task in self._tasks if not task.done()]
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left)
            self._counters.timeouts += len(left)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _with(stats: InjectionStats, **changes: object) -> InjectionStats:
    return replace(stats, **changes)  # type: ignore[arg-type]
