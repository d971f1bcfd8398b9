"""Helpers for driving the dashboard with Textual's Pilot."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from textual.app import App
from textual.pilot import Pilot

from errwatch.ui.chart import RateChart


async def wait_for(
    pilot: Pilot[None], condition: Callable[[], object], timeout: float, what: str
) -> None:
    """Let the app run until ``condition`` holds (data from real processes takes real time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


async def chart_of(pilot: Pilot[None], app: App[None]) -> RateChart:
    """The rate chart, once mounted (it comes right after the first frame)."""
    from errwatch.ui.rates import RatesPanel

    panel = app.query_one(RatesPanel)
    await wait_for(pilot, lambda: panel.chart is not None, 5, "the chart")
    assert panel.chart is not None
    return panel.chart
