"""Metrics sources: Prometheus (PromQL) -> MetricsSnapshot (direct scrape: scrape.py).

``poll()`` is blocking and meant for a thread worker; a source never raises for a
source failure, it returns a snapshot whose state says what happened and keeps the
last good data (``data_at`` tells its age).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from errwatch.config import PanelConfig, PrometheusConfig
from errwatch.core.metrics.auth import CredentialError, Credentials, load_credentials
from errwatch.core.metrics.backwards import counter_drops, without_points
from errwatch.core.metrics.discovery import (
    Ask,
    Discovery,
    discover,
    needs_discovery,
    route_templates,
    run_sync,
)
from errwatch.core.metrics.panels import PanelReading, PanelState
from errwatch.core.metrics.polling import (
    TOO_DEEP,
    Clock,
    failed_snapshot,
    request_failure,
    unreadable,
)
from errwatch.core.metrics.promql import (
    Failure,
    QueryFailed,
    RateResult,
    classify_response,
    parse_panel,
    parse_rates,
    range_step,
    rate_query,
    scrape_errors,
    selector,
    up_by_instance,
    up_query,
)
from errwatch.core.metrics.rates import (
    MetricsSnapshot,
    SourceState,
)
from errwatch.core.metrics.samples import counter_increases, samples_query
from errwatch.core.units import format_duration
from errwatch.errors import SourceError

if TYPE_CHECKING:
    import requests

    from errwatch.core.injection.answers import AnswerLedger


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
        target_url: str = "",
        answers: AnswerLedger | None = None,
    ) -> None:
        self.given = cfg
        self.injection_route = injection_route
        self.target_url = target_url
        self.answers = answers
        self.discovery: Discovery | None = None
        """What discovery found (None until it ran, or when everything is pinned)."""
        self._use(cfg if not needs_discovery(cfg) else replace(cfg, job="", instance=""))
        self.panels = tuple(panels)
        self._environ = environ
        self._clock = clock
        self._client: Any = None
        self._session: requests.Session | None = None
        self._credentials = Credentials()
        self._last_response: requests.Response | None = None
        self._last: MetricsSnapshot | None = None
        parts = urlsplit(cfg.url)
        self._where = parts.netloc or cfg.url

    def _use(self, cfg: PrometheusConfig, templates: tuple[str, ...] = ()) -> None:
        self.cfg = cfg
        self.query = rate_query(cfg, self.injection_route, templates)
        self.split = bool(cfg.route_label and self.injection_route)

    @property
    def ready(self) -> bool:
        """Whether the query is known: everything pinned, or discovery found the series."""
        return not needs_discovery(self.given) or bool(self.discovery and self.discovery.ok)

    def discover(self) -> Discovery:
        """Run discovery now (blocking); SourceError says why the engine gave no answer."""
        try:
            if self._client is None:
                self._client = self._connect()
            return self._discover()
        except QueryFailed as failed:
            detail = self._credentials.redact(failed.failure.detail)
            raise SourceError(f"{self.given.url}: {failed.failure.state}: {detail}") from None

    def _discover(self) -> Discovery:
        """Run discovery through this source's session (auth, TLS, headers, timeout)."""
        discovery = run_sync(discover(self.given, self.target_url), self._fetch)
        self.discovery = discovery
        if discovery.ok:
            templates: tuple[str, ...] = ()
            if discovery.candidate is not None and self.injection_route:
                templates = route_templates(discovery.candidate.all_routes, self.injection_route)
            self._use(discovery.resolve(self.given), templates)
        return discovery

    def _fetch(self, ask: Ask) -> Any:
        """One GET of the PromQL API: its ``data``; every failure is a QueryFailed."""
        from prometheus_api_client.exceptions import PrometheusApiClientException

        session = self._session
        assert session is not None

        def get() -> Any:
            response = session.get(
                self.given.url.rstrip("/") + ask.path,
                params=dict(ask.params),
                headers=self._credentials.request_headers() or None,
                auth=self._credentials.basic(),
                timeout=self.given.timeout,
                verify=session.verify,
            )
            if response.status_code == 404 and ask.path == "/api/v1/targets":
                raise QueryFailed(
                    Failure(
                        SourceState.QUERY_ERROR,
                        "this engine has no /api/v1/targets (Thanos, Mimir?): set "
                        "prometheus.job (and instance) in the config",
                    )
                )
            if response.status_code != 200:
                raise PrometheusApiClientException(f"HTTP {response.status_code}")
            return response.json()["data"]

        return self._ask(get)

    @property
    def stale_after(self) -> float:
        """Age of the newest point beyond which data is called stale."""
        return self.cfg.rate_window + 2 * range_step(self.cfg.range) + self.cfg.refresh

    def _connect(self) -> Any:
        # Imported here: requests and the client are not needed for the first frame.
        from prometheus_api_client import PrometheusConnect
        from urllib3.exceptions import InsecureRequestWarning
        from urllib3.util.retry import Retry

        from errwatch.core.metrics.deadline import DeadlineSession

        try:
            self._credentials = load_credentials(
                self.cfg.auth, self.cfg.headers, environ=self._environ
            )
        except CredentialError as error:
            raise QueryFailed(Failure(SourceState.UNAUTHORIZED, str(error))) from None
        session = DeadlineSession(self.cfg.timeout, proxy=self.cfg.proxy)
        session.verify = self.cfg.ca_file or self.cfg.tls_verify
        if not self.cfg.tls_verify:
            # The person chose it in the config; a warning per request would scribble on the TUI.
            warnings.simplefilter("ignore", InsecureRequestWarning)
        session.hooks["response"].append(self._remember)
        self._session = session
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
        """One poll: discovery until it has found the series, then rates over the chart
        range, the job's ``up``, the extra panels."""
        now = self._clock()
        step = range_step(self.cfg.range)
        try:
            if self._client is None:
                self._client = self._connect()
            if not self.ready:
                discovery = self._discover()
                if not discovery.ok:
                    return self._not_found(now, discovery)
            result = self._ask(partial(self._range, self.query, now, step))
            rates = self._read(partial(parse_rates, result, self.cfg.status_label))
            ups = None
            if self.cfg.job:
                instant = self._ask(
                    partial(
                        self._client.custom_query, up_query(self.cfg), params={"time": f"{now:.3f}"}
                    )
                )
                ups = self._read(partial(up_by_instance, instant))
            why = self._scrape_errors() if ups and 0.0 in ups.values() else ()
            low = self._lowest_app_ratio(now)
        except QueryFailed as failed:
            failure = Failure(failed.failure.state, self._credentials.redact(failed.failure.detail))
            if failure.state is SourceState.UNAUTHORIZED and self._client is not None:
                # The next poll connects again and reads the secrets again: a token file
                # rotated (or fixed) while errwatch runs is picked up without a restart.
                self._client.close()
                self._client = None
            return failed_snapshot(self._last, now, failure, self.mode)
        snapshot = self._judge(self._snapshot(now, step, rates, ups), ups, why)
        if snapshot.estimated:
            snapshot = replace(snapshot, app_ratio_low=low)
        self._last = snapshot
        return snapshot

    def _not_found(self, now: float, discovery: Discovery) -> MetricsSnapshot:
        """No data to show: what discovery looked for and what comes closest."""
        detail = discovery.problem
        if discovery.closest:
            detail += "; closest: " + ", ".join(discovery.closest)
        snapshot = MetricsSnapshot(
            SourceState.NO_DATA, now, detail=detail, mode=self.mode, found=discovery.summary()
        )
        if self._last is not None:
            snapshot = replace(self._last, state=SourceState.NO_DATA, at=now, detail=detail)
        return snapshot

    def _snapshot(
        self, now: float, step: float, rates: RateResult, ups: dict[str, float] | None
    ) -> MetricsSnapshot:
        discovery = self.discovery
        notes = []
        if rates.left_out:
            notes.append(
                f"{self.cfg.status_label} values left out (not HTTP statuses): "
                + ", ".join(rates.left_out)
            )
        every, test, instances = rates.every, rates.test, rates.instances
        backwards = counter_drops(rates.resets)
        if backwards:
            worst, count = backwards
            notes.append(
                f"counters go backwards between scrapes ({count:g} drops in "
                f"{format_duration(self.cfg.range)} on {worst or 'the target'}): several "
                "processes each keep their own counters (gunicorn without prometheus_client's "
                "multiprocess mode?), or the app restarts often; those points are left out, "
                "not drawn as spikes"
            )
            # Left out: every point whose rate window went backwards (a drop inside, or a
            # rise back from a process with lower counts), on any instance for the totals,
            # on its own for each instance.
            gaps = {
                name: {at for at, value in points if value > 0}
                for name, points in rates.disturbed.items()
            }
            anywhere = set().union(*gaps.values()) if gaps else set()
            every, test = without_points(every, anywhere), without_points(test, anywhere)
            instances = tuple(
                replace(one, series=without_points(one.series, gaps.get(one.instance, set())))
                for one in instances
            )
        classes_only = bool(every) and all(s.status.endswith("xx") for s in every)
        estimated = False
        split = self.split
        if not split and self.injection_route and self.answers is not None:
            # No route label to tell the injection route apart: subtract what the
            # injector itself got back over the same windows (an estimate).
            times = {at for one in every for at, _ in one.points}
            interval = self._interval()
            test = self.answers.series(times, self.cfg.rate_window, interval, classes=classes_only)
            split = estimated = True
        return MetricsSnapshot(
            SourceState.UP,
            now,
            every,
            test_series=test,
            split=split,
            step=step,
            panels=self._panels(now, step),
            mode=self.mode,
            estimated=estimated,
            instances=instances,
            instances_up=(
                None if ups is None else (sum(1 for v in ups.values() if v > 0), len(ups))
            ),
            found=discovery.summary() if discovery else "",
            notes=tuple(notes),
            classes_only=classes_only,
        )

    def _interval(self) -> float:
        """The scrape interval discovery read, else the refresh interval."""
        discovery = self.discovery
        return (discovery.scrape_interval if discovery else None) or self.cfg.refresh

    def _lowest_app_ratio(self, now: float) -> float | None:
        """Without a route label, while the injector has answers: the lowest application
        5xx ratio the estimate's margin allows, from the raw samples (the guard acts on
        it); None when there is no estimate or the engine did not answer."""
        if self.split or not self.injection_route or not self.answers:
            return None
        from errwatch.core.injection.estimate import estimated_split

        interval = self._interval()
        span = max(self.cfg.rate_window, 2 * interval)
        assert self._client is not None
        try:
            matrix = self._ask(
                partial(
                    self._client.custom_query,
                    samples_query(self.cfg, span),
                    params={"time": f"{now:.3f}"},
                )
            )
            increases = self._read(partial(counter_increases, matrix, self.cfg.metric, interval))
        except QueryFailed:
            return None  # the chart's estimate stands alone this time
        answers = self.answers.answers(now - span - interval, now + interval)
        split = estimated_split(increases, self.cfg.status_label, answers)
        return None if split is None else split.app_ratio_low

    def _scrape_errors(self) -> tuple[str, ...]:
        """Why the job's targets are down, in the engine's words; () when it cannot say."""
        assert self._client is not None
        try:
            data = self._ask(partial(self._client.get_targets, state="active"))
        except QueryFailed:
            return ()  # an engine without /api/v1/targets: "down" is still true
        errors = scrape_errors(data, self.cfg.job, self.cfg.instance)
        return tuple(self._credentials.redact(e) for e in errors)

    def _judge(
        self, snapshot: MetricsSnapshot, ups: dict[str, float] | None, why: tuple[str, ...] = ()
    ) -> MetricsSnapshot:
        """The state the answered data tells: target down, no data, stale or up; ``why``:
        the scrape errors of the targets that are down."""
        now = snapshot.at
        newest = snapshot.newest()
        snapshot = replace(snapshot, data_at=now if newest is None else newest)
        job = up_query(self.cfg)
        values = tuple((ups or {}).values())
        down = sum(1 for value in values if value == 0)
        scrape = ""
        if why:
            scrape = f"; last scrape: {why[0]}"
            if len(why) > 1:
                scrape += f" (and {len(why) - 1} other errors)"
        if values and down == len(values):
            targets = "its target" if down == 1 else f"all {down} targets"
            return replace(
                snapshot,
                state=SourceState.TARGET_DOWN,
                detail=f'{job} is 0 for {targets}: down, not "no traffic"{scrape}',
            )
        if newest is None:
            detail = f"no series match {self.cfg.metric}{selector(self.cfg)}"
            if ups == {}:
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
            detail = f"{down} of {len(values)} targets of {job} down{scrape}"
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
        except (requests.ConnectionError, requests.Timeout) as error:
            failure = request_failure(error, self._where, self.cfg.timeout)
        except PrometheusApiClientException:
            response = self._last_response
            failure = (
                Failure(SourceState.QUERY_ERROR, "no response")
                if response is None
                else classify_response(
                    response.status_code,
                    response.headers.get("Content-Type", ""),
                    response.text,
                    redact=self._credentials.redact,  # on the text as shown, before any cut
                )
            )
        except (requests.RequestException, ValueError, KeyError, TypeError) as error:
            # A 200 whose body is cut short or is not the API's JSON (a proxy's page...).
            failure = unreadable(error)
        except RecursionError:
            failure = TOO_DEEP
        raise QueryFailed(failure)

    @staticmethod
    def _read(parse: Callable[[], Any]) -> Any:
        try:
            return parse()
        except (ValueError, KeyError, TypeError, IndexError) as error:
            raise QueryFailed(unreadable(error)) from None
        except RecursionError:
            raise QueryFailed(TOO_DEEP) from None

    def close(self) -> None:
        """Close the HTTP session."""
        if self._client is not None:
            self._client.close()


__all__ = ["PrometheusSource"]
