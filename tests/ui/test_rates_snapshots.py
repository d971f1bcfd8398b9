"""Pictures of every metrics state at 80x24 (and one wide), from recorded data.

The times on screen come from the recorded snapshots (tests/ui/scenes.py), never from
the wall clock, so a picture is the same on every run. Update after a deliberate change
with ``pytest tests/ui/test_rates_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from textual.pilot import Pilot

from errwatch.config import Config, PanelConfig
from errwatch.core.injection.injector import Injector
from errwatch.core.metrics.rates import MetricsSnapshot
from errwatch.ui.app import ErrwatchApp
from errwatch.ui.rates import RatesPanel
from tests.ui import scenes
from tests.ui.recorded import RecordedSource

Compare = Callable[..., bool]


def app_showing(snapshot: MetricsSnapshot, config: Config | None = None) -> ErrwatchApp:
    config = config or scenes.config()
    return ErrwatchApp(
        config,
        metrics=RecordedSource([snapshot], mode=snapshot.mode),
        tracebacks=None,
        injector=Injector(config.injection, config.target.url),
    )


def shown(
    then: Callable[[ErrwatchApp, RatesPanel], None] | None = None,
) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """Wait until the recorded snapshot is on screen, then ``then``."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, ErrwatchApp)
        panel = app.query_one(RatesPanel)
        while panel.snapshot is None:
            await pilot.pause(0.02)
        await pilot.pause()  # the app has routed the poll (and set the spans it knows)
        if then is not None:
            then(app, panel)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("state", list(scenes.STATES))
def test_each_state_at_80x24(snap_compare: Compare, state: str) -> None:
    assert snap_compare(
        app_showing(scenes.STATES[state]), terminal_size=(80, 24), run_before=shown()
    )


class Slow(RecordedSource):
    """A Prometheus that takes its time to answer the first poll."""

    def poll(self) -> MetricsSnapshot:
        # Long enough for the picture, short enough not to hold the app's exit.
        threading.Event().wait(1.5)
        return super().poll()


def test_connecting_before_the_first_answer(snap_compare: Compare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.pause()

    config = scenes.config()
    app = ErrwatchApp(
        config,
        metrics=Slow([scenes.STATES["up"]]),
        tracebacks=None,
        injector=Injector(config.injection, config.target.url),
    )
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_by_code(snap_compare: Compare) -> None:
    assert snap_compare(app_showing(scenes.STATES["injecting"]), press=["c"], run_before=shown())


def test_ratio_view_with_thresholds_and_the_application_line(snap_compare: Compare) -> None:
    assert snap_compare(
        app_showing(scenes.STATES["injecting"]), press=["c", "c"], run_before=shown()
    )


def test_spans_mark_the_injection_window_and_an_alert(snap_compare: Compare) -> None:
    def mark(app: ErrwatchApp, panel: RatesPanel) -> None:
        panel.spans = scenes.SPANS

    assert snap_compare(app_showing(scenes.STATES["up"]), run_before=shown(mark))


def test_extra_panels(snap_compare: Compare) -> None:
    config = replace(
        scenes.config(),
        panels=(
            PanelConfig(expr="histogram_quantile(0.95, ...)", title="p95 latency", unit="s"),
            PanelConfig(expr="sum(rate(x[1m])) by (", title="errors/min"),
        ),
    )
    snapshot = replace(scenes.STATES["up"], panels=scenes.PANELS)
    assert snap_compare(app_showing(snapshot, config), run_before=shown())


def test_direct_scrape(snap_compare: Compare) -> None:
    snapshot = replace(scenes.STATES["up"], mode="direct scrape")
    assert snap_compare(app_showing(snapshot), run_before=shown())


def test_wide(snap_compare: Compare) -> None:
    def mark(app: ErrwatchApp, panel: RatesPanel) -> None:
        panel.spans = scenes.SPANS

    assert snap_compare(
        app_showing(scenes.STATES["up"]), terminal_size=(140, 40), run_before=shown(mark)
    )
