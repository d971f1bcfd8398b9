"""The dashboard while its PromQL engine goes away and comes back (both engines, for real)."""

from __future__ import annotations

import time

from errwatch.config import Config, InjectionConfig, TargetConfig
from errwatch.core.injection.injector import Injector
from errwatch.core.metrics.rates import SourceState
from errwatch.core.metrics.source import PrometheusSource
from errwatch.ui.app import ErrwatchApp
from errwatch.ui.chart import ChartView, RateChart
from errwatch.ui.header import StatusBar
from errwatch.ui.rates import RatesPanel
from tests.engines import EngineStack
from tests.ui.helpers import wait_for


def state_is(app: ErrwatchApp, state: SourceState) -> bool:
    snapshot = app.query_one(StatusBar).snapshot
    return snapshot is not None and snapshot.state is state


async def test_engine_stopped_then_restarted_unreachable_then_up_ui_never_frozen(
    engine: EngineStack,
) -> None:
    cfg = engine.config(refresh=0.5, timeout=1.0)
    config = Config(target=TargetConfig(url=engine.api.url), prometheus=cfg)
    app = ErrwatchApp(
        config,
        metrics=PrometheusSource(cfg, injection_route="/error"),
        tracebacks=None,
        injector=Injector(InjectionConfig(), engine.api.url),
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: state_is(app, SourceState.UP), 15, "up")
        good = app.query_one(RatesPanel).snapshot
        assert good is not None and good.series

        engine.server.stop()
        await wait_for(pilot, lambda: state_is(app, SourceState.UNREACHABLE), 10, "unreachable")
        failed = app.query_one(RatesPanel).snapshot
        assert failed is not None
        # The last good data stays, marked with the time it was current.
        assert failed.series and failed.data_at is not None and failed.data_at < failed.at
        assert app.query_one(RateChart).display

        # The UI answers while the source fails: a key press is handled at once.
        started = time.monotonic()
        await pilot.press("c")
        assert app.query_one(RateChart).view is ChartView.CODE
        assert time.monotonic() - started < 1.0

        engine.server.start()
        # Backoff doubles from 1 s while it was away: it comes back within a few seconds.
        await wait_for(pilot, lambda: state_is(app, SourceState.UP), 30, "up again")
        back = app.query_one(RatesPanel).snapshot
        assert back is not None and back.age is not None and back.age < 5
