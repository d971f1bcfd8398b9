"""What a fault proxy does to a link and when: the exact share, the time window, the counters.

Shared by the HTTP proxy (:mod:`errwatch.core.injection.proxy`) and the TCP proxy
(:mod:`errwatch.core.injection.tcpproxy`). The share is a deterministic spread, not a coin
toss: of the first N matching requests (or connections) exactly ``ceil(N * ratio)`` are
faulted, the first one included, evenly spaced. A fault window is started and stopped
(or ends by itself after its duration); outside a window everything passes untouched.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fnmatch
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from types import MappingProxyType
from typing import TypeVar

from errwatch.config import FaultConfig, ProxyConfig
from errwatch.core.injection.latency import LatencyHistogram
from errwatch.core.units import format_duration, parse_address

T = TypeVar("T")
HOP_TIMEOUT = 5.0
"""Seconds a call from another thread waits for the proxy's loop to run it."""
KINDS = ("abort", "delay", "reset", "refuse")
"""Every fault kind, in the order summaries list them."""


class Share:
    """Picks exactly ``ratio`` of the items it is asked about, evenly spread.

    Item ``n`` (from 0) is picked when ``ceil((n + 1) * ratio) > ceil(n * ratio)``: the
    first item is always picked, and after N items ``ceil(N * ratio)`` were, exactly.
    The ratio is read as the decimal it was written as, so 0.3 is 3/10, not a float.
    """

    def __init__(self, ratio: float) -> None:
        self.ratio = Fraction(repr(ratio))
        self.seen = 0
        self.picked = 0

    def take(self) -> bool:
        """Whether the next item is one to pick."""
        num, den = self.ratio.numerator, self.ratio.denominator
        n = self.seen
        self.seen += 1
        picked = -((-(n + 1) * num) // den) > -((-n * num) // den)
        self.picked += picked
        return picked


def route_pattern(glob: str) -> re.Pattern[str] | None:
    """A compiled path glob ("/api/*", "*"), or None when it matches every path."""
    return None if glob == "*" else re.compile(fnmatch.translate(glob))


def describe_fault(fault: FaultConfig, *, tcp: bool) -> str:
    """``abort 503 on 50% of /api/*``, ``delay 2s on every connection``..."""
    what = {
        "abort": f"abort {fault.status}",
        "delay": f"delay {format_duration(fault.delay)}",
        "reset": "reset",
        "refuse": "refuse",
    }[fault.kind]
    items = "connection" if tcp else "request"
    share = f"{fault.ratio:.0%} of" if fault.ratio < 1 else "every"
    where = "" if tcp or fault.route == "*" else f" to {fault.route}"
    plural = "s" if fault.ratio < 1 else ""
    return f"{what} on {share} {items}{plural}{where}"


@dataclass(frozen=True, slots=True)
class ProxyStats:
    """A snapshot of one proxy: where it listens, its fault window, its counters."""

    name: str
    listen: str
    """HOST:PORT it listens on (the real port once bound)."""
    upstream: str
    fault: str
    """The fault in words (:func:`describe_fault`)."""
    state: str = "starting"
    """"starting", "listening", "failed" (cannot listen: see ``detail``) or "stopped"."""
    detail: str = ""
    active: bool = False
    """A fault window is open."""
    window: int = 0
    """Number of the current (or last) fault window; 0 before the first."""
    started_at: float | None = None
    stopped_at: float | None = None
    stopped_by: str = ""
    """"duration", "user", or what the caller said (quit, SIGTERM)."""
    duration: float | None = None
    """The current (or last) window's limit in seconds; None: until stopped."""
    connections: int = 0
    """Client connections accepted."""
    forwarded: int = 0
    """Requests (HTTP) or connections (TCP) that reached the upstream, delayed ones included."""
    faulted: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """Faults applied, by kind (abort, delay, reset, refuse)."""
    by_status: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """HTTP answers sent to clients, by status, aborts included."""
    upstream_errors: int = 0
    """Requests or connections the upstream did not take (refused, reset, unreachable)."""
    window_seen: int = 0
    """Matching requests or connections during the current (or last) window."""
    window_faulted: int = 0
    """Of them, faulted."""
    added_p50_ms: float | None = None
    added_p99_ms: float | None = None
    added_max_ms: float | None = None
    """Delay actually added to delayed requests (HTTP) or connections' data (TCP)."""
    overhead_p50_ms: float | None = None
    overhead_p99_ms: float | None = None
    """Time the proxy itself added to a forwarded HTTP exchange (upstream time left out)."""

    @property
    def total_faulted(self) -> int:
        """Faults of every kind."""
        return sum(self.faulted.values())

    def elapsed(self, now: float) -> float:
        """Seconds the current (or last) window has lasted."""
        if self.started_at is None:
            return 0.0
        return max(0.0, (self.stopped_at or now) - self.started_at)


class _Counters:
    def __init__(self) -> None:
        self.connections = 0
        self.forwarded = 0
        self.faulted: dict[str, int] = {}
        self.by_status: dict[str, int] = {}
        self.upstream_errors = 0
        self.added = LatencyHistogram()
        self.added_max = 0.0
        self.overhead = LatencyHistogram()


class FaultLink:
    """A proxy's fault window and counters; the HTTP and TCP proxies build on it."""

    def __init__(self, cfg: ProxyConfig) -> None:
        self.cfg = cfg
        self.fault = cfg.fault
        self.host, self.port = parse_address(cfg.listen)
        self._head = ProxyStats(
            name=cfg.name,
            listen=f"{self.host}:{self.port}",
            upstream=cfg.upstream,
            fault=describe_fault(cfg.fault, tcp=cfg.tcp),
        )
        self._counters = _Counters()
        self._share = Share(cfg.fault.ratio)
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        """The event loop the proxy serves on, once it does."""

    @property
    def active(self) -> bool:
        """Whether a fault window is open (it closes itself once its duration has passed)."""
        if self._head.active and self._deadline is not None and time.time() >= self._deadline:
            self.stop_fault("duration")
        return self._head.active

    def start_fault(self, duration: float | None = None) -> ProxyStats:
        """Open a fault window for ``duration`` seconds (None: the config's; 0: until stopped).

        The share restarts with the window: its first matching request is faulted. Safe
        from any thread: it runs on the proxy's own event loop.
        """
        if self._elsewhere():
            return self._hop(self.start_fault, duration)
        if self._head.active:
            return self.stats()
        limit = self.fault.duration if duration is None else duration
        now = time.time()
        self._share = Share(self.fault.ratio)
        self._deadline = now + limit if limit else None
        self._head = replace(
            self._head,
            active=True,
            window=self._head.window + 1,
            started_at=now,
            stopped_at=None,
            stopped_by="",
            duration=limit or None,
        )
        self._arm_timer(limit)
        self.fault_started()
        return self.stats()

    def stop_fault(self, reason: str = "user") -> ProxyStats:
        """Close the fault window now: from here on everything passes untouched (any thread)."""
        if self._elsewhere():
            return self._hop(self.stop_fault, reason)
        if self._head.active:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            end = time.time()
            if self._deadline is not None and reason == "duration":
                end = min(end, self._deadline)
            self._head = replace(self._head, active=False, stopped_at=end, stopped_by=reason)
            self.fault_stopped()
        return self.stats()

    def _elsewhere(self) -> bool:
        """Whether the proxy serves on an event loop other than the caller's (a thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return False
        try:
            return asyncio.get_running_loop() is not loop
        except RuntimeError:
            return True

    def _hop(self, call: Callable[..., T], *args: object) -> T:
        """``call(*args)`` on the proxy's loop, waited for: its counters have one writer."""
        assert self._loop is not None
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(call(*args))
            except BaseException as error:  # noqa: BLE001 (handed to the caller as is)
                done.set_exception(error)

        try:
            self._loop.call_soon_threadsafe(run)
        except RuntimeError:  # the loop closed meanwhile: nobody else writes any more
            return call(*args)
        return done.result(timeout=HOP_TIMEOUT)

    def _arm_timer(self, limit: float) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: the window is checked lazily (``active``)
        if limit:
            self._timer = loop.call_later(limit, self.stop_fault, "duration")

    def fault_started(self) -> None:
        """Hook: a window opened (the TCP proxy looks at the connections already open)."""

    def fault_stopped(self) -> None:
        """Hook: a window closed."""

    def pick(self) -> bool:
        """Whether the next matching request (or connection) of the open window is faulted."""
        return self._share.take()

    def count_fault(self, kind: str) -> None:
        """Count one applied fault."""
        self._counters.faulted[kind] = self._counters.faulted.get(kind, 0) + 1

    def count_connection(self) -> None:
        """Count one client connection accepted."""
        self._counters.connections += 1

    def count_forwarded(self) -> None:
        """Count one request (or connection) that reached the upstream."""
        self._counters.forwarded += 1

    def count_status(self, status: int) -> None:
        """Count one HTTP answer sent to a client."""
        key = str(status)
        self._counters.by_status[key] = self._counters.by_status.get(key, 0) + 1

    def count_upstream_error(self) -> None:
        """Count one request (or connection) the upstream did not take."""
        self._counters.upstream_errors += 1

    def count_added(self, seconds: float) -> None:
        """Count the delay actually added to one request (or piece of data)."""
        self._counters.added.add(seconds * 1000)
        self._counters.added_max = max(self._counters.added_max, seconds * 1000)

    def count_overhead(self, seconds: float) -> None:
        """Count the proxy's own time on one forwarded exchange."""
        self._counters.overhead.add(seconds * 1000)

    def set_state(self, state: str, detail: str = "", listen: str | None = None) -> None:
        """Where the listener stands."""
        self._head = replace(
            self._head, state=state, detail=detail, listen=listen or self._head.listen
        )

    def stats(self) -> ProxyStats:
        """A snapshot of the counters."""
        self.active  # noqa: B018 (closes a window whose time is up before the snapshot)
        counters = self._counters
        return replace(
            self._head,
            connections=counters.connections,
            forwarded=counters.forwarded,
            faulted=MappingProxyType(dict(counters.faulted)),
            by_status=MappingProxyType(dict(counters.by_status)),
            upstream_errors=counters.upstream_errors,
            window_seen=self._share.seen,
            window_faulted=self._share.picked,
            added_p50_ms=counters.added.percentile(50),
            added_p99_ms=counters.added.percentile(99),
            added_max_ms=counters.added_max if counters.added.count else None,
            overhead_p50_ms=counters.overhead.percentile(50),
            overhead_p99_ms=counters.overhead.percentile(99),
        )
