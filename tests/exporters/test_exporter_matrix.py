"""errwatch on the apps people run: real exporters, one shared real Prometheus, a config that
names only the URLs (and the injection route).

For each exporter: discovery finds its job, instance, request series and labels; the rates
and the 5xx ratio match the traffic the fleet sends; real application errors on another
route make ``errwatch check`` exit 1; fault injection is not aborted by its own errors
(the split exact with a route label, estimated from the injector's answers without).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from errwatch.cli import main
from errwatch.config import Config, load_config
from errwatch.core.injection.guard import ErrorSplit
from errwatch.core.injection.injector import Injector
from errwatch.core.injection.probe import ErrorSplitProbe, run_guarded
from errwatch.core.metrics.polling import MetricsSource
from errwatch.core.metrics.rates import (
    MetricsSnapshot,
    SourceState,
    error_rate,
    status_class,
    worst_first,
)
from errwatch.sources import build_metrics
from tests.conftest import poll_until, wait_until
from tests.exporters.fleet import BY_JOB, KINDS, OK_RATE, Fleet, Kind, running_fleet

INJECT_RATE = 10.0
INJECT_SECONDS = 6.0
"""Longer than the 4 s rate window plus a scrape: the window is then all injection."""


@pytest.fixture(scope="module")
def fleet(prometheus_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with running_fleet(prometheus_bin, tmp_path_factory.mktemp("fleet")) as running:
        yield running


def config_of(fleet: Fleet, name: str, **pinned: str) -> Config:
    return load_config(fleet.config(name, **pinned))


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def _pause(_: float) -> None:
    time.sleep(0.5)  # between two polls of Prometheus, which scrapes every second


def classes(snapshot: MetricsSnapshot) -> dict[str, float]:
    rates: dict[str, float] = {}
    for status, rate in snapshot.current().items():
        rates[status_class(status)] = rates.get(status_class(status), 0.0) + rate
    return rates


@pytest.mark.parametrize("kind", KINDS, ids=[kind.job for kind in KINDS])
def test_discovery_finds_each_exporter_from_a_url_only_config(
    fleet: Fleet, kind: Kind, capsys: pytest.CaptureFixture[str]
) -> None:
    member = fleet.members[kind.job]
    path = fleet.config(kind.job)
    code, out = run_cli(capsys, "discover", "--json", "--config", str(path))
    found = json.loads(out)
    assert code == 0, found
    assert (found["job"], found["instance"]) == (kind.job, member.instance)
    assert (found["metric"], found["status_label"]) == (kind.metric, kind.status_label)
    assert found["route_label"] == kind.route_label
    assert found["split"] == kind.split
    assert found["classes_only"] is kind.classes
    assert found["pinned"] == []
    assert found["scrape_interval"] == 1.0
    assert f'metric = "{kind.metric}"' in found["toml"]
    if kind.job == "nginx-vts":
        assert found["candidate"]["left_out"] == ["total"]  # VTS's sum, never added


@pytest.mark.parametrize("kind", KINDS, ids=[kind.job for kind in KINDS])
def test_rates_match_the_traffic_and_app_errors_make_check_exit_1(
    fleet: Fleet, kind: Kind, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_of(fleet, kind.job)
    source = build_metrics(config)
    try:
        # The fleet sends 5 requests/s of / to every app: 2xx at about that rate (some
        # exporters also count Prometheus's own scrapes of /metrics, 1/s), no 5xx.
        quiet = poll_until(
            source,
            lambda s: (
                s.state is SourceState.UP
                and 0.7 * OK_RATE <= classes(s).get("2xx", 0) <= OK_RATE + 2.5
            ),
            20,
            f"{kind.job}: 2xx at the fleet's rate",
        )
        assert quiet.error_ratio() == 0.0
        assert quiet.found.startswith(f'{kind.metric}{{job="{kind.job}"')
        fleet.failing.add(kind.job)
        try:
            # /fail answers 500 at the same rate as /: about half of the requests fail.
            failing = poll_until(
                source,
                lambda s: (
                    0.4 <= (s.error_ratio() or 0.0) <= 0.6
                    and 0.7 * OK_RATE <= error_rate(s.current()) <= 1.3 * OK_RATE
                ),
                20,
                f"{kind.job}: 5xx at the rate of /fail, half of the requests",
            )
            assert failing.app_error_ratio() == failing.error_ratio()  # nothing injected
            code, out = run_cli(
                capsys,
                "check",
                "--duration",
                "2s",
                "--json",
                "--config",
                str(fleet.config(kind.job)),
            )
        finally:
            fleet.failing.discard(kind.job)
        summary = json.loads(out)
        assert code == 1, summary
        assert summary["app_error_ratio"]["max"] > 0.3
        assert summary["series"].startswith(kind.metric)
        assert "application 5xx ratio" in summary["reasons"][0]
    finally:
        source.close()


APPS = [(kind, {}) for kind in KINDS if kind.app]
# flask-exporter's own counter has no route label: named in the config, the split is estimated.
FLASK_COUNTER = replace(
    BY_JOB["flask"], metric="flask_http_request_total", route_label="", split="estimated"
)
APPS.append((FLASK_COUNTER, {"metric": "flask_http_request_total"}))


@pytest.mark.parametrize(
    ("kind", "pinned"), APPS, ids=[kind.job + "-pinned" * bool(p) for kind, p in APPS]
)
def test_injection_is_not_aborted_by_its_own_errors(
    fleet: Fleet, kind: Kind, pinned: dict[str, str]
) -> None:
    config = config_of(fleet, kind.job, **pinned)
    injector = Injector(config.injection, config.target.url)
    source = build_metrics(config, answers=injector.answers)
    try:
        # No application error left in the rate window (an earlier test sent some).
        poll_until(
            source,
            lambda s: s.state is SourceState.UP and s.error_ratio() == 0.0,
            20,
            f"{kind.job}: no 5xx before injecting",
        )
        probe = ErrorSplitProbe(
            config.prometheus, "/error", target_url=config.target.url, answers=injector.answers
        )
        readings: list[ErrorSplit] = []

        def seen(split: ErrorSplit | None, problem: str) -> None:
            assert split is not None, problem
            readings.append(split)

        async def inject() -> object:
            try:
                injector.set_rate(INJECT_RATE)
                return await run_guarded(
                    injector, probe, interval=1.0, duration=INJECT_SECONDS, listener=seen
                )
            finally:
                await probe.aclose()

        stats = asyncio.run(inject())
        after = source.poll()
    finally:
        source.close()
    assert stats.stopped_by == "duration", stats.detail  # type: ignore[attr-defined]
    assert stats.by_status == {"500": stats.sent}  # type: ignore[attr-defined]
    assert readings and max(r.injected_errors for r in readings) > 0.4 * INJECT_RATE
    assert all((r.app_ratio or 0.0) <= config.injection.guard_ratio for r in readings)
    assert {r.estimated for r in readings} == {kind.split == "estimated"}
    if kind.split == "estimated":  # the margin's lowest ratio is never above the estimate
        assert all((r.app_ratio_low or 0.0) <= (r.app_ratio or 0.0) for r in readings)
    # The window is all injection now: 5xx at the injection rate, all of them errwatch's.
    assert 0.6 * INJECT_RATE <= error_rate(after.current()) <= 1.4 * INJECT_RATE
    assert after.estimated is (kind.split == "estimated")
    if after.estimated:  # the dashboard's guard gets the margin's lowest ratio too
        assert after.app_ratio_low is not None and after.app_ratio_low <= 0.05
    assert after.app_error_ratio() is not None and after.app_error_ratio() <= 0.05
    assert after.test_error_rate() >= 0.6 * INJECT_RATE


def test_real_application_errors_abort_an_injection_whose_split_is_estimated(
    fleet: Fleet,
) -> None:
    # flask-exporter's counter has no route label: /fail's real 500s (half of the app's
    # requests) are told from the injected ones by the estimate, and stop the injection.
    config = config_of(fleet, "flask", metric="flask_http_request_total")
    injector = Injector(config.injection, config.target.url)
    source = build_metrics(config)
    fleet.failing.add("flask")
    try:
        poll_until(source, lambda s: (s.error_ratio() or 0) > 0.3, 20, "flask failing")
        probe = ErrorSplitProbe(
            config.prometheus, "/error", target_url=config.target.url, answers=injector.answers
        )

        async def inject() -> object:
            try:
                injector.set_rate(INJECT_RATE)
                return await run_guarded(injector, probe, interval=1.0, duration=20.0)
            finally:
                await probe.aclose()

        stats = asyncio.run(inject())
    finally:
        fleet.failing.discard("flask")
        source.close()
    assert stats.stopped_by == "guard", stats.detail  # type: ignore[attr-defined]
    assert stats.detail.startswith("application 5xx ratio (estimated) ")  # type: ignore[attr-defined]
    assert "above the guard's 5.0%" in stats.detail  # type: ignore[attr-defined]


def test_several_apps_on_one_prometheus_are_never_mixed(
    fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    # Three apps expose http_requests_total; only the starlette app fails: the others stay
    # healthy, each read on its own job and instance.
    fleet.failing.add("gunicorn")
    try:
        source = build_metrics(config_of(fleet, "gunicorn"))
        poll_until(source, lambda s: (s.error_ratio() or 0) > 0.3, 20, "gunicorn failing")
        source.close()
        for job in ("fastapi", "fastapi-ungrouped"):
            code, out = run_cli(
                capsys, "check", "--duration", "2s", "--json", "--config", str(fleet.config(job))
            )
            assert code == 0, out
            assert json.loads(out)["error_ratio"]["max"] == 0.0
    finally:
        fleet.failing.discard("gunicorn")


def test_an_api_no_target_scrapes_is_no_verdict_saying_what_was_looked_for(
    fleet: Fleet, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text(
        '[target]\nurl = "http://localhost:1"\n[prometheus]\n'
        f'url = "{fleet.prometheus.url}"\nrefresh = "1s"\n[recording]\nenabled = false\n'
    )
    code, out = run_cli(capsys, "check", "--duration", "1s", "--config", str(path))
    assert code == 2
    assert "no scrape target has the API's address localhost:1" in out
    assert "closest:" in out


def test_by_instance_the_failing_replica_comes_first_and_a_stopped_one_is_counted(
    fleet: Fleet,
) -> None:
    # Two replicas under one job; errwatch reads every instance of it (instance = "").
    config = config_of(fleet, "replicas-1", job="replicas", instance="")
    source = build_metrics(config)
    bad = fleet.members["replicas-2"]
    fleet.failing.add("replicas-2")
    try:
        snapshot = poll_until(
            source,
            lambda s: (
                len(s.instances) == 2 and (worst_first(s.instances)[0].current_ratio() or 0) > 0.3
            ),
            20,
            "the failing replica's 5xx ratio",
        )
        worst, other = worst_first(snapshot.instances)
        assert worst.instance == bad.instance
        assert other.current_ratio() == 0.0
        assert snapshot.instances_up == (2, 2)
        assert 0.15 < (snapshot.error_ratio() or 0) < 0.35  # the job as a whole: a quarter
        bad.stop()
        down = poll_until(source, lambda s: s.instances_up == (1, 2), 20, "one replica down")
        assert down.state is SourceState.UP
        assert down.detail.startswith('1 of 2 targets of up{job="replicas"} down')
    finally:
        fleet.failing.discard("replicas-2")
        source.close()


def test_counters_going_backwards_are_said_not_drawn_as_spikes(fleet: Fleet) -> None:
    # gunicorn without multiprocess mode: each of 3 workers answers scrapes with its own
    # counters, which go up and down from one scrape to the next.
    source = build_metrics(config_of(fleet, "gunicorn-plain"))
    try:
        snapshot = poll_until(
            source,
            lambda s: any("counters go backwards" in note for note in s.notes),
            45,  # gunicorn hands most requests to one worker: the drops come every few s
            "counters going backwards said",
        )
    finally:
        source.close()
    [note] = [n for n in snapshot.notes if "counters go backwards" in n]
    assert "gunicorn without prometheus_client's multiprocess mode?" in note
    # A drop read as a reset adds a worker's whole count, a rise back to a worker with a
    # higher count the difference: requests that were never sent then. Those points are
    # left out; what is drawn (windows on one worker alone) stays within the real 5/s,
    # give or take rate()'s extrapolation and the traffic catching up after a slow tick.
    drawn = [rate for one in snapshot.series for _, rate in one.points]
    assert drawn == [] or max(drawn) < 2 * OK_RATE
    by_instance = [rate for one in snapshot.instances for s in one.series for _, rate in s.points]
    assert by_instance == [] or max(by_instance) < 2 * OK_RATE


def _first_error_counts(source: MetricsSource, url: str) -> float:
    """Ask /once (a 500 on a label set that never existed) once; the most 5xx errwatch's
    chart shows at any moment, in requests over the 4 s rate window.

    VictoriaMetrics makes a new series searchable ~10 s after its first sample: the error
    then appears in the chart at its own time, in the past, not at "now".
    """
    import httpx

    # No other error in the window (earlier tests sent some), then the one 500.
    poll_until(source, lambda s: s.state is SourceState.UP and s.error_ratio() == 0.0, 40, "quiet")
    asked = time.time()
    assert httpx.get(f"{url}/once").status_code == 500
    peak: list[float] = []

    def seen() -> bool:
        snapshot = source.poll()
        errors = [one for one in snapshot.series if one.status.startswith("5")]
        by_time: dict[float, float] = {}
        for one in errors:
            for at, rate in one.points:
                if at >= asked - 0.5:
                    by_time[at] = by_time.get(at, 0.0) + rate
        peak.append(max(by_time.values(), default=0.0) * 4.0)
        return peak[-1] > 0

    wait_until(seen, 40, "the first 500 of /once", pause=_pause)
    return max(peak)


def test_the_first_500_of_a_new_label_set_counts_on_prometheus(fleet: Fleet) -> None:
    import httpx

    member = fleet.members["flask"]
    source = build_metrics(config_of(fleet, "flask"))
    try:
        assert 0.9 <= _first_error_counts(source, member.url) <= 1.6
    finally:
        source.close()
    # The trap it avoids: rate() alone never sees a series whose first value is 1.
    plain = 'sum(rate(flask_http_request_duration_seconds_count{job="flask",path="/once"}[4s]))'
    answer = httpx.get(f"{fleet.prometheus.url}/api/v1/query", params={"query": plain}).json()
    assert [float(r["value"][1]) for r in answer["data"]["result"]] in ([], [0.0])


def test_the_first_500_of_a_new_label_set_counts_on_victoria_metrics(
    fleet: Fleet, tmp_path: Path
) -> None:
    from errwatch.demo.victoria import VictoriaMetricsServer
    from tests.engines import engine_binary

    member = fleet.members["otel"]
    server = VictoriaMetricsServer(
        engine_binary("victoria-metrics"), tmp_path, [member.instance], job="otel"
    )
    server.start()
    try:
        config = load_config(fleet.config("otel"))
        config = replace(config, prometheus=replace(config.prometheus, url=server.url))
        source = build_metrics(config)
        try:
            poll_until(
                source, lambda s: s.state is SourceState.UP, 40, "VictoriaMetrics' first data"
            )
            assert 0.9 <= _first_error_counts(source, member.url) <= 1.6
        finally:
            source.close()
    finally:
        server.stop()


def test_discover_and_config_check_tell_a_person_what_auto_stands_for(
    fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    member = fleet.members["flask"]
    code, out = run_cli(capsys, "discover", "--config", str(fleet.config("flask")))
    assert code == 0
    lines = out.splitlines()
    assert f'  target     job "flask", instance "{member.instance}"' in lines[1]
    assert (
        lines[2]
        == "  series     flask_http_request_duration_seconds_count (prometheus-flask-exporter)"
    )
    assert (
        lines[3].startswith("  evidence   ") and "status: 200" in lines[3] and "path: /" in lines[3]
    )
    assert "  split      exact: /error told apart by path" in lines
    assert any(line.startswith("  other      flask_http_request_total: ") for line in lines)
    assert lines[-6:] == [
        "[prometheus]",
        'metric = "flask_http_request_duration_seconds_count"',
        'status_label = "status"',
        'route_label = "path"',
        'job = "flask"',
        f'instance = "{member.instance}"',
    ]
    code, out = run_cli(capsys, "discover", "--config", str(fleet.config("traefik")))
    assert (
        "  split      estimated (no route label): the injector's own answers are subtracted" in out
    )
    code, out = run_cli(capsys, "config", "check", "--config", str(fleet.config("flask")))
    assert code == 0
    assert '# "auto" stands for (errwatch discover says why):' in out
    assert '#   metric = "flask_http_request_duration_seconds_count"' in out
