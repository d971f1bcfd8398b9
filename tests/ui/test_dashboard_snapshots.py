"""The whole dashboard at the sizes people use: 80x24 over SSH, 120x40, 200x60 on stage."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from errwatch.ui.app import ErrwatchApp
from errwatch.ui.rates import RatesPanel
from errwatch.ui.tracebacks import TracebackPanel
from tests.ui.dashboard import build

Compare = Callable[..., bool]


def settled(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """Wait for the first poll and the whole log, then press ``keys``."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, ErrwatchApp)
        tracebacks = app.query_one(TracebackPanel)
        while app.query_one(RatesPanel).snapshot is None or tracebacks.update is None:
            await pilot.pause(0.02)
        while tracebacks.update.events < 15:
            await pilot.pause(0.02)
        await pilot.pause()
        if keys:
            await pilot.press(*keys)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize(
    "size", [(80, 24), (120, 40), (200, 60)], ids=["80x24", "120x40", "200x60"]
)
def test_the_dashboard(snap_compare: Compare, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(build(tmp_path), terminal_size=size, run_before=settled())


@pytest.mark.parametrize("page", ["2", "3"], ids=["tracebacks", "timeline"])
def test_the_other_pages_at_80x24(snap_compare: Compare, tmp_path: Path, page: str) -> None:
    assert snap_compare(build(tmp_path), terminal_size=(80, 24), run_before=settled(page))


def test_the_help_screen(snap_compare: Compare, tmp_path: Path) -> None:
    assert snap_compare(
        build(tmp_path), terminal_size=(80, 24), run_before=settled("question_mark")
    )
