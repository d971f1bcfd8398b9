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
from errwatch.core.injection.guard import ErrorSplit, split_errors
from errwatch.core.injection.injector import InjectionStats, Injector
from errwatch.core.metrics.promql import (
    PART_LABEL,
    TEST_PART,
    classify_response,
    rate_query,
    sample_value,
)
from errwatch.errors import SourceError


class ErrorSplitProbe:
    """Reads the 5xx split (injection route vs the rest) from a PromQL API."""

    def __init__(
        self,
        cfg: PrometheusConfig,
        injection_route: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cfg = cfg
        self.injection_route = injection_route
        # The dashboard's own rate query: requests to the injection route are tagged.
        self.query = rate_query(cfg, injection_route)
        self._clock = clock
        self._client = httpx.AsyncClient(base_url=cfg.url, timeout=cfg.timeout, transport=transport)

    async def read(self) -> ErrorSplit:
        """One instant query; SourceError says in a line why there is no answer."""
        now = self._clock()
        params = {"query": self.query, "time": f"{now:.3f}"}
        try:
            response = await self._client.get("/api/v1/query", params=params)
        except httpx.TimeoutException:
            raise SourceError(f"Prometheus: no answer within {self.cfg.timeout:g}s") from None
        except httpx.TransportError as error:
            raise SourceError(f"Prometheus unreachable: {error or type(error).__name__}") from None
        if response.status_code != 200:
            failure = classify_response(
                response.status_code, response.headers.get("content-type", ""), response.text
            )
            raise SourceError(f"Prometheus {failure.state}: {failure.detail}")
        try:
            rows = self._vector_rows(response.json())
        except (ValueError, KeyError, TypeError, IndexError) as error:
            raise SourceError(f"Prometheus: unreadable answer ({error})") from None
        return split_errors(rows, self.injection_route, now)

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
            test = item["metric"].get(PART_LABEL) == TEST_PART
            status = str(item["metric"].get(self.cfg.status_label, ""))
            rows.append((self.injection_route if test else "", status, value))
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
