"""Without Prometheus: the API's /metrics read directly, and the bridge that shows it while
a Prometheus that was just started has no data yet."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from errwatch.config import PrometheusConfig
from errwatch.core.metrics.exposition import read_counters, read_series, statuses_only, sum_by
from errwatch.core.metrics.polling import Clock, MetricsSource, failed_snapshot, request_failure
from errwatch.core.metrics.promql import Failure, QueryFailed, classify_response
from errwatch.core.metrics.rates import CounterHistory, MetricsSnapshot, SourceState
from errwatch.core.metrics.requestseries import AUTO, choose_request_series
from errwatch.errors import SourceError

if TYPE_CHECKING:
    from errwatch.core.metrics.deadline import DeadlineSession


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
    ) -> None:
        self.metrics_url = metrics_url
        self.given = cfg
        self.cfg = cfg
        self.injection_route = injection_route
        self.split = bool(cfg.route_label and cfg.route_label != AUTO and injection_route)
        self.found = ""
        """What was chosen from the exposition, when the config left it to "auto"."""
        self._clock = clock
        # Made at the first scrape: the dashboard's first frame does not wait for requests.
        self._client: DeadlineSession | None = None
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
            found=self.found,
        )
        if not any(s.points for s in series):
            what = "request series" if self.cfg.metric == AUTO else self.cfg.metric
            detail = (
                f"no {what} in {self.metrics_url}"
                if not every
                else "a rate needs two scrapes: waiting for the next one"
            )
            snapshot = replace(snapshot, state=SourceState.NO_DATA, detail=detail)
        self._last = snapshot
        return snapshot

    def _scrape(self) -> tuple[dict[str, float], dict[str, float]]:
        """Counters by status: every route, and the injection route alone."""
        import requests

        from errwatch.core.metrics.deadline import DeadlineSession

        if self._client is None:
            self._client = DeadlineSession(self.cfg.timeout)
        try:
            response = self._client.get(self.metrics_url, timeout=self.cfg.timeout)
        except requests.RequestException as error:
            raise QueryFailed(request_failure(error, self._where, self.cfg.timeout)) from None
        if response.status_code != 200:
            raise QueryFailed(
                classify_response(
                    response.status_code, response.headers.get("content-type", ""), response.text
                )
            )
        try:
            if AUTO in (self.cfg.metric, self.cfg.status_label, self.cfg.route_label):
                self._choose(response.text)
            samples = read_counters(response.text, self.cfg.metric)
        except SourceError as error:
            raise QueryFailed(Failure(SourceState.QUERY_ERROR, str(error))) from None
        label = self.cfg.status_label
        every = statuses_only(sum_by(samples, label))
        test = statuses_only(
            sum_by(
                (s for s in samples if s[0].get(self.cfg.route_label) == self.injection_route),
                label,
            )
        )
        return every, test

    def _choose(self, text: str) -> None:
        """Discovery over the exposition itself: the request series and its labels."""
        series, kinds = read_series(text)
        if self.given.metric != AUTO:
            series = {self.given.metric: series.get(self.given.metric, [])}
        best, _ = choose_request_series(
            series, kinds, status_label=self.given.status_label, route_label=self.given.route_label
        )
        if best is None:
            return  # "auto" stays: no metric, no data, said by poll()
        route = best.route_label if best.route_paths else ""
        self.cfg = replace(
            self.cfg, metric=best.metric, status_label=best.status_label, route_label=route
        )
        self.split = bool(route and self.injection_route)
        self.found = f"{best.metric} status {best.status_label}, " + (
            f"route {route}" if route else "no route label"
        )

    def close(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            self._client.close()


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
