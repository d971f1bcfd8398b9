"""Pictures of the traceback panel and its detail view, from a fixed log.

The app holds the traceback panel alone, so the pictures change only with it. The log's
lines carry their own timestamps, shown back in the same local time, so the pictures do
not depend on the machine's time zone or on the day the test runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot

import errwatch.ui
from errwatch.config import LogConfig
from errwatch.core.logs.logwatch import TracebackMonitor
from errwatch.ui.tracebacks import TracebackPanel
from tests.ui.helpers import wait_for

RECORD = (
    "2025-07-29 14:{minute:02d}:02,000 ERROR [api] Exception on {route} [GET]\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/app/views.py", line {line}, in {function}\n'
    "    {source}\n"
    "{final}\n"
)
CHAIN = (
    "2025-07-29 14:{minute:02d}:05,000 ERROR [shop.orders] order failed\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/app/orders.py", line 40, in load\n'
    "    return json.loads(raw)\n"
    '  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads\n'
    "    return _default_decoder.decode(s)\n"
    "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)\n"
    "\n"
    "The above exception was the direct cause of the following exception:\n"
    "\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/app/orders.py", line 52, in create\n'
    "    payload = load(body)\n"
    "RuntimeError: bad order\n"
)


def write_log(path: Path) -> int:
    parts = []
    for minute in (35, 36, 36, 38):
        parts.append(
            RECORD.format(
                minute=minute,
                route="/error",
                line=129,
                function="error",
                source="ratio = 1 / 0",
                final="ZeroDivisionError: division by zero",
            )
        )
    parts.append(
        RECORD.format(
            minute=37,
            route="/api/users/9",
            line=61,
            function="user",
            source="return USERS[user_id]",
            final="KeyError: 9",
        )
    )
    parts.extend(CHAIN.format(minute=minute) for minute in (36, 39))
    path.write_text("".join(parts) + "2025-07-29 14:40:00,000 INFO [api] done\n")
    return len(parts)


class PanelApp(App[None]):
    """The traceback panel alone, styled as in the dashboard."""

    CSS_PATH = str(Path(errwatch.ui.__file__).parent / "errwatch.tcss")

    def __init__(self, monitor: TracebackMonitor) -> None:
        super().__init__()
        self.monitor = monitor

    def compose(self) -> ComposeResult:
        yield TracebackPanel(self.monitor, id="tracebacks")


@pytest.fixture
def panel_app(tmp_path: Path) -> tuple[PanelApp, Callable[[Pilot[None]], object]]:
    log = tmp_path / "app.log"
    expected = write_log(log)
    app = PanelApp(TracebackMonitor([LogConfig(path=str(log))], injection_route="/error"))

    async def loaded(pilot: Pilot[None]) -> None:
        panel = app.query_one(TracebackPanel)
        await wait_for(
            pilot,
            lambda: panel.update is not None and panel.update.events == expected,
            5,
            "every traceback",
        )
        await pilot.pause()

    return app, loaded


@pytest.mark.parametrize("size", [(80, 24), (140, 30)])
def test_the_panel(
    snap_compare: Callable[..., bool],
    panel_app: tuple[PanelApp, Callable[[Pilot[None]], object]],
    size: tuple[int, int],
) -> None:
    app, loaded = panel_app
    assert snap_compare(app, terminal_size=size, run_before=loaded)


def test_the_panel_by_count(
    snap_compare: Callable[..., bool],
    panel_app: tuple[PanelApp, Callable[[Pilot[None]], object]],
) -> None:
    app, loaded = panel_app

    async def by_count(pilot: Pilot[None]) -> None:
        await loaded(pilot)  # type: ignore[misc]
        app.query_one(TracebackPanel).toggle_order()
        await pilot.pause()

    assert snap_compare(app, run_before=by_count)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_the_detail_of_a_chained_group(
    snap_compare: Callable[..., bool],
    panel_app: tuple[PanelApp, Callable[[Pilot[None]], object]],
    size: tuple[int, int],
) -> None:
    app, loaded = panel_app

    async def opened(pilot: Pilot[None]) -> None:
        await loaded(pilot)  # type: ignore[misc]
        await pilot.press("enter")  # the newest group: the RuntimeError chain
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=opened)


def test_the_panel_over_several_containers(
    snap_compare: Callable[..., bool], tmp_path: Path
) -> None:
    """A docker compose log of two services: where each group occurred, in the On column."""
    bare = tmp_path / "bare.log"
    write_log(bare)
    lines = bare.read_text().splitlines()
    web = [f"web-1     | {line}" for line in lines[: len(lines) // 2]]
    worker = [f"worker-1  | {line}" for line in lines]
    log = tmp_path / "compose.log"
    log.write_text("\n".join(web + worker) + "\n")
    app = PanelApp(TracebackMonitor([LogConfig(path=str(log))], injection_route="/error"))

    async def loaded(pilot: Pilot[None]) -> None:
        panel = app.query_one(TracebackPanel)
        await wait_for(
            pilot, lambda: panel.update is not None and panel.update.events == 13, 5, "all"
        )
        await pilot.pause()

    assert snap_compare(app, terminal_size=(140, 30), run_before=loaded)
