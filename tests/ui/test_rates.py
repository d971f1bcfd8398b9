"""The rates panel driven with Pilot over recorded or deliberately slow sources."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import replace

from rich.text import Text
from textual.pilot import Pilot

from errwatch.config import Config, PanelConfig
from errwatch.core.injection.injector import Injector
from errwatch.core.metrics.polling import MetricsSource
from errwatch.core.metrics.rates import MetricsSnapshot, SourceState
from errwatch.ui.app import ErrwatchApp
from errwatch.ui.chart import ChartView, RateChart
from errwatch.ui.header import StatusBar
from errwatch.ui.panels import PanelTile
from errwatch.ui.rates import RatesPanel
from tests.conftest import wait_until
from tests.loopback import Reply, loopback
from tests.ui import scenes
from tests.ui.helpers import chart_of, wait_for
from tests.ui.recorded import RecordedSource


def make_app(source: MetricsSource, config: Config | None = None) -> ErrwatchApp:
    config = config or scenes.config()
    return ErrwatchApp(
        config,
        metrics=source,
        tracebacks=None,
        injector=Injector(config.injection, config.target.url),
    )


def screen_text(app: ErrwatchApp) -> str:
    """What the terminal shows, as plain text."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


async def first_poll(pilot: Pilot[None], app: ErrwatchApp) -> RatesPanel:
    """The rates panel once its first poll is shown."""
    panel = app.query_one(RatesPanel)
    await wait_for(pilot, lambda: panel.snapshot is not None, 5, "the first poll")
    await chart_of(pilot, app)
    return panel


def text_of(widget: object) -> str:
    rendered = widget.render()  # type: ignore[attr-defined]
    return rendered.plain if isinstance(rendered, Text) else str(rendered)


async def test_c_cycles_by_class_by_code_and_ratio() -> None:
    app = make_app(RecordedSource([scenes.STATES["up"]]))
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await first_poll(pilot, app)
        table = app.query_one("#rate-table")
        assert panel.border_title == "Requests/s by status class"
        assert "2xx" in text_of(table) and "200" not in text_of(table)

        await pilot.press("c")
        assert app.query_one(RateChart).view is ChartView.CODE
        assert panel.border_title == "Requests/s by status code"
        assert {"200", "201", "404", "500"} <= set(text_of(table).split())

        await pilot.press("c")
        assert app.query_one(RateChart).view is ChartView.RATIO
        assert panel.border_title.startswith("5xx ratio")

        await pilot.press("c")
        assert app.query_one(RateChart).view is ChartView.CLASS


async def test_the_ratio_is_coloured_against_the_thresholds_and_split() -> None:
    app = make_app(RecordedSource([scenes.STATES["injecting"]]))
    async with app.run_test(size=(80, 24)) as pilot:
        await first_poll(pilot, app)
        summary = app.query_one("#rate-summary")
        assert summary.has_class("-critical")  # 55 % of requests fail...
        assert text_of(app.query_one("#ratio-split")) == "app 0.0% test 4.0/s"  # ...all on /error


async def test_spans_set_on_the_panel_reach_the_chart() -> None:
    app = make_app(RecordedSource([scenes.STATES["up"]]))
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await first_poll(pilot, app)
        await pilot.pause()  # the app has routed the first poll (and set the spans it knows)
        panel.spans = scenes.SPANS
        await pilot.pause()
        assert app.query_one(RateChart).spans == scenes.SPANS
        assert "inject 4/s" in screen_text(app)


async def test_a_failure_keeps_the_data_and_says_how_old_it_is() -> None:
    app = make_app(RecordedSource([scenes.STATES["unreachable"]]))
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await first_poll(pilot, app)
        assert panel.has_class("-failing")
        assert app.query_one(RateChart).display  # the last good data stays on screen
        header = text_of(app.query_one(StatusBar))
        assert "Prometheus every 1s: unreachable (42s old)" in header
        assert text_of(app.query_one("#rate-message")) == (
            "unreachable: connection refused: nothing listens on 127.0.0.1:9090"
        )


async def test_a_bad_query_is_not_retried_at_the_refresh_rate() -> None:
    bad = RecordedSource([scenes.STATES["bad-query"]])
    good = RecordedSource([scenes.STATES["up"]])
    config = scenes.config()
    config = replace(config, prometheus=replace(config.prometheus, refresh=0.1))
    for source in (bad, good):
        app = make_app(source, config)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda s=source: s.polls > 0, 5, "the first poll")  # type: ignore[misc]
            await pilot.pause(1.0)  # a window in which a healthy source is polled ~10 times
    assert bad.polls == 1
    assert good.polls >= 4


class Slow:
    """A source whose polls take ``seconds``; counts how many run at once."""

    mode = "prometheus"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.running = 0
        self.most = 0
        self.polls = 0
        self.release = threading.Event()
        self._lock = threading.Lock()

    def poll(self) -> MetricsSnapshot:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.release.wait(self.seconds)
        with self._lock:
            self.running -= 1
            self.polls += 1
        return replace(scenes.STATES["up"], at=time.time())

    def close(self) -> None:
        """Like a real client: closing does not interrupt a request in flight."""


async def test_polls_never_overlap_even_when_slower_than_the_refresh() -> None:
    source = Slow(0.3)
    config = scenes.config()
    config = replace(config, prometheus=replace(config.prometheus, refresh=0.05))
    app = make_app(source, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: source.polls >= 3, 10, "three polls")
    assert source.most == 1


async def test_keys_are_answered_while_a_poll_hangs() -> None:
    source = Slow(30.0)  # Prometheus accepted the connection and says nothing
    app = make_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: source.running == 1, 5, "the poll to hang")
        started = time.monotonic()
        await pilot.press("c")
        took = time.monotonic() - started
        assert app.query_one(RateChart).view is ChartView.CODE
        assert took < 1.0  # generous: the figure itself is measured in benchmarks/
        source.release.set()


QUIT_WHILE_HUNG = """
import asyncio, sys
from errwatch.config import Config, PrometheusConfig
from errwatch.sources import build_sources
from errwatch.ui.app import ErrwatchApp

config = Config(prometheus=PrometheusConfig(url=sys.argv[1], timeout=30.0))
sources = build_sources(config)
app = ErrwatchApp(config, metrics=sources.metrics, tracebacks=None, injector=sources.injector)

async def press_q(pilot):
    # The test says when the server holds the first poll (a line on stdin).
    await asyncio.to_thread(sys.stdin.readline)
    await pilot.press("q")

app.run(headless=True, auto_pilot=press_q)
"""


def test_quitting_does_not_wait_for_a_hanging_poll() -> None:
    # In a process of its own: what matters is when the interpreter can exit.
    with loopback() as server:
        server.reply = Reply(hang=True)
        quitting = subprocess.Popen(
            [sys.executable, "-c", QUIT_WHILE_HUNG, server.url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            wait_until(lambda: server.requests, 30, "the poll to reach the silent server")
            assert quitting.stdin is not None
            quitting.stdin.write(b"q\n")
            quitting.stdin.flush()
            began = time.monotonic()
            _, err = quitting.communicate(timeout=60)
            took = time.monotonic() - began
        finally:
            quitting.kill()
    assert quitting.returncode == 0, err.decode()
    assert took < 10.0  # not the 30 s timeout of the stuck query


async def test_panel_tiles_show_values_in_their_unit_and_failures_in_full() -> None:
    config = replace(
        scenes.config(),
        panels=(
            PanelConfig(expr="latency", title="p95 latency", unit="s"),
            PanelConfig(expr="oops(", title="errors/min"),
        ),
    )
    snapshot = replace(scenes.STATES["up"], panels=scenes.PANELS)
    app = make_app(RecordedSource([snapshot]), config)
    async with app.run_test(size=(100, 30)) as pilot:
        await first_poll(pilot, app)
        good, bad = app.query(PanelTile)
        assert good.border_title == "p95 latency"
        assert text_of(good.query_one(".panel-value")) == "63ms"
        assert bad.has_class("-failing")
        assert str(bad.tooltip) == "1:14: parse error: unexpected <by>"


async def test_a_state_change_reaches_the_header() -> None:
    source = RecordedSource([scenes.STATES["up"], scenes.STATES["target-down"]])
    config = scenes.config()
    config = replace(config, prometheus=replace(config.prometheus, refresh=0.1))
    app = make_app(source, config)
    async with app.run_test(size=(80, 24)) as pilot:
        bar = app.query_one(StatusBar)
        await wait_for(
            pilot,
            lambda: bar.snapshot is not None and bar.snapshot.state is SourceState.TARGET_DOWN,
            5,
            "target down in the header",
        )
        assert "target down (9s old)" in text_of(bar)
        assert app.query_one(RatesPanel).has_class("-warning")
