"""The traceback panel on a real log file: groups, counts, the detail of one group."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Static

from errwatch.config import Config, LogConfig
from errwatch.core.injector import Injector
from errwatch.core.logwatch import TracebackMonitor
from errwatch.core.rates import MetricsSnapshot, SourceState
from errwatch.ui.app import ErrwatchApp
from errwatch.ui.tracebacks import TracebackPanel, TracebackScreen
from tests.realpython import logged
from tests.ui.helpers import wait_for
from tests.ui.recorded import RecordedSource

BODY = """
def divide(a, b):
    return a / b

for n in range(3):
    try:
        divide(n, 0)
    except ZeroDivisionError:
        log.exception("Exception on /error [GET]")
try:
    {}["user"]
except KeyError:
    log.exception("lookup failed")
"""


def build(log: Path) -> ErrwatchApp:
    config = Config(logs=(LogConfig(path=str(log)),))
    return ErrwatchApp(
        config,
        metrics=RecordedSource([MetricsSnapshot(SourceState.NO_DATA, 0.0)]),
        tracebacks=TracebackMonitor(config.logs, injection_route="/error"),
        injector=Injector(config.injection, config.target.url),
    )


async def test_groups_with_counts_and_the_whole_traceback_on_enter(tmp_path: Path) -> None:
    logged(tmp_path, BODY)
    app = build(tmp_path / "app.log")
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(TracebackPanel)
        await wait_for(pilot, lambda: panel.update is not None and panel.update.events == 4, 5, "4")
        table = app.query_one(DataTable)
        assert table.row_count == 2
        counts = sorted(int(str(table.get_row_at(i)[0])) for i in range(2))
        assert counts == [1, 3]
        table.focus()
        table.move_cursor(
            row=[str(table.get_row_at(i)[1]) for i in range(2)].index("ZeroDivisionError")
        )
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TracebackScreen)
        text = str(app.screen.query_one("#traceback-text", Static).render())
        assert "Traceback (most recent call last):" in text
        assert "return a / b" in text
        assert text.rstrip().endswith("ZeroDivisionError: division by zero")
        head = str(app.screen.query_one("#traceback-head", Static).render())
        assert "3 times" in head and "route GET /error" in head
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TracebackScreen)


async def test_a_missing_log_says_waiting_and_is_read_when_it_appears(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    app = build(log)
    async with app.run_test(size=(80, 24)) as pilot:
        state = app.query_one("#log-state", Static)
        await wait_for(pilot, lambda: "later.log: waiting" in str(state.render()), 5, "waiting")
        logged(tmp_path, BODY)
        (tmp_path / "app.log").rename(log)
        panel = app.query_one(TracebackPanel)
        await wait_for(pilot, lambda: panel.update is not None and panel.update.events == 4, 5, "4")
        assert "later.log: following" in str(state.render())
