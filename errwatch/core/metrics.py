"""Metrics sources: Prometheus (PromQL) or a direct scrape of /metrics -> MetricsSnapshot.

``poll()`` is blocking and meant for a thread worker; a source never raises for a
source failure, it returns a snapshot whose state says what happened and keeps the
last good data (``data_at`` tells its age).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from errwatch.config import PrometheusConfig
from errwatch.core.rates import CounterHistory, MetricsSnapshot, RateSeries, SourceState, finite
from errwatch.errors import SourceError

if TYPE_CHECKING:
    import requests

MAX_POINTS = 11_000
"""Prometheus refuses range queries of more than 11,000 points per series."""

Clock = Callable[[], float]


class MetricsSource(Protocol):
    """Anything the rates panel can poll."""

    @property
    def mode(self) -> str:
        """How the data is obtained: "prometheus" or "direct scrape"."""
        ...

    def poll(self) -> MetricsSnapshot:
        """Fetch once (blocking) and describe the outcome."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class Backoff:
    """Delay before the next poll: the refresh interval, doubling from 1 s to 30 s on failures."""

    def __init__(self, refresh: float, first: float = 1.0, ceiling: float = 30.0) -> None:
        self.refresh = refresh
        self.first = first
        self.ceiling = ceiling
        self._failures = 0

    def next_delay(self, ok: bool) -> float:
        """Seconds to wait after a poll that succeeded (``ok``) or failed."""
        if ok:
            self._failures = 0
            return self.refresh
        self._failures += 1
        return min(self.ceiling, self.first * 2.0 ** (self._failures - 1))


def rate_query(cfg: PrometheusConfig) -> str:
    """``sum by (status) (rate(http_requests_total{selector}[window]))``."""
    window = f"{max(1, round(cfg.rate_window))}s"
    selector = f"{{{cfg.selector}}}" if cfg.selector else ""
    return f"sum by ({cfg.status_label}) (rate({cfg.metric}{selector}[{window}]))"


def range_step(span: float, wanted: float = 1.0) -> float:
    """The step for a range query over ``span`` seconds: ``wanted``, widened to <= 11,000 points."""
    return max(wanted, math.ceil(span / MAX_POINTS))


class _Failure(Exception):
    def __init__(self, state: SourceState, detail: str) -> None:
        super().__init__(detail)
        self.state = state
        self.detail = detail


def classify_response(status: int, content_type: str, body: str) -> _Failure:
    """Turn a non-200 answer from a PromQL API into a state with a plain explanation."""
    if "json" in content_type:
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if isinstance(payload, dict) and payload.get("status") == "error":
            message = str(payload.get("error", "")).strip()
            kind = str(payload.get("errorType", ""))
            if status == 400 and kind == "bad_data":
                return _Failure(SourceState.BAD_QUERY, message)
            return _Failure(SourceState.QUERY_ERROR, f"{kind}: {message}" if kind else message)
    text = " ".join(body.split())[:160]
    if status == 503:
        return _Failure(SourceState.STARTING, f"503 {text or 'Service Unavailable'}")
    return _Failure(SourceState.QUERY_ERROR, f"HTTP {status}: {text or 'no body'}")


class PrometheusSource:
    """Polls a PromQL API with prometheus-api-client; no client retry, errwatch backs off."""

    mode = "prometheus"

    def __init__(self, cfg: PrometheusConfig, *, clock: Clock = time.time) -> None:
        self.cfg = cfg
        self.query = rate_query(cfg)
        self._clock = clock
        self._client: Any = None
        self._last_response: requests.Response | None = None
        self._last: MetricsSnapshot | None = None

    def _connect(self) -> Any:
        # Imported here: requests and the client are not needed for the first frame.
        import requests
        from prometheus_api_client import PrometheusConnect
        from urllib3.util.retry import Retry

        session = requests.Session()
        session.hooks["response"].append(self._remember)
        return PrometheusConnect(
            url=self.cfg.url,
            retry=Retry(total=0, connect=0, read=0, redirect=0, status=0),
            timeout=self.cfg.timeout,
            session=session,
        )

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last_response = response

    def poll(self) -> MetricsSnapshot:
        """One range query of the rate by status over the chart range."""
        now = self._clock()
        try:
            series = self._fetch(now)
        except _Failure as failure:
            return self._failed(now, failure.state, failure.detail)
        snapshot = MetricsSnapshot(
            state=SourceState.UP if any(s.points for s in series) else SourceState.NO_DATA,
            at=now,
            series=series,
            data_at=now,
            mode=self.mode,
        )
        self._last = snapshot
        return snapshot

    def _failed(self, now: float, state: SourceState, detail: str) -> MetricsSnapshot:
        last = self._last
        return MetricsSnapshot(
            state=state,
            at=now,
            series=last.series if last else (),
            detail=detail,
            data_at=last.data_at if last else None,
            mode=self.mode,
        )

    def _fetch(self, now: float) -> tuple[RateSeries, ...]:
        import requests
        from prometheus_api_client.exceptions import PrometheusApiClientException

        if self._client is None:
            self._client = self._connect()
        step = range_step(self.cfg.range)
        start = now - self.cfg.range
        when = datetime.fromtimestamp(now, UTC)
        # The client rounds start/end to whole seconds; exact values keep the newest point.
        params = {"start": f"{start:.3f}", "end": f"{now:.3f}"}
        self._last_response = None
        try:
            result = self._client.custom_query_range(
                self.query, start_time=when, end_time=when, step=f"{step:g}", params=params
            )
        except requests.Timeout:
            raise _Failure(SourceState.TIMEOUT, f"no answer within {self.cfg.timeout:g}s") from None
        except requests.ConnectionError as error:
            raise _Failure(SourceState.UNREACHABLE, _connection_detail(error)) from None
        except PrometheusApiClientException:
            response = self._last_response
            if response is None:
                raise _Failure(SourceState.QUERY_ERROR, "no response") from None
            raise classify_response(
                response.status_code, response.headers.get("Content-Type", ""), response.text
            ) from None
        except (ValueError, KeyError, TypeError) as error:  # 200 with a body that is not the API's
            raise _Failure(SourceState.QUERY_ERROR, f"unreadable answer: {error}") from None
        return _parse_matrix(result, self.cfg.status_label)

    def close(self) -> None:
        """Close the HTTP session."""
        if self._client is not None:
            self._client.close()


def _connection_detail(error: Exception) -> str:
    text = str(error)
    for marker in ("Connection refused", "Name or service not known", "No route to host"):
        if marker in text:
            return marker.lower()
    return text.split(": ", 1)[-1][:160]


def _parse_matrix(result: Any, status_label: str) -> tuple[RateSeries, ...]:
    series = []
    for item in result:
        status = str(item["metric"].get(status_label, "?"))
        points = tuple((float(at), finite(float(value))) for at, value in item["values"])
        series.append(RateSeries(status, points))
    return tuple(sorted(series, key=lambda s: s.status))


class ScrapeSource:
    """No Prometheus: read the app's /metrics and compute per-status rates from counter deltas."""

    mode = "direct scrape"

    def __init__(
        self,
        metrics_url: str,
        cfg: PrometheusConfig,
        *,
        clock: Clock = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.metrics_url = metrics_url
        self.cfg = cfg
        self._clock = clock
        self._client = httpx.Client(timeout=cfg.timeout, transport=transport)
        self._history = CounterHistory(window=cfg.rate_window, keep=cfg.range)
        self._last: MetricsSnapshot | None = None

    def poll(self) -> MetricsSnapshot:
        """Scrape once and return rates over the window."""
        now = self._clock()
        try:
            response = self._client.get(self.metrics_url)
        except httpx.TimeoutException:
            return self._failed(now, SourceState.TIMEOUT, f"no answer within {self.cfg.timeout:g}s")
        except httpx.TransportError as error:
            return self._failed(now, SourceState.UNREACHABLE, str(error) or type(error).__name__)
        if response.status_code != 200:
            failure = classify_response(
                response.status_code, response.headers.get("content-type", ""), response.text
            )
            return self._failed(now, failure.state, failure.detail)
        try:
            counts = parse_counters(response.text, self.cfg.metric, self.cfg.status_label)
        except SourceError as error:
            return self._failed(now, SourceState.QUERY_ERROR, str(error))
        self._history.add(now, counts)
        series = self._history.series()
        state = SourceState.UP if any(s.points for s in series) else SourceState.NO_DATA
        self._last = MetricsSnapshot(state, now, series, data_at=now, mode=self.mode)
        return self._last

    def _failed(self, now: float, state: SourceState, detail: str) -> MetricsSnapshot:
        last = self._last
        return MetricsSnapshot(
            state,
            now,
            last.series if last else (),
            detail=detail,
            data_at=last.data_at if last else None,
            mode=self.mode,
        )

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()


def parse_counters(text: str, metric: str, status_label: str) -> dict[str, float]:
    """Sum the ``metric`` counter by ``status_label`` in a text exposition."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        raise SourceError(
            "direct scraping needs prometheus-client: pip install 'errwatch[demo]'"
        ) from None
    family_name = metric.removesuffix("_total")
    counts: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            if family.name not in (family_name, metric):
                continue
            for sample in family.samples:
                if sample.name != metric:
                    continue
                status = sample.labels.get(status_label, "?")
                counts[status] = counts.get(status, 0.0) + finite(sample.value)
    except ValueError as error:
        raise SourceError(f"unreadable /metrics: {error}") from None
    return counts


class BridgedSource:
    """Prometheus, bridged by a direct scrape until Prometheus returns its first data.

    A fresh Prometheus hands its targets to the scraper only after its 5 s discovery
    tick, so the first rate arrives ~6.5 s after start. The bridge shows the app's own
    /metrics meanwhile, and says so, then hands over for good.
    """

    def __init__(self, primary: MetricsSource, bridge: MetricsSource) -> None:
        self.primary = primary
        self.bridge = bridge
        self.handed_over = False

    @property
    def mode(self) -> str:
        """The mode of whichever source is shown."""
        return self.primary.mode if self.handed_over else self.bridge.mode

    def poll(self) -> MetricsSnapshot:
        """Poll Prometheus; while it has no data yet, poll the bridge too and show that."""
        snapshot = self.primary.poll()
        if self.handed_over or snapshot.state is SourceState.UP:
            if not self.handed_over:
                self.handed_over = True
                self.bridge.close()
            return snapshot
        bridged = self.bridge.poll()
        waiting = f"Prometheus {snapshot.state}" + (
            f" ({snapshot.detail})" if snapshot.detail else ""
        )
        return replace(
            bridged, detail=f"{waiting}: showing /metrics read directly until it has data"
        )

    def close(self) -> None:
        """Close both sources."""
        self.primary.close()
        self.bridge.close()
