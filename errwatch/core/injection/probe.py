"""The guard's eyes without a dashboard: one instant PromQL query for the 5xx split by route.

``errwatch inject`` has no metrics panel to read the application's 5xx ratio from, so
it asks Prometheus itself, once per refresh interval: a single instant query, the
configured timeout, no retry (the next tick is the retry).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from errwatch.config import PrometheusConfig
from errwatch.core.injection.answers import AnswerLedger
from errwatch.core.injection.estimate import estimated_split
from errwatch.core.injection.guard import ErrorSplit, split_errors
from errwatch.core.injection.injector import InjectionStats, Injector
from errwatch.core.metrics.discovery import (
    Ask,
    Discovery,
    discover,
    needs_discovery,
    route_templates,
    run_async,
)
from errwatch.core.metrics.promql import (
    PART_LABEL,
    RESETS_PART,
    TEST_PART,
    classify_response,
    rate_query,
    sample_value,
)
from errwatch.core.metrics.rates import normalize_status
from errwatch.core.metrics.samples import counter_increases, samples_query
from errwatch.errors import SourceError


class ErrorSplitProbe:
    """Reads the 5xx split (injection route vs the rest) from a PromQL API.

    Like the dashboard, it finds what the config leaves to "auto" first (the job and
    instance of ``target_url``, the request series), and where the series has no route
    label it subtracts the injector's own ``answers`` from the totals: an estimate.
    """

    def __init__(
        self,
        cfg: PrometheusConfig,
        injection_route: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        target_url: str = "",
        answers: AnswerLedger | None = None,
    ) -> None:
        self.given = cfg
        self.cfg = cfg
        self.injection_route = injection_route
        self.target_url = target_url
        self.answers = answers
        self.discovery: Discovery | None = None
        # The dashboard's own rate query: requests to the injection route are tagged.
        self.query = "" if needs_discovery(cfg) else rate_query(cfg, injection_route)
        self._clock = clock
        # Proxy variables are ignored: only [prometheus] proxy sends queries to a proxy.
        self._client = httpx.AsyncClient(
            base_url=cfg.url,
            timeout=cfg.timeout,
            transport=transport,
            trust_env=False,
            proxy=cfg.proxy or None,
        )

    async def _get(self, path: str, params: dict[str, Any]) -> Any:
        """One GET of the API: its decoded JSON; SourceError says in a line why not."""
        try:
            # One deadline for the whole answer: httpx's timeout is per read, and a server
            # that drips a byte a second would never reach it.
            async with asyncio.timeout(self.cfg.timeout):
                response = await self._client.get(path, params=params)
        except (httpx.TimeoutException, TimeoutError):
            raise SourceError(f"Prometheus: no answer within {self.cfg.timeout:g}s") from None
        except httpx.TransportError as error:
            raise SourceError(f"Prometheus unreachable: {error or type(error).__name__}") from None
        if response.status_code != 200:
            failure = classify_response(
                response.status_code, response.headers.get("content-type", ""), response.text
            )
            raise SourceError(f"Prometheus {failure.state}: {failure.detail}")
        try:
            return response.json()
        except ValueError as error:
            raise SourceError(f"Prometheus: unreadable answer ({error})") from None
        except RecursionError:
            raise SourceError("Prometheus: unreadable answer (JSON nested too deeply)") from None

    async def _fetch(self, ask: Ask) -> Any:
        payload = await self._get(ask.path, dict(ask.params))
        return payload["data"] if isinstance(payload, dict) else None

    async def _discover(self) -> None:
        discovery = await run_async(discover(self.given, self.target_url), self._fetch)
        self.discovery = discovery
        if not discovery.ok:
            raise SourceError(discovery.problem)
        templates: tuple[str, ...] = ()
        if discovery.candidate is not None:
            templates = route_templates(discovery.candidate.all_routes, self.injection_route)
        self.cfg = discovery.resolve(self.given)
        self.query = rate_query(self.cfg, self.injection_route, templates)

    async def read(self) -> ErrorSplit:
        """One instant query; SourceError says in a line why there is no answer."""
        if not self.query:
            await self._discover()
        now = self._clock()
        if not self.cfg.route_label and self.answers is not None:
            return await self._estimate(self.answers, now)
        payload = await self._get("/api/v1/query", {"query": self.query, "time": f"{now:.3f}"})
        try:
            rows = self._vector_rows(payload)
        except (ValueError, KeyError, TypeError, IndexError) as error:
            raise SourceError(f"Prometheus: unreadable answer ({error})") from None
        return split_errors(rows, self.injection_route, now)

    async def _estimate(self, answers: AnswerLedger, now: float) -> ErrorSplit:
        """No route label: the counters' raw samples against the injector's answers
        between the same scrapes (see :mod:`errwatch.core.injection.estimate`)."""
        interval = (self.discovery.scrape_interval if self.discovery else None) or self.cfg.refresh
        span = max(self.cfg.rate_window, 2 * interval)
        query = samples_query(self.cfg, span)
        payload = await self._get("/api/v1/query", {"query": query, "time": f"{now:.3f}"})
        try:
            data = payload["data"]
            if data["resultType"] != "matrix":
                raise ValueError(f"expected a matrix, got {data['resultType']}")
            # A scrape reads the counter within its timeout, never longer than the interval.
            increases = counter_increases(data["result"], self.cfg.metric, interval)
        except (ValueError, KeyError, TypeError, IndexError) as error:
            raise SourceError(f"Prometheus: unreadable answer ({error})") from None
        split = estimated_split(
            increases, self.cfg.status_label, answers.answers(now - span - interval, now + interval)
        )
        return split or ErrorSplit(now, None, estimated=True)

    def _vector_rows(self, payload: Any) -> list[tuple[str, str, float]]:
        """(route, status, rate) rows; the route is the injection route or "" for the others."""
        data = payload["data"]
        if data["resultType"] != "vector":
            raise ValueError(f"expected a vector, got {data['resultType']}")
        rows = []
        for item in data["result"]:
            value = sample_value(item["value"][1])
            if value is None:  # NaN or Inf: no request rate to count
                continue
            part = item["metric"].get(PART_LABEL)
            status = normalize_status(str(item["metric"].get(self.cfg.status_label, "")))
            if part == RESETS_PART or status is None:
                continue
            rows.append((self.injection_route if part == TEST_PART else "", status, value))
        return rows

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


GuardListener = Callable[[ErrorSplit | None, str], None]
"""Told of every probe outcome: the split, or None and why not."""


async def run_guarded(
    injector: Injector,
    probe: ErrorSplitProbe | None,
    *,
    interval: float,
    duration: float | None = None,
    listener: GuardListener | None = None,
) -> InjectionStats:
    """Run the injector while the probe feeds its guard every ``interval`` seconds."""
    run = asyncio.ensure_future(injector.run(duration=duration))
    await asyncio.sleep(0)  # let the run start (and reset the guard) before the first reading
    reading: asyncio.Future[ErrorSplit] | None = None
    try:
        while probe is not None and not run.done():
            reading = asyncio.ensure_future(probe.read())
            # A slow Prometheus must not hold the end of the run back by its timeout.
            await asyncio.wait({run, reading}, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                break
            _take(injector, reading, listener)
            await asyncio.wait({run}, timeout=interval)
        return await run
    finally:
        if reading is not None and not reading.done():
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)
        if not run.done():
            injector.stop("cancelled")
            await asyncio.gather(run, return_exceptions=True)


def _take(
    injector: Injector, reading: asyncio.Future[ErrorSplit], listener: GuardListener | None
) -> None:
    try:
        split = reading.result()
    except SourceError as error:
        if listener is not None:
            listener(None, str(error))
        return
    injector.observe(split)
    if listener is not None:
        listener(split, "")
