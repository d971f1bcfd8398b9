"""Metrics sources: Prometheus (PromQL) or a direct scrape of /metrics -> MetricsSnapshot.

``poll()`` is blocking and meant for a thread worker; a source never raises for a
source failure, it returns a snapshot whose state says what happened and keeps the
last good data (``data_at`` tells its age).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from errwatch.config import PanelConfig, PrometheusConfig
from errwatch.core.metrics.auth import CredentialError, Credentials, load_credentials
from errwatch.core.metrics.panels import PanelReading, PanelState
from errwatch.core.metrics.promql import (
    Failure,
    QueryFailed,
    classify_response,
    connection_detail,
    parse_panel,
    parse_rates,
    range_step,
    rate_query,
    scrape_errors,
    selector,
    up_query,
    up_values,
)
from errwatch.core.metrics.rates import CounterHistory, MetricsSnapshot, SourceState
from errwatch.core.units import format_duration
from errwatch.errors import SourceError

if TYPE_CHECKING:
    import httpx
    import requests

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
    """Delay before the next poll: the refresh interval while the engine answers, else
    doubling from 1 s to 30 s; straight to 30 s when retrying cannot help (a bad query,
    refused credentials), so a mistake is not hammered at the refresh rate."""

    def __init__(self, refresh: float, first: float = 1.0, ceiling: float = 30.0) -> None:
        self.refresh = refresh
        self.first = first
        self.ceiling = ceiling
        self._failures = 0

    def next_delay(self, state: SourceState) -> float:
        """Seconds to wait after a poll that ended in ``state``."""
        if state.answered:
            self._failures = 0
            return self.refresh
        self._failures += 1
        if state in (SourceState.BAD_QUERY, SourceState.UNAUTHORIZED):
            return self.ceiling
        return min(self.ceiling, self.first * 2.0 ** (self._failures - 1))


def failed_snapshot(
    last: MetricsSnapshot | None, now: float, failure: Failure, mode: str
) -> MetricsSnapshot:
    """A failure that keeps the last good data, marked with the time it was current."""
    if last is None:
        return MetricsSnapshot(failure.state, now, detail=failure.detail, mode=mode)
    return replace(last, state=failure.state, at=now, detail=failure.detail, mode=mode)


class PrometheusSource:
    """Polls a PromQL API with prometheus-api-client; no client retry, errwatch backs off.

    One poll asks, in order: the rate by status (split by the injection route), the
    ``up`` of the job, then each extra panel. A failure of the first two is the state of
    the source; a failed panel only marks that panel.
    """

    mode = "prometheus"

    def __init__(
        self,
        cfg: PrometheusConfig,
        *,
        injection_route: str | None = None,
        panels: Sequence[PanelConfig] = (),
        clock: Clock = time.time,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.cfg = cfg
        self.query = rate_query(cfg, injection_route)
        self.split = bool(cfg.route_label and injection_route)
        self.panels = tuple(panels)
        self._environ = environ
        self._clock = clock
        self._client: Any = None
        self._credentials = Credentials()
        self._last_response: requests.Response | None = None
        self._last: MetricsSnapshot | None = None
        parts = urlsplit(cfg.url)
        self._where = parts.netloc or cfg.url

    @property
    def stale_after(self) -> float:
        """Age of the newest point beyond which data is called stale."""
        return self.cfg.rate_window + 2 * range_step(self.cfg.range) + self.cfg.refresh

    def _connect(self) -> Any:
        # Imported here: requests and the client are not needed for the first frame.
        import requests
        from prometheus_api_client import PrometheusConnect
        from urllib3.exceptions import InsecureRequestWarning
        from urllib3.util.retry import Retry

        try:
            self._credentials = load_credentials(
                self.cfg.auth, self.cfg.headers, environ=self._environ
            )
        except CredentialError as error:
            raise QueryFailed(Failure(SourceState.UNAUTHORIZED, str(error))) from None
        session = requests.Session()
        session.verify = self.cfg.ca_file or self.cfg.tls_verify
        if not self.cfg.tls_verify:
            # The person chose it in the config; a warning per request would scribble on the TUI.
            warnings.simplefilter("ignore", InsecureRequestWarning)
        session.hooks["response"].append(self._remember)
        return PrometheusConnect(
            url=self.cfg.url,
            headers=self._credentials.request_headers() or None,
            auth=self._credentials.basic(),
            retry=Retry(total=0, connect=0, read=0, redirect=0, status=0),
            timeout=self.cfg.timeout,
            session=session,
        )

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last_response = response

    def poll(self) -> MetricsSnapshot:
        """One poll: rates over the chart range, the job's ``up``, the extra panels."""
        now = self._clock()
        step = range_step(self.cfg.range)
        try:
            if self._client is None:
                self._client = self._connect()
            result = self._ask(partial(self._range, self.query, now, step))
            every, test = self._read(partial(parse_rates, result, self.cfg.status_label))
            ups = None
            if self.cfg.job:
                instant = self._ask(
                    partial(
                        self._client.custom_query, up_query(self.cfg), params={"time": f"{now:.3f}"}
                    )
                )
                ups = self._read(partial(up_values, instant))
            why = self._scrape_errors() if ups and 0.0 in ups else ()
        except QueryFailed as failed:
            failure = Failure(failed.failure.state, self._credentials.redact(failed.failure.detail))
            if failure.state is SourceState.UNAUTHORIZED and self._client is not None:
                # The next poll connects again and reads the secrets again: a token file
                # rotated (or fixed) while errwatch runs is picked up without a restart.
                self._client.close()
                self._client = None
            return failed_snapshot(self._last, now, failure, self.mode)
        snapshot = self._judge(
            MetricsSnapshot(
                SourceState.UP,
                now,
                every,
                test_series=test,
                split=self.split,
                step=step,
                panels=self._panels(now, step),
                mode=self.mode,
            ),
            ups,
            why,
        )
        self._last = snapshot
        return snapshot

    def _scrape_errors(self) -> tuple[str, ...]:
        """Why the job's targets are down, in the engine's words; () when it cannot say."""
        assert self._client is not None
        try:
            data = self._ask(partial(self._client.get_targets, state="active"))
        except QueryFailed:
            return ()  # an engine without /api/v1/targets: "down" is still true
        return tuple(self._credentials.redact(e) for e in scrape_errors(data, self.cfg.job))

    def _judge(
        self, snapshot: MetricsSnapshot, ups: tuple[float, ...] | None, why: tuple[str, ...] = ()
    ) -> MetricsSnapshot:
        """The state the answered data tells: target down, no data, stale or up; ``why``:
        the scrape errors of the targets that are down."""
        now = snapshot.at
        newest = snapshot.newest()
        snapshot = replace(snapshot, data_at=now if newest is None else newest)
        job = f'up{{job="{self.cfg.job}"}}'
        down = sum(1 for value in ups or () if value == 0)
        scrape = ""
        if why:
            scrape = f"; last scrape: {why[0]}"
            if len(why) > 1:
                scrape += f" (and {len(why) - 1} other errors)"
        if ups and down == len(ups):
            targets = "its target" if down == 1 else f"all {down} targets"
            return replace(
                snapshot,
                state=SourceState.TARGET_DOWN,
                detail=f'{job} is 0 for {targets}: down, not "no traffic"{scrape}',
            )
        if newest is None:
            detail = f"no series match {self.cfg.metric}{selector(self.cfg)}"
            if ups == ():
                detail += f"; no {job} either (not scraped yet, or another job name?)"
            return replace(snapshot, state=SourceState.NO_DATA, detail=detail)
        if now - newest > self.stale_after:
            age = format_duration(round(now - newest))
            return replace(
                snapshot,
                state=SourceState.STALE,
                detail=f"the engine answers, but its newest point is {age} old",
            )
        if down:
            detail = f"{down} of {len(ups or ())} targets of {job} down{scrape}"
            return replace(snapshot, detail=detail)
        return snapshot

    def _range(self, query: str, now: float, step: float) -> Any:
        when = datetime.fromtimestamp(now, UTC)
        # The client rounds start/end to whole seconds; exact values keep the newest point.
        params = {"start": f"{now - self.cfg.range:.3f}", "end": f"{now:.3f}"}
        return self._client.custom_query_range(
            query, start_time=when, end_time=when, step=f"{step:g}", params=params
        )

    def _panels(self, now: float, step: float) -> tuple[PanelReading, ...]:
        readings: list[PanelReading] = []
        gave_up = False
        for panel in self.panels:
            if gave_up:  # the engine stopped answering: do not wait a timeout per panel
                readings.append(PanelReading(panel.title, panel.unit, PanelState.NOT_ASKED))
                continue
            try:
                result = self._ask(partial(self._range, panel.expr, now, step))
                series = self._read(partial(parse_panel, result))
            except QueryFailed as failed:
                failure = failed.failure
                gave_up = failure.state not in (SourceState.BAD_QUERY, SourceState.QUERY_ERROR)
                bad = failure.state is SourceState.BAD_QUERY
                detail = failure.detail if bad else f"{failure.state}: {failure.detail}"
                readings.append(
                    PanelReading(
                        panel.title,
                        panel.unit,
                        PanelState.BAD_QUERY if bad else PanelState.QUERY_ERROR,
                        detail=self._credentials.redact(detail),
                    )
                )
                continue
            if any(s.points for s in series):
                readings.append(PanelReading(panel.title, panel.unit, PanelState.UP, series))
                continue
            # Series without a finite value: NaN is what 0/0 gives, a ratio without traffic.
            detail = "only NaN or ±Inf values (a ratio without traffic?)" if series else ""
            readings.append(
                PanelReading(panel.title, panel.unit, PanelState.NO_DATA, series, detail=detail)
            )
        return tuple(readings)

    def _ask(self, call: Callable[[], Any]) -> Any:
        """Run one request; every way it can fail becomes a QueryFailed with a state."""
        import requests
        from prometheus_api_client.exceptions import PrometheusApiClientException

        self._last_response = None
        try:
            return call()
        except requests.ConnectionError as error:
            # Without client retries urllib3 wraps a read timeout in a connection error.
            timed_out = isinstance(error, requests.Timeout) or "timed out" in str(error)
            failure = self._timeout() if timed_out else connection_detail(error, self._where)
        except requests.Timeout:
            failure = self._timeout()
        except PrometheusApiClientException:
            response = self._last_response
            failure = (
                Failure(SourceState.QUERY_ERROR, "no response")
                if response is None
                else classify_response(
                    response.status_code,
                    response.headers.get("Content-Type", ""),
                    # Before any cut: half a token is still a secret.
                    self._credentials.redact(response.text),
                )
            )
        except (requests.RequestException, ValueError, KeyError, TypeError) as error:
            # A 200 whose body is cut short or is not the API's JSON (a proxy's page...).
            failure = _unreadable(error)
        raise QueryFailed(failure)

    def _timeout(self) -> Failure:
        return Failure(SourceState.TIMEOUT, f"no answer within {format_duration(self.cfg.timeout)}")

    @staticmethod
    def _read(parse: Callable[[], Any]) -> Any:
        try:
            return parse()
        except (ValueError, KeyError, TypeError, IndexError) as error:
            raise QueryFailed(_unreadable(error)) from None

    def close(self) -> None:
        """Close the HTTP session."""
        if self._client is not None:
            self._client.close()


def _unreadable(error: BaseException) -> Failure:
    return Failure(
        SourceState.QUERY_ERROR,
        f"unreadable answer (cut short, or not the PromQL API's JSON): {type(error).__name__}",
    )


class ScrapeSource:
    """No Prometheus: read the app's /metrics and compute per-status rates from counter deltas."""

    mode = "direct scrape"

    def __init__(
        self,
        metrics_url: str,
        cfg: PrometheusConfig,
        *,
        injection_route: str | None = None,
        clock: Clock = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.metrics_url = metrics_url
        self.cfg = cfg
        self.injection_route = injection_route
        self.split = bool(cfg.route_label and injection_route)
        self._clock = clock
        self._transport = transport
        # Made at the first scrape: the dashboard's first frame does not wait for httpx.
        self._client: httpx.Client | None = None
        self._every = CounterHistory(window=cfg.rate_window, keep=cfg.range)
        self._test = CounterHistory(window=cfg.rate_window, keep=cfg.range)
        self._last: MetricsSnapshot | None = None
        self._where = urlsplit(metrics_url).netloc or metrics_url

    def poll(self) -> MetricsSnapshot:
        """Scrape once and return rates over the window."""
        now = self._clock()
        try:
            every, test = self._scrape()
        except QueryFailed as failed:
            return failed_snapshot(self._last, now, failed.failure, self.mode)
        self._every.add(now, every)
        if self.split:
            self._test.add(now, test)
        series = self._every.series()
        snapshot = MetricsSnapshot(
            SourceState.UP,
            now,
            series,
            data_at=now,
            mode=self.mode,
            test_series=self._test.series() if self.split else (),
            split=self.split,
            step=self.cfg.refresh,
        )
        if not any(s.points for s in series):
            detail = (
                f"no {self.cfg.metric} in {self.metrics_url}"
                if not every
                else "a rate needs two scrapes: waiting for the next one"
            )
            snapshot = replace(snapshot, state=SourceState.NO_DATA, detail=detail)
        self._last = snapshot
        return snapshot

    def _scrape(self) -> tuple[dict[str, float], dict[str, float]]:
        """Counters by status: every route, and the injection route alone."""
        import httpx

        if self._client is None:
            self._client = httpx.Client(timeout=self.cfg.timeout, transport=self._transport)
        try:
            response = self._client.get(self.metrics_url)
        except httpx.TimeoutException:
            raise QueryFailed(
                Failure(
                    SourceState.TIMEOUT, f"no answer within {format_duration(self.cfg.timeout)}"
                )
            ) from None
        except httpx.TransportError as error:
            raise QueryFailed(connection_detail(error, self._where)) from None
        if response.status_code != 200:
            raise QueryFailed(
                classify_response(
                    response.status_code, response.headers.get("content-type", ""), response.text
                )
            )
        try:
            samples = read_counters(response.text, self.cfg.metric)
        except SourceError as error:
            raise QueryFailed(Failure(SourceState.QUERY_ERROR, str(error))) from None
        label = self.cfg.status_label
        every = sum_by(samples, label)
        test = sum_by(
            (s for s in samples if s[0].get(self.cfg.route_label) == self.injection_route), label
        )
        return every, test

    def close(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            self._client.close()


Sample = tuple[Mapping[str, str], float]


def read_counters(text: str, metric: str) -> list[Sample]:
    """The samples of the ``metric`` counter in a text exposition: (labels, value)."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        raise SourceError(
            "direct scraping needs prometheus-client: pip install 'errwatch[demo]'"
        ) from None
    family_name = metric.removesuffix("_total")
    samples: list[Sample] = []
    try:
        for family in text_string_to_metric_families(text):
            if family.name not in (family_name, metric):
                continue
            samples.extend(
                (sample.labels, sample.value)
                for sample in family.samples
                if sample.name == metric and math.isfinite(sample.value)
            )
    except ValueError as error:
        raise SourceError(f"unreadable /metrics: {error}") from None
    return samples


def sum_by(samples: Iterable[Sample], label: str) -> dict[str, float]:
    """Counter values summed by one label ("?" where it is missing)."""
    counts: dict[str, float] = {}
    for labels, value in samples:
        key = labels.get(label, "?")
        counts[key] = counts.get(key, 0.0) + value
    return counts


def parse_counters(text: str, metric: str, status_label: str) -> dict[str, float]:
    """Sum the ``metric`` counter by ``status_label`` in a text exposition."""
    return sum_by(read_counters(text, metric), status_label)


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
