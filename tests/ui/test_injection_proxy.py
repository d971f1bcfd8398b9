"""The injection panel with [[proxies]], driven with Pilot: `t` chooses what `f` starts, a
proxy's fault window reaches the timeline, the chart and the recording, a busy port is a
visible state. The proxies run in front of a real werkzeug server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer
from textual.widgets._footer import FooterKey

from errwatch.config import (
    AlertConfig,
    Config,
    FaultConfig,
    LogConfig,
    ProxyConfig,
    RecordingConfig,
    TargetConfig,
)
from errwatch.core.incident.alerts import AlertState, AlertStatus
from errwatch.core.incident.recording import load_session
from errwatch.core.incident.timeline import EventKind
from errwatch.core.injection.injector import Injector
from errwatch.core.logs.logwatch import TracebackMonitor
from errwatch.core.metrics.rates import MetricsSnapshot, SourceState
from errwatch.sources import build_incident, build_proxies
from errwatch.ui.app import ErrwatchApp
from errwatch.ui.chart import RateChart
from errwatch.ui.injection import InjectionPanel
from errwatch.ui.screens import HelpScreen
from errwatch.ui.timeline import AlertBanner
from errwatch.ui.tracebacks import NEW_MARK, TracebackPanel, TracebackScreen
from tests.core.incident.test_fault_windows import KEYERROR, TIMEOUT
from tests.core.injection.upstream import Upstream, upstream
from tests.realpython import logged
from tests.ui.helpers import wait_for
from tests.ui.recorded import RecordedSource


@pytest.fixture
def origin() -> Iterator[Upstream]:
    with upstream() as server:
        yield server


def build(tmp_path: Path, *proxies: ProxyConfig, log: Path | None = None) -> ErrwatchApp:
    config = Config(
        target=TargetConfig(url="http://127.0.0.1:9"),
        recording=RecordingConfig(dir=str(tmp_path / "sessions")),
        proxies=proxies,
        logs=(LogConfig(path=str(log)),) if log is not None else (),
    )
    monitor = TracebackMonitor(config.logs, injection_route="/error") if log else None
    return ErrwatchApp(
        config,
        metrics=RecordedSource([MetricsSnapshot(SourceState.NO_DATA, 0.0)]),
        tracebacks=monitor,
        injector=Injector(config.injection, config.target.url),
        incident=build_incident(config, mode="prometheus"),
        proxies=build_proxies(config),
    )


def inventory(url: str, listen: str = "127.0.0.1:0") -> ProxyConfig:
    fault = FaultConfig(kind="abort", status=503, ratio=0.5, duration=60.0)
    return ProxyConfig(name="inventory", listen=listen, upstream=url, fault=fault)


def footer_text(app: ErrwatchApp) -> str:
    return " ".join(str(key.render()) for key in app.query_one(Footer).query(FooterKey))


def readout(app: ErrwatchApp) -> str:
    return str(app.query_one("#inject-stats").render())


def timeline(app: ErrwatchApp) -> str:
    return str(app.query_one("#timeline-events").render())


async def test_t_chooses_a_proxy_and_f_starts_and_stops_its_fault(
    tmp_path: Path, origin: Upstream
) -> None:
    app = build(tmp_path, inventory(origin.url))
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(InjectionPanel)
        [proxy] = app.proxies
        await wait_for(pilot, lambda: proxy.listening, 5, "the proxy to listen")
        await pilot.pause()
        assert "Fault target" in footer_text(app)
        await pilot.press("t")
        assert panel.border_title == "Fault injection: inventory"
        assert "Start fault" in str(app.query_one("#inject").render())
        assert "inventory: abort 503 on 50% of requests" in readout(app)
        assert "t: next target (2 of 2)" in readout(app)
        await pilot.press("f")
        assert proxy.active and panel.has_class("-active")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{proxy.port}") as client:
            codes = [(await client.get("/echo")).status_code for _ in range(4)]
        assert codes == [503, 200, 503, 200]
        await wait_for(pilot, lambda: "faulted 2 (abort 2)" in readout(app), 2, "the counters")
        await wait_for(
            pilot,
            lambda: "fault started on inventory: abort 503 on 50% of requests" in timeline(app),
            2,
            "the timeline",
        )
        chart = app.query_one(RateChart)
        assert [span.kind for span in chart.spans] == ["fault"]
        await pilot.press("f")
        assert not proxy.active
        await wait_for(
            pilot,
            lambda: "fault stopped on inventory (user): 2 of 4 faulted" in timeline(app),
            2,
            "the stop in the timeline",
        )
        await pilot.press("t")
        assert panel.border_title == "Fault injection"
        assert "Start injection" in str(app.query_one("#inject").render())
    assert not proxy.listening, "the proxy stops with the dashboard"


async def test_quitting_during_a_fault_records_its_end(tmp_path: Path, origin: Upstream) -> None:
    app = build(tmp_path, inventory(origin.url))
    async with app.run_test(size=(80, 24)) as pilot:
        [proxy] = app.proxies
        await wait_for(pilot, lambda: proxy.listening, 5, "the proxy to listen")
        await pilot.press("t", "f")
        assert proxy.active
        await pilot.press("q")
    assert not proxy.active and proxy.stats().stopped_by == "quit"
    recorder = app.incident.recorder
    assert recorder is not None
    app.incident.close()
    session = load_session(recorder.path)
    kinds = [e.kind for e in session.events]
    assert EventKind.FAULT_STARTED in kinds and EventKind.FAULT_STOPPED in kinds
    [stopped] = [e for e in session.events if e.kind is EventKind.FAULT_STOPPED]
    assert stopped.data["reason"] == "quit"


async def test_a_busy_port_is_a_visible_state_not_a_crash(tmp_path: Path, origin: Upstream) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = build(tmp_path, inventory(origin.url, listen=f"127.0.0.1:{port}"))
        async with app.run_test(size=(80, 24)) as pilot:
            [proxy] = app.proxies
            await wait_for(pilot, lambda: proxy.stats().state == "failed", 5, "the failure")
            await pilot.press("t")
            await wait_for(pilot, lambda: "failed: cannot listen" in readout(app), 2, "the state")
            assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in readout(app)
            assert app.query_one(InjectionPanel).has_class("-alarm")
            await pilot.press("f")  # nothing to start: said, not raised
            assert not proxy.active
            await wait_for(
                pilot, lambda: "proxy inventory failed" in timeline(app), 2, "the timeline"
            )
            assert app.is_running


def src(app: ErrwatchApp) -> dict[str, str]:
    """The Src cell of each group, by exception type."""
    table = app.query_one(TracebackPanel).query_one("#groups", DataTable)
    rows = [table.get_row_at(i) for i in range(table.row_count)]
    return {str(row[1]).removeprefix(NEW_MARK): str(row[5]) for row in rows}


async def test_tracebacks_during_a_fault_are_test_induced_flt(
    tmp_path: Path, origin: Upstream
) -> None:
    log = tmp_path / "app.log"
    log.touch()
    app = build(tmp_path, inventory(origin.url), log=log)
    async with app.run_test(size=(120, 40)) as pilot:
        [proxy] = app.proxies
        await wait_for(pilot, lambda: proxy.listening, 5, "the proxy to listen")
        logged(tmp_path, KEYERROR)  # before any fault: the application's own
        await wait_for(pilot, lambda: src(app).get("KeyError") == "app", 10, "the KeyError")
        await pilot.press("t", "f")
        assert proxy.active
        logged(tmp_path, TIMEOUT)  # the API times out on its dependency, during the fault
        logged(tmp_path, KEYERROR)  # the same KeyError again, during the fault too
        await wait_for(pilot, lambda: src(app).get("TimeoutError") == "flt", 10, "flt")
        await wait_for(pilot, lambda: src(app).get("KeyError") == "mix", 10, "a mix")
        await pilot.press("f")
        assert not proxy.active

        table = app.query_one(TracebackPanel).query_one("#groups", DataTable)
        table.focus()
        types = [str(table.get_row_at(i)[1]).removeprefix(NEW_MARK) for i in range(2)]
        table.move_cursor(row=types.index("TimeoutError"))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TracebackScreen)
        head = str(app.screen.query_one("#traceback-head").render())
        assert "0 injected by errwatch · 1 during a proxy's fault · 0 from the application" in head
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        legend = str(app.screen.query_one("#help-keys").render())
        assert "flt" in legend and "during a fault of one of errwatch's proxies" in legend


async def test_an_alert_inside_a_fault_window_says_so_in_the_banner() -> None:
    class Banner(App[None]):
        def compose(self) -> ComposeResult:
            yield AlertBanner()

    rule = AlertConfig("application 5xx ratio above 1%", "app_error_ratio", threshold=0.01)
    status = AlertStatus(
        rule, AlertState.FIRING, 0.0, 0.2, test=True, fault="inventory: reset on 30% of requests"
    )
    app = Banner()
    async with app.run_test(size=(200, 5)) as pilot:
        banner = app.query_one(AlertBanner)
        banner.statuses = (status,)
        await pilot.pause()
        shown = str(banner.render())
    assert "TEST ALERT" in shown
    assert "during fault inventory: reset on 30% of requests" in shown
